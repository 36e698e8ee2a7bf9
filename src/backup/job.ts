/**
 * The backup job: name, dump to every store, then write the manifest last. The data path is
 * pipeline.ts; names, retention and the manifest are pure modules beside it.
 */
import { Readable } from 'node:stream';
import { describeSource, pgDumpVersion } from './source.js';
import { archiveName, manifestName, MANIFEST_FORMAT, serializeManifest, type Manifest } from './manifest.js';
import { defaultBackupName, validateBackupName } from './names.js';
import { dumpToStores } from './pipeline.js';
import { unlessAborted } from '../lib/abort.js';
import { formatDuration } from '../lib/duration.js';
import type { Clock } from '../lib/clock.js';
import type { Config } from '../config/load.js';
import { JobError, UsageError } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { openStores } from '../storage/index.js';
import { ObjectExistsError, type Storage } from '../storage/storage.js';

export interface BackupDeps {
  logger: Logger;
  clock: Clock;
  /** The stores to write; defaults to those the configuration names. */
  stores?: readonly Storage[];
}

export interface BackupOptions {
  /** Given name; default chatflow_backup_YYYYMMDD_HHMMSS_<database> in config.timeZone. */
  name?: string;
  /** Aborts the backup cleanly (no partial object, multipart upload aborted). */
  signal?: AbortSignal;
}

/**
 * The backup with its deadline (BACKUP_TIMEOUT): when it passes, the run is aborted like a shutdown
 * (pg_dump killed, uploads aborted, nothing stored) and fails with a JobError that names the setting.
 */
export async function backup(
  config: Readonly<Config>,
  deps: BackupDeps,
  options: BackupOptions = {},
): Promise<BackupResult> {
  const timeoutMs = config.backup.timeoutMs;
  const deadline = new AbortController();
  const timer = setTimeout(
    () => deadline.abort(new Error(`it ran longer than BACKUP_TIMEOUT (${formatDuration(timeoutMs)})`)),
    timeoutMs,
  );
  const signal = options.signal ? AbortSignal.any([options.signal, deadline.signal]) : deadline.signal;
  try {
    return await backupUntil(config, deps, { ...options, signal });
  } catch (error) {
    if (!deadline.signal.aborted || options.signal?.aborted) throw error;
    // The steps that wrap errors already say "Backup <name> failed: it ran longer than BACKUP_TIMEOUT ...".
    const said =
      error instanceof JobError && error.message.includes('BACKUP_TIMEOUT')
        ? error.message
        : `Backup failed: it ran longer than BACKUP_TIMEOUT (${formatDuration(timeoutMs)}). Nothing was stored.`;
    throw new JobError(
      `${said} pg_dump was stopped and uploads were aborted. Look for what held it up (a lock another ` +
        `session holds on a table, a slow or unreachable store), or raise BACKUP_TIMEOUT if the database ` +
        `has outgrown it.`,
      { cause: error },
    );
  } finally {
    clearTimeout(timer);
  }
}

export interface BackupResult {
  name: string;
  sha256: string;
  size: number;
  durationMs: number;
  /** Locations written, e.g. ['/backups', 's3://bucket/prefix']. */
  locations: string[];
}

async function backupUntil(
  config: Readonly<Config>,
  deps: BackupDeps,
  options: BackupOptions,
): Promise<BackupResult> {
  const { logger, clock } = deps;
  const startedAt = clock.now();
  // Bad names are refused (exit 2) before anything runs.
  const name =
    options.name !== undefined
      ? validateBackupName(options.name)
      : defaultBackupName(startedAt, config.timeZone, config.database.database);
  const stores = deps.stores ?? (await openStores(config));
  const locations = stores.map((s) => s.location);
  await unlessAborted(refuseExisting(name, stores), options.signal);

  const fail = (what: string, error: unknown): JobError =>
    new JobError(
      error instanceof ObjectExistsError
        ? `Backup ${name} failed: ${what}; another run created it while this backup ran. Nothing of it was ` +
            `replaced and nothing was stored; ${options.name === undefined ? 'run the backup again' : 'choose another name'}.`
        : `Backup ${name} failed: ${what}. Nothing was stored.`,
      { cause: error },
    );
  let source;
  let dumpVersion;
  try {
    [source, dumpVersion] = await unlessAborted(
      Promise.all([describeSource(config.database), pgDumpVersion()]),
      options.signal,
    );
  } catch (error) {
    throw fail((error as Error).message, error);
  }

  logger.info(
    { backup: name, database: config.database.database, stores: locations },
    `backup ${name} started`,
  );
  let dumped;
  try {
    dumped = await dumpToStores({
      db: config.database,
      stores,
      archive: archiveName(name),
      compressionLevel: config.backup.compressionLevel,
      compressionThreads: config.backup.compressionThreads,
      progressIntervalMs: config.backup.progressIntervalMs,
      // The database's size bounds its gzipped plain dump (it counts indexes and free space too).
      expectedBytes: source.sizeBytes,
      logger,
      signal: options.signal,
    });
  } catch (error) {
    throw fail((error as Error).message, error);
  }

  const manifest: Manifest = {
    format: MANIFEST_FORMAT,
    name,
    archive: archiveName(name),
    sha256: dumped.sha256,
    size: dumped.size,
    createdAt: startedAt.toISOString(),
    database: config.database.database,
    serverVersion: source.serverVersion,
    pgDumpVersion: dumpVersion,
    latestMigration: source.latestMigration,
    durationMs: dumped.durationMs,
    automatic: options.name === undefined,
  };
  // The manifest goes last: only now is this a complete backup. If it cannot be written everywhere,
  // the backup failed: take back what was written, so no store holds half of it.
  const written = await Promise.allSettled(
    stores.map((store) =>
      store.put(
        manifestName(name),
        Readable.from([serializeManifest(manifest)]),
        options.signal ? { signal: options.signal } : {},
      ),
    ),
  );
  const failed = written.find((w): w is PromiseRejectedResult => w.status === 'rejected');
  if (failed) {
    // Take back only what this run wrote: its archive in every store (each put created it) and its
    // manifest where that put succeeded. A manifest that another run created under this name is not ours.
    await Promise.all(
      stores.map(async (store, i) => {
        const ours = written[i]?.status === 'fulfilled' ? [manifestName(name)] : [];
        for (const object of [...ours, archiveName(name)]) {
          await store
            .delete(object)
            .catch((error: unknown) =>
              logger.error(
                { err: error, store: store.location },
                `could not remove ${object} from ${store.location}`,
              ),
            );
        }
      }),
    );
    throw fail(`the manifest could not be written (${(failed.reason as Error).message})`, failed.reason);
  }

  logger.info(
    {
      backup: name,
      sha256: dumped.sha256,
      size: dumped.size,
      sqlBytes: dumped.sqlBytes,
      durationMs: dumped.durationMs,
      stores: locations,
    },
    `backup ${name} complete`,
  );
  return { name, sha256: dumped.sha256, size: dumped.size, durationMs: dumped.durationMs, locations };
}

/** A backup name that exists in any store (archive or manifest) is refused: nothing is overwritten. */
async function refuseExisting(name: string, stores: readonly Storage[]): Promise<void> {
  for (const store of stores) {
    let found;
    try {
      found = (await store.stat(archiveName(name))) ?? (await store.stat(manifestName(name)));
    } catch (error) {
      throw new JobError(
        `Backup ${name} failed: cannot reach ${store.location}: ${(error as Error).message}. Nothing was stored.`,
        {
          cause: error,
        },
      );
    }
    if (found)
      throw new UsageError(
        `A backup named "${name}" already exists in ${store.location}; choose another name`,
      );
  }
}
