/**
 * Where the status page's facts come from (the I/O half of status-model.ts): the stores' listing, the
 * manifests, the drill records, the health decision, the schedule, the migration status and the versions.
 *
 * The stores are not listed on every request: the listing is cached and taken again when it is older
 * than CATALOG_MAX_AGE_MS or when the sidecar says the stores changed (after each backup and prune).
 * Manifests never change once written, so each is read once per process; a drill record is read again
 * only when its object changes. Every request then builds its Status from the cache, so a page that is
 * reloaded in a loop costs no store traffic, and after a restart the first request rebuilds everything
 * from the stores.
 *
 * Nothing here acts on the stores: it lists and reads, never writes or deletes.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config/load.js';
import { backupEntries, readManifest, type BackupEntry } from '../backup/listing.js';
import type { Manifest } from '../backup/manifest.js';
import { defaultBackupName, isDefaultName } from '../backup/names.js';
import { pgDumpVersion } from '../backup/source.js';
import { withClient } from '../lib/db.js';
import { describeError } from '../lib/errors.js';
import { redactUrl, type Logger } from '../lib/logger.js';
import { PACKAGE_ROOT } from '../lib/package-root.js';
import type { StatusResult } from '../migrations/runner.js';
import type { Storage, StoredObject } from '../storage/storage.js';
import { DRILL_RECORD_MAX_BYTES, drilledBackup, parseDrillRecord } from './drill-record.js';
import { withTimeout } from './probe.js';
import {
  buildStatus,
  storeLabel,
  trackSince,
  type DrillFacts,
  type ManifestFacts,
  type MigrationsStatus,
  type Status,
  type StatusInputs,
  type Versions,
} from './status-model.js';

/** The listing is taken again when it is older than this. */
export const CATALOG_MAX_AGE_MS = 30_000;
/** One store's listing may take this long before the page shows the store as unreachable. */
export const LIST_TIMEOUT_MS = 8000;
/** Manifests and drill records read at once (the first request after a start reads them all). */
const READ_CONCURRENCY = 4;
const SMALL_READ_TIMEOUT_MS = 5000;

export interface StatusSourceDeps {
  config: Readonly<Config>;
  logger: Logger;
  now: () => Date;
  stores: readonly Storage[];
  /** The /healthz decision now: its reasons and since when each area has been failing. */
  health(): Promise<{ reasons: readonly string[]; since: ReadonlyMap<string, Date> }>;
  schedule(): StatusInputs['schedule'];
  migrations(): MigrationsStatus;
  versions(): Promise<Versions>;
}

export interface StatusSource {
  /** The facts for page `page` (1-based, clamped). */
  status(page: number): Promise<Status>;
  /** The stores changed (a backup or a prune ran): the next request lists them again. */
  invalidate(): void;
}

interface StoreListing {
  entries: BackupEntry[];
  /** Drill record objects, by the backup they are about. */
  drillObjects: Map<string, StoredObject>;
  /** Why the last listing failed (the entries are then those of the listing before). */
  error?: string;
}

interface Catalog {
  at: number;
  listings: Map<Storage, StoreListing>;
}

export function createStatusSource(deps: StatusSourceDeps): StatusSource {
  const { config, logger, stores } = deps;
  const database = config.database.database;
  const ownSuffix = nameSuffix(database);
  let catalog: Catalog | undefined;
  let refreshing: Promise<Catalog> | undefined;
  let stale = true;
  const manifests = new Map<string, ManifestFacts & { database: string }>();
  /** Drill records by `<location>\n<object>`, with the object's size and time they were read at. */
  const drillRecords = new Map<string, { version: string; facts: DrillFacts | undefined }>();
  let storeSince = new Map<string, Date>();

  async function currentCatalog(): Promise<Catalog> {
    const now = deps.now().getTime();
    if (catalog && !stale && now - catalog.at < CATALOG_MAX_AGE_MS) return catalog;
    if (!refreshing) {
      stale = false;
      refreshing = refresh(now).finally(() => (refreshing = undefined));
    }
    return refreshing;
  }

  async function refresh(at: number): Promise<Catalog> {
    const listings = new Map<Storage, StoreListing>();
    await Promise.all(
      stores.map(async (store) => {
        const previous = catalog?.listings.get(store);
        try {
          listings.set(
            store,
            await withTimeout(listOne(store), LIST_TIMEOUT_MS, `listing ${storeName(store)}`),
          );
        } catch (error) {
          // Shown on the page: the store's path or endpoint gives way to its label, credentials are masked.
          const message = redactUrl(describeError(error).split('\n')[0] ?? 'failed')
            .split(store.location)
            .join(storeName(store));
          logger.warn({ store: storeName(store), err: error }, 'status page: cannot list a backup store');
          listings.set(store, {
            entries: previous?.entries ?? [],
            drillObjects: previous?.drillObjects ?? new Map<string, StoredObject>(),
            error: message,
          });
        }
      }),
    );
    await readManifests(listings);
    await readDrillRecords(listings);
    forgetGone(listings);
    catalog = { at, listings };
    return catalog;
  }

  /** Drops what was read of backups and records no store holds any more (pruned), so the caches stay small. */
  function forgetGone(listings: Map<Storage, StoreListing>): void {
    const names = new Set<string>();
    const records = new Set<string>();
    for (const [store, listing] of listings) {
      for (const entry of listing.entries) names.add(entry.name);
      for (const object of listing.drillObjects.values()) records.add(`${store.location}\n${object.name}`);
    }
    for (const name of manifests.keys()) if (!names.has(name)) manifests.delete(name);
    for (const key of drillRecords.keys()) if (!records.has(key)) drillRecords.delete(key);
  }

  async function listOne(store: Storage): Promise<StoreListing> {
    const objects: StoredObject[] = [];
    const drillObjects = new Map<string, StoredObject>();
    for await (const object of store.list()) {
      const drilled = drilledBackup(object.name);
      if (drilled !== undefined) drillObjects.set(drilled, object);
      else objects.push(object);
    }
    return { entries: backupEntries(store, objects), drillObjects };
  }

  /** Reads the manifests not read yet, each from the first store holding the complete backup. */
  async function readManifests(listings: Map<Storage, StoreListing>): Promise<void> {
    const wanted = new Map<string, Storage>();
    for (const [store, listing] of listings) {
      for (const entry of listing.entries) {
        if (entry.complete && !manifests.has(entry.name) && !wanted.has(entry.name))
          wanted.set(entry.name, store);
      }
    }
    await eachLimited([...wanted], READ_CONCURRENCY, async ([name, store]) => {
      try {
        const manifest = await withTimeout(readManifest(store, name), SMALL_READ_TIMEOUT_MS, 'a manifest');
        manifests.set(name, manifestFacts(manifest));
      } catch (error) {
        // Shown as "manifest not read"; tried again at the next listing.
        logger.warn(
          { store: storeName(store), backup: name, err: error },
          'status page: cannot read a manifest',
        );
      }
    });
  }

  /** Reads the drill records that are new or changed since they were last read. */
  async function readDrillRecords(listings: Map<Storage, StoreListing>): Promise<void> {
    const wanted: [string, Storage, string, StoredObject][] = [];
    for (const [store, listing] of listings) {
      for (const [backup, object] of listing.drillObjects) {
        const key = `${store.location}\n${object.name}`;
        const version = `${object.size} ${object.modifiedAt.getTime()}`;
        if (drillRecords.get(key)?.version !== version) wanted.push([key, store, backup, object]);
      }
    }
    await eachLimited(wanted, READ_CONCURRENCY, async ([key, store, backup, object]) => {
      const version = `${object.size} ${object.modifiedAt.getTime()}`;
      if (object.size > DRILL_RECORD_MAX_BYTES)
        return void drillRecords.set(key, { version, facts: undefined });
      try {
        const text = await withTimeout(
          readSmall(store, object.name),
          SMALL_READ_TIMEOUT_MS,
          'a drill record',
        );
        drillRecords.set(key, { version, facts: parseDrillRecord(text, backup, database) });
      } catch (error) {
        logger.warn(
          { store: storeName(store), object: object.name, err: error },
          'status page: cannot read a drill record',
        );
      }
    });
  }

  /** A backup is this database's when its manifest says so; without one, when its name does not say otherwise. */
  function isOurs(name: string): boolean {
    const manifest = manifests.get(name);
    if (manifest) return manifest.database === database;
    const suffix = defaultNameDatabase(name);
    return suffix === undefined || suffix === ownSuffix;
  }

  return {
    invalidate() {
      stale = true;
    },
    async status(page) {
      const [current, health, versions] = await Promise.all([
        currentCatalog(),
        deps.health(),
        deps.versions(),
      ]);
      const now = deps.now();
      const entries: BackupEntry[] = [];
      const drills = new Map<string, DrillFacts[]>();
      const storeProblems: string[] = [];
      for (const [store, listing] of current.listings) {
        if (listing.error) storeProblems.push(`store: cannot list ${storeName(store)} (${listing.error})`);
        for (const entry of listing.entries) if (isOurs(entry.name)) entries.push(entry);
        for (const [backup, object] of listing.drillObjects) {
          const facts = drillRecords.get(`${store.location}\n${object.name}`)?.facts;
          if (!facts || !isOurs(backup)) continue;
          const known = drills.get(backup) ?? [];
          // The same drill recorded in two stores is one drill.
          if (!known.some((drill) => drill.at.getTime() === facts.at.getTime())) known.push(facts);
          drills.set(backup, known);
        }
      }
      storeSince = trackSince(storeSince, storeProblems, now);
      const names = new Set(entries.map((entry) => entry.name));
      return buildStatus({
        now,
        timeZone: config.timeZone,
        database,
        entries,
        manifests: new Map([...manifests].filter(([name]) => names.has(name))),
        drills,
        health: {
          reasons: [...health.reasons, ...storeProblems],
          since: new Map([...health.since, ...storeSince]),
        },
        schedule: deps.schedule(),
        migrations: deps.migrations(),
        versions,
        page,
      });
    },
  };
}

/** `local` or `s3:<bucket>`: never a path prefix, endpoint or credential. */
function storeName(store: Storage): string {
  return storeLabel({ store: store.kind, location: store.location });
}

function manifestFacts(manifest: Manifest): ManifestFacts & { database: string } {
  // `encryption` is a later, optional manifest field (present only for encrypted archives).
  const encrypted = (manifest as Manifest & { encryption?: unknown }).encryption !== undefined;
  return {
    createdAt: manifest.createdAt,
    size: manifest.size,
    durationMs: typeof manifest.durationMs === 'number' ? manifest.durationMs : 0,
    encrypted,
    database: manifest.database,
  };
}

/** What a default name carries after its time stamp for `database` (the name's own rules applied). */
function nameSuffix(database: string): string {
  const epoch = new Date(0);
  return defaultBackupName(epoch, 'UTC', database).slice(defaultBackupName(epoch, 'UTC').length + 1);
}

/** The database part of a default name, or undefined (another shape, or the older one without it). */
function defaultNameDatabase(name: string): string | undefined {
  if (!isDefaultName(name)) return undefined;
  return /^chatflow_backup_\d{8}_\d{6}_(.+)$/.exec(name)?.[1];
}

async function readSmall(store: Storage, name: string): Promise<string> {
  const stream = await store.get(name);
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of stream) {
    bytes += (chunk as Buffer).length;
    if (bytes > DRILL_RECORD_MAX_BYTES) {
      stream.destroy();
      throw new Error(`${name} is too large to be a drill record`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

async function eachLimited<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

// ---------------------------------------------------------------------------------------------------
// The smaller facts
// ---------------------------------------------------------------------------------------------------

/** The migration status as the page shows it: from the last `migrationStatus` the probe read. */
export function migrationsOf(
  result: StatusResult | undefined,
  probeError: string | undefined,
): MigrationsStatus {
  if (probeError !== undefined || !result) {
    return { known: false, error: probeError ?? 'not read yet' };
  }
  return {
    known: true,
    applied: result.applied.length,
    latest: result.applied.at(-1) ?? null,
    pending: [...result.pending],
  };
}

/**
 * chatflow-db's own version (package.json), the server's (`SHOW server_version`) and pg_dump's
 * (`pg_dump --version`), each read once: a failed read is tried again at the next request.
 */
export function createVersionReader(config: Readonly<Config>, logger: Logger): () => Promise<Versions> {
  const chatflowDb = packageVersion();
  const server = once(
    () =>
      withTimeout(
        withClient(config.database, async (client) => {
          const result = await client.query<{ server_version: string }>('SHOW server_version');
          return result.rows[0]?.server_version ?? null;
        }),
        SMALL_READ_TIMEOUT_MS,
        'SHOW server_version',
      ),
    logger,
  );
  const pgDump = once(async () => (await pgDumpVersion()).replace(/^pg_dump \(PostgreSQL\)\s*/, ''), logger);
  return async () => {
    const [serverVersion, pgDumpVersionText] = await Promise.all([server(), pgDump()]);
    return { chatflowDb, server: serverVersion, pgDump: pgDumpVersionText };
  };
}

/** The value of `read` once it succeeded; null (and another try next time) while it fails. */
function once<T>(read: () => Promise<T | null>, logger: Logger): () => Promise<T | null> {
  let value: Promise<T | null> | undefined;
  return () => {
    value ??= read().catch((error: unknown) => {
      logger.warn({ err: error }, 'status page: cannot read a version');
      value = undefined;
      return null;
    });
    return value;
  };
}

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}
