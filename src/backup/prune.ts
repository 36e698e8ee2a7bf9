/**
 * `prune`: applies the retention rules to each store on its own (a backup missing from one store does not
 * change what the other keeps). Only complete, default-named backups are considered, and their manifests
 * say which database and whether automatic; anything unreadable is left alone.
 *
 * A backup is deleted manifest first, then archive: if the second step fails, what remains is an archive
 * without a manifest, which every reader treats as incomplete, never as a complete backup.
 */
import type { Clock } from '../lib/clock.js';
import type { Config } from '../config/load.js';
import { JobError } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { openStores } from '../storage/index.js';
import type { Storage } from '../storage/storage.js';
import { listStore, readManifest } from './listing.js';
import { manifestName } from './manifest.js';
import { drillRecordName } from '../drill/record.js';
import { DEFAULT_NAME_PREFIX } from './names.js';
import { planRetention, type RetentionBackup, type RetentionDecision } from './retention.js';

export interface PruneDeps {
  logger: Logger;
  clock: Clock;
  stores?: readonly Storage[];
}

export interface PruneResult {
  dryRun: boolean;
  stores: { location: string; kept: RetentionDecision[]; deleted: string[] }[];
}

export async function prune(
  config: Readonly<Config>,
  deps: PruneDeps,
  options: { dryRun?: boolean } = {},
): Promise<PruneResult> {
  const dryRun = options.dryRun ?? false;
  const { logger } = deps;
  const stores = deps.stores ?? (await openStores(config));
  const result: PruneResult = { dryRun, stores: [] };
  const failures: string[] = [];
  for (const store of stores) {
    let entries;
    try {
      // Only default-named backups can be candidates, so only they are listed: even with an empty
      // S3_PREFIX, prune never walks the rest of the bucket.
      entries = (await listStore(store, DEFAULT_NAME_PREFIX)).filter((e) => e.complete && e.defaultNamed);
    } catch (error) {
      throw new JobError(`Prune failed: cannot list ${store.location}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    const archives = new Map(entries.map((entry) => [entry.name, entry.archive]));
    const backups: RetentionBackup[] = [];
    for (const entry of entries) {
      try {
        const manifest = await readManifest(store, entry.name);
        backups.push({
          name: entry.name,
          createdAt: new Date(manifest.createdAt),
          automatic: manifest.automatic,
          database: manifest.database,
        });
      } catch (error) {
        logger.warn(
          { store: store.location, backup: entry.name, err: error },
          `prune leaves ${entry.name} alone: its manifest cannot be read`,
        );
      }
    }
    const plan = planRetention(backups, config.retention, {
      now: deps.clock.now(),
      timeZone: config.timeZone,
      database: config.database.database,
    });
    const deleted: string[] = [];
    for (const { name } of plan.delete) {
      if (dryRun) {
        logger.info({ store: store.location, backup: name }, `would delete ${name} (dry run)`);
        deleted.push(name);
        continue;
      }
      try {
        await store.delete(manifestName(name));
        // The archive as listed: `.sql.gz` or `.sql.gz.age`, retention treats both alike.
        await store.delete(archives.get(name) ?? name);
        // Its drill record goes with it (a record of nothing would outlive every backup).
        await store.delete(drillRecordName(name));
        logger.info({ store: store.location, backup: name }, `deleted ${name}`);
        deleted.push(name);
      } catch (error) {
        failures.push(`${name} in ${store.location}: ${(error as Error).message}`);
      }
    }
    logger.info(
      { store: store.location, kept: plan.keep.length, deleted: deleted.length, dryRun },
      `prune of ${store.location} done`,
    );
    result.stores.push({ location: store.location, kept: plan.keep, deleted });
  }
  if (failures.length > 0) throw new JobError(`Prune could not delete:\n  - ${failures.join('\n  - ')}`);
  return result;
}
