/**
 * The restore job: resolve the archive, restore it into a new database, verify, bring it up to date,
 * then swap it in for the target. The target is never touched before everything else succeeded; on
 * any failure the new database is dropped.
 */
import type { Clock } from '../lib/clock.js';
import type { Config } from '../config/load.js';
import { connectWithWait, libpqEnv } from '../lib/db.js';
import { ChatflowError, JobError, UsageError } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { migrate } from '../migrations/runner.js';
import { applyAppRole } from '../roles/apply.js';
import { openStores } from '../storage/index.js';
import type { Storage } from '../storage/storage.js';
import { resolveArchive } from './archive.js';
import {
  createDatabase,
  databaseExists,
  dropDatabase,
  lockTarget,
  roleNames,
  swapDatabases,
} from './database.js';
import { restoreNames } from './database-names.js';
import { streamIntoDatabase, verdict } from './stream.js';
import { archiveName } from '../backup/manifest.js';

export interface RestoreDeps {
  logger: Logger;
  clock: Clock;
  /** Default: the stores the configuration names (local first). */
  stores?: readonly Storage[];
}

export interface RestoreOptions {
  /** A backup name or `latest`. */
  name: string;
  /** Database to replace; default: the configured one. */
  targetDb?: string;
  dropPrevious?: boolean;
  /** Run the migrator on the restored database (default true). */
  migrate?: boolean;
  /** Restrict the search to one store. */
  from?: 'local' | 's3';
  signal?: AbortSignal;
}

export interface RestoreResult {
  name: string;
  store: string;
  target: string;
  /** `<target>_before_restore_<ts>` if the target existed and was kept, else null. */
  previous: string | null;
  previousDropped: boolean;
  /** 'verified' against the manifest, or 'unavailable' for archives without one. */
  checksum: 'verified' | 'unavailable';
  sha256: string;
  bytes: number;
  sqlBytes: number;
  migrationsApplied: string[] | 'skipped';
  appRole: 'applied' | 'skipped';
  terminatedSessions: number;
  cutoverMs: number;
  durationMs: number;
}

/** The maintenance database the control plane connects to (never the target: it gets renamed). */
const MAINTENANCE_DB = 'postgres';

/** Restores a backup over the target database (the steps are in this module's header). */
export async function restore(
  config: Readonly<Config>,
  deps: RestoreDeps,
  options: RestoreOptions,
): Promise<RestoreResult> {
  const started = Date.now();
  const { logger } = deps;
  const target = options.targetDb ?? config.database.database;
  const all = deps.stores ?? (await openStores(config));
  const stores = options.from ? all.filter((s) => s.kind === options.from) : all;
  if (options.from && stores.length === 0) {
    throw new UsageError(
      `--from ${options.from}: that store is not configured (${options.from === 's3' ? 'set S3_BUCKET' : 'set BACKUP_DIR'})`,
    );
  }
  const names = restoreNames(target, deps.clock.now(), config.timeZone);
  if (stores.length === 0) {
    throw new UsageError('No backup store is configured: set BACKUP_DIR and/or S3_BUCKET');
  }
  const archive = await resolveArchive(stores, options.name);
  const log = logger.child({ backup: archive.name, store: archive.store.location, target });
  if (!archive.manifest) {
    log.warn(
      `"${archive.name}" has no manifest (an archive of the old pg_dump | gzip script?): no checksum was available; ` +
        "it is checked only for gzip integrity and pg_dump's closing line",
    );
  }

  const control = await connectWithWait(config.database, logger, MAINTENANCE_DB);
  try {
    await lockTarget(control, target);
    for (const name of [names.incoming, names.previous]) {
      if (await databaseExists(control, name)) {
        throw new JobError(
          `A database named "${name}" exists already; drop or rename it, or retry in a second`,
        );
      }
    }
    const targetExists = await databaseExists(control, target);
    const knownRoles = await roleNames(control);
    log.info(
      { database: names.incoming },
      'restoring into a new database; the target stays untouched until the swap',
    );
    await createDatabase(control, names.incoming, config.database.user, targetExists ? target : undefined);
    try {
      const stream = await restoreInto(config, deps, archive, names.incoming, knownRoles, options.signal);
      const migrated = await bringUpToDate(config, deps, names.incoming, options.migrate !== false);
      // A SIGINT/SIGTERM during migrations is honoured here, before anything touches the target.
      if (options.signal?.aborted)
        throw new JobError(`Restore of "${archive.name}" interrupted; "${target}" was not changed`);
      const swap = await swapDatabases(control, {
        target,
        incoming: names.incoming,
        previous: names.previous,
        logger,
      });
      log.info(
        {
          cutoverMs: swap.cutoverMs,
          terminatedSessions: swap.terminated,
          previous: swap.replaced ? names.previous : null,
        },
        swap.replaced
          ? `swapped in: "${target}" is the restored database, the old one is "${names.previous}"`
          : `"${target}" created from the backup`,
      );
      let previousDropped = false;
      if (swap.replaced && options.dropPrevious) {
        try {
          await dropDatabase(control, names.previous);
          previousDropped = true;
          log.info(`dropped the previous database "${names.previous}" (--drop-previous)`);
        } catch (error) {
          log.warn(
            { err: error },
            `the restore succeeded but "${names.previous}" could not be dropped; drop it by hand`,
          );
        }
      }
      return {
        name: archive.name,
        store: archive.store.location,
        target,
        previous: swap.replaced && !previousDropped ? names.previous : null,
        previousDropped,
        checksum: archive.manifest ? 'verified' : 'unavailable',
        sha256: stream.sha256,
        bytes: stream.bytes,
        sqlBytes: stream.sqlBytes,
        migrationsApplied: migrated.migrations,
        appRole: migrated.appRole,
        terminatedSessions: swap.terminated,
        cutoverMs: swap.cutoverMs,
        durationMs: Date.now() - started,
      };
    } catch (error) {
      await dropDatabase(control, names.incoming).catch((cause: unknown) => {
        log.error(
          { err: cause },
          `could not drop "${names.incoming}"; drop it by hand (DROP DATABASE … WITH (FORCE))`,
        );
      });
      if (error instanceof ChatflowError) throw error;
      throw new JobError(
        `Restore of "${archive.name}" failed: ${(error as Error).message}; "${target}" was not changed`,
        { cause: error },
      );
    }
  } finally {
    await control.end().catch(() => undefined);
  }
}

/**
 * Loads `archive` into the existing, empty `database` on the server `config.database` names, through the
 * dump filter, and refuses it (JobError) unless psql, the sha256/size and the closing line agree. Shared
 * with the restore drill (src/drill/drill.ts), which passes a config pointing at its own server.
 */
export async function restoreInto(
  config: Readonly<Config>,
  deps: RestoreDeps,
  archive: Awaited<ReturnType<typeof resolveArchive>>,
  database: string,
  knownRoles: Set<string>,
  signal: AbortSignal | undefined,
): Promise<{ sha256: string; bytes: number; sqlBytes: number }> {
  const source = await archive.store.get(archiveName(archive.name));
  const outcome = await streamIntoDatabase({
    source,
    env: libpqEnv(config.database, database),
    filter: { owner: config.database.user, knownRoles },
    logger: deps.logger,
    progressIntervalMs: config.backup.progressIntervalMs,
    totalBytes: archive.manifest?.size ?? archive.archive.size,
    signal,
  });
  const reason = verdict(outcome, archive.manifest);
  if (reason !== undefined) {
    throw new JobError(
      `Restore of "${archive.name}" refused: ${reason}. The target was not changed and the new database was dropped.`,
      {
        cause: outcome.streamError,
      },
    );
  }
  const { stats } = { stats: outcome.filter };
  if (stats.unknownRoles.size > 0) {
    deps.logger.warn(
      { roles: [...stats.unknownRoles] },
      'the archive grants privileges to roles that do not exist on this server; those grants were skipped',
    );
  }
  deps.logger.info(
    {
      bytes: outcome.bytes,
      sqlBytes: stats.sqlBytes,
      sha256: outcome.sha256,
      ownerStatementsDropped: stats.ownerStatementsDropped,
      durationMs: outcome.durationMs,
    },
    archive.manifest
      ? 'archive restored and its sha256 matches the manifest'
      : 'archive restored (no manifest: no checksum to compare)',
  );
  return { sha256: outcome.sha256, bytes: outcome.bytes, sqlBytes: stats.sqlBytes };
}

/**
 * Migrations and the application role's privileges are applied to the new database BEFORE the swap:
 * a failure then leaves the target untouched, and the application never sees an un-migrated schema.
 */
async function bringUpToDate(
  config: Readonly<Config>,
  deps: RestoreDeps,
  database: string,
  runMigrations: boolean,
): Promise<{ migrations: string[] | 'skipped'; appRole: 'applied' | 'skipped' }> {
  let migrations: string[] | 'skipped' = 'skipped';
  if (runMigrations) {
    try {
      migrations = (await migrate(config, { logger: deps.logger }, { database })).applied;
    } catch (error) {
      throw new JobError(`Migrating the restored database failed: ${(error as Error).message}`, {
        cause: error,
        exitCode: error instanceof ChatflowError ? error.exitCode : undefined,
      });
    }
    deps.logger.info(
      { applied: migrations },
      `migrations applied to the restored database: ${migrations.length}`,
    );
  } else {
    deps.logger.info('--no-migrate: the restored database keeps the schema of the backup');
  }
  // applyAppRole needs the role's password; without one the restore cannot (re)create the role.
  if (config.appRole.password === undefined) {
    deps.logger.info(
      `APP_DB_PASSWORD is not set: the application role's privileges were not re-applied; run \`chatflow-db roles\` after the restore if the application uses ${config.appRole.user}`,
    );
    return { migrations, appRole: 'skipped' };
  }
  try {
    await applyAppRole(config, { logger: deps.logger }, { database });
  } catch (error) {
    throw new JobError(`Re-applying the application role's privileges failed: ${(error as Error).message}`, {
      cause: error,
    });
  }
  return { migrations, appRole: 'applied' };
}
