// OWNER: restore helper. Contract: restore(), registerRestoreCommand().
/**
 * The restore job and its command: `restore` (lists the backups) and
 * `restore <name>|latest [--from s3|local] [--target-db NAME] [--drop-previous] [--no-migrate]`.
 * The pipeline lives in src/restore/ (restore.ts orchestrates; stream.ts is the data path; database.ts
 * creates, drops and swaps databases; dump-filter.ts makes foreign dumps restorable as the owner role).
 */
import { Command, Option } from 'commander';
import { listBackups } from '../../backup/listing.js';
import { formatBackupTable } from '../../backup/format.js';
import { systemClock, type Clock } from '../../lib/clock.js';
import type { CommandContext } from '../context.js';
import type { Config } from '../../config/load.js';
import { JobError, UsageError } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';
import { runRestore, type RestoreOptions, type RestoreResult } from '../../restore/restore.js';
import { openStores } from '../../storage/index.js';
import type { Storage } from '../../storage/storage.js';
import { migrate } from '../../migrations/runner.js';
import { applyAppRole } from '../../roles/apply.js';

export type { RestoreResult } from '../../restore/restore.js';

export interface RestoreJobDeps {
  logger: Logger;
  clock: Clock;
  /** Default: the stores the configuration names (local first). */
  stores?: readonly Storage[];
}

export interface RestoreJobOptions extends RestoreOptions {
  /** Restrict the search to one store. */
  from?: 'local' | 's3';
}

/** Restores a backup over the target database (see src/restore/restore.ts for the steps). */
export async function restore(
  config: Readonly<Config>,
  deps: RestoreJobDeps,
  options: RestoreJobOptions,
): Promise<RestoreResult> {
  const all = deps.stores ?? (await openStores(config));
  const stores = options.from ? all.filter((s) => s.kind === options.from) : all;
  if (options.from && stores.length === 0) {
    throw new UsageError(
      `--from ${options.from}: that store is not configured (${options.from === 's3' ? 'set S3_BUCKET' : 'set BACKUP_DIR'})`,
    );
  }
  const { logger } = deps;
  return runRestore(
    config,
    {
      logger,
      clock: deps.clock,
      stores,
      migrate: (database) => migrate(config, { logger }, { database }),
      // applyAppRole needs the role's password; without one the restore cannot (re)create the role.
      applyAppRole:
        config.appRole.password !== undefined
          ? (database) => applyAppRole(config, { logger }, { database })
          : undefined,
    },
    options,
  );
}

export function registerRestoreCommand(program: Command, context: CommandContext): void {
  program
    .command('restore')
    .description(
      'Restore a backup into a new database and swap it in for the target; without a name, list the backups',
    )
    .argument('[name]', 'backup name, or "latest" for the newest complete backup')
    .addOption(new Option('--from <store>', 'read the backup from this store only').choices(['s3', 'local']))
    .option('--target-db <name>', 'database to replace (default: the configured database)')
    .option(
      '--drop-previous',
      'drop the replaced database instead of keeping it as <db>_before_restore_<timestamp>',
    )
    .option('--no-migrate', 'do not run migrations on the restored database')
    .action(
      async (
        name: string | undefined,
        flags: { from?: 'local' | 's3'; targetDb?: string; dropPrevious?: boolean; migrate: boolean },
      ) => {
        const config = context.config();
        if (name === undefined) {
          const entries = await listBackups(config).catch((error: unknown) => {
            throw new JobError(`Cannot list backups: ${(error as Error).message}`, { cause: error });
          });
          context.stdout(
            entries.length === 0 ? 'No backups.' : formatBackupTable(entries, systemClock.now()),
          );
          return;
        }
        const options: RestoreJobOptions = {
          name,
          migrate: flags.migrate,
          dropPrevious: flags.dropPrevious === true,
        };
        if (flags.from) options.from = flags.from;
        if (flags.targetDb !== undefined) options.targetDb = flags.targetDb;
        const result = await withSignals((signal) =>
          restore(config, { logger: context.logger(), clock: systemClock }, { ...options, signal }),
        );
        context.stdout(
          `restored ${result.name} into ${result.target}` +
            (result.previous ? ` (previous database kept as ${result.previous})` : ''),
        );
      },
    );
}

/** SIGINT/SIGTERM abort the stream: the new database is dropped and the target stays as it was. */
async function withSignals<T>(job: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const abort = () => controller.abort();
  process.once('SIGINT', abort);
  process.once('SIGTERM', abort);
  try {
    return await job(controller.signal);
  } finally {
    process.off('SIGINT', abort);
    process.off('SIGTERM', abort);
  }
}
