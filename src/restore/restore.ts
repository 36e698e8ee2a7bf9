/**
 * The restore job: resolve the archive, restore it into a new database, verify, bring it up to date,
 * then swap it in for the target. The target is never touched before everything else succeeded; on
 * any failure the new database is dropped.
 */
import type { AgeIdentity } from '../lib/age.js';
import type { Clock } from '../lib/clock.js';
import type { Config } from '../config/load.js';
import { connect, connectWithWait, libpqEnv, withClient, type Client } from '../lib/db.js';
import { ChatflowError, JobError, UsageError } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { migrate } from '../migrations/runner.js';
import { applyAppRole } from '../roles/apply.js';
import { openStores } from '../storage/index.js';
import type { Storage } from '../storage/storage.js';
import { resolveArchive } from './archive.js';
import { decryptionKeys } from '../backup/encryption.js';
import {
  createDatabase,
  databaseExists,
  dropDatabase,
  lockTarget,
  roleNames,
  swapDatabases,
} from './database.js';
import { restoreNames } from './database-names.js';
import { PostDataWatch } from './post-data.js';
import { assertSessionsCanBeEnded } from './sessions.js';
import { repairInterruptedCutovers } from './cutover-mark.js';
import { withSignalsDeferred } from '../lib/signal-shield.js';
import {
  checkRoleLogin,
  createRestoreRole,
  dropRestoreRole,
  dropStaleRestoreRoles,
  handOver,
  type RestoreRole,
} from './restore-role.js';
import { streamIntoDatabase, verdict } from './stream.js';

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
  /** `latest` chooses among this database's backups (the manifest's `database`); default: the configured database. */
  sourceDb?: string;
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
  const archive = await resolveArchive(stores, options.name, options.sourceDb ?? config.database.database);
  // An encrypted archive nobody here can open is refused now (exit 2), before any database is touched.
  const identities = await decryptionKeys(archive, config.ageIdentities);
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
    await repairInterruptedCutovers(control, logger);
    for (const name of [names.incoming, names.previous]) {
      if (await databaseExists(control, name)) {
        throw new JobError(
          `A database named "${name}" exists already; drop or rename it, or retry in a second`,
        );
      }
    }
    const targetExists = await databaseExists(control, target);
    if (targetExists) await assertSessionsCanBeEnded(control, target, config.database.user);
    const knownRoles = await roleNames(control);
    log.info(
      { database: names.incoming },
      'restoring into a new database, as a temporary role without privileges; the target stays untouched until the swap',
    );
    try {
      const stream = await loadAsRestoreRole(control, config, deps, archive, identities, {
        database: names.incoming,
        like: targetExists ? target : undefined,
        knownRoles,
        signal: options.signal,
      });
      const migrated = await bringUpToDate(config, deps, names.incoming, options.migrate !== false);
      // A SIGINT/SIGTERM during migrations is honoured here, before anything touches the target.
      if (options.signal?.aborted)
        throw new JobError(`Restore of "${archive.name}" interrupted; "${target}" was not changed`);
      // The cut-over is not interrupted by signals: an abort takes effect before it (above) or after it.
      const swap = await withSignalsDeferred('the cut-over', logger, () =>
        swapDatabases(control, { target, incoming: names.incoming, previous: names.previous, logger }),
      );
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
      if (swap.replaced && options.dropPrevious && options.signal?.aborted) {
        log.warn(
          `stopped by a signal after the cut-over: "${names.previous}" was kept (--drop-previous skipped)`,
        );
      } else if (swap.replaced && options.dropPrevious) {
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
 * Creates `database` owned by a temporary role without privileges, loads `archive` into it as that role
 * (restoreInto), hands everything over to the configured owner and drops the role, on every path. The
 * archive's SQL therefore never runs with the owner's rights. Shared by restore and the restore drill. On
 * failure the database may be left behind: the caller drops it.
 */
export async function loadAsRestoreRole(
  control: Client,
  config: Readonly<Config>,
  deps: RestoreDeps,
  archive: Awaited<ReturnType<typeof resolveArchive>>,
  identities: readonly AgeIdentity[] | undefined,
  target: {
    database: string;
    like: string | undefined;
    knownRoles: Set<string>;
    signal: AbortSignal | undefined;
  },
): Promise<{ sha256: string; bytes: number; sqlBytes: number }> {
  await dropStaleRestoreRoles(control, deps.logger);
  const role = await createRestoreRole(control, deps.clock.now());
  try {
    await createDatabase(control, target.database, role.name, target.like);
    await checkRoleLogin(config.database, role, target.database);
    const stream = await restoreInto(
      config,
      deps,
      archive,
      identities,
      target.database,
      role,
      target.knownRoles,
      { signal: target.signal },
    );
    await withClient(
      config.database,
      (inDatabase) => handOver(control, inDatabase, target.database, role.name),
      target.database,
    );
    return stream;
  } catch (error) {
    // The role cannot be dropped while it owns the half-loaded database.
    await dropDatabase(control, target.database).catch(() => undefined);
    throw error;
  } finally {
    await dropRestoreRole(control, role.name, deps.logger);
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
  identities: readonly AgeIdentity[] | undefined,
  database: string,
  role: RestoreRole,
  knownRoles: Set<string>,
  { signal }: { signal: AbortSignal | undefined },
): Promise<{ sha256: string; bytes: number; sqlBytes: number }> {
  const source = await archive.store.get(archive.archive.name);
  const postData = new PostDataWatch(
    () => connect(config.database, MAINTENANCE_DB),
    database,
    config.backup.progressIntervalMs,
  );
  // The archive runs as the temporary role: it owns what it creates. Statements about the configured
  // owner's own privileges (GRANT … TO owner, ALTER DEFAULT PRIVILEGES FOR ROLE owner) are left out as if
  // the owner were unknown: the temporary role may not act for it, and the owner gets everything after.
  const grantable = new Set([...knownRoles].filter((r) => r !== config.database.user));
  const outcome = await streamIntoDatabase({
    postData,
    source,
    identities,
    env: { ...libpqEnv(config.database, database), PGUSER: role.name, PGPASSWORD: role.password },
    filter: { owner: role.name, knownRoles: grantable },
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
  const unknownRoles = [...stats.unknownRoles].filter((r) => r !== config.database.user);
  if (unknownRoles.length > 0) {
    deps.logger.warn(
      { roles: unknownRoles },
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
