/**
 * What the stores say about this database's backups, for /healthz: the newest complete scheduled
 * backup of THIS database, by the manifest's `database`, `automatic` and `createdAt` (object times and
 * names are not trusted for this). The stores survive restarts, so a sidecar that was OOM-killed during
 * every nightly backup is judged by what is stored, not by what it remembers.
 *
 * Cost: one paginated LIST per store (only default-named objects) per reading; manifests are immutable,
 * so each is read once per process and remembered. The sidecar reads at start-up, after each backup,
 * and when /healthz would otherwise be red and the last reading is older than a minute.
 */
import { listStore, readManifest } from '../backup/listing.js';
import type { Manifest } from '../backup/manifest.js';
import { DEFAULT_NAME_PREFIX, defaultBackupName, isDefaultName } from '../backup/names.js';
import { describeError } from '../lib/errors.js';
import type { Storage } from '../storage/storage.js';
import type { StoreReading, StoredBackup } from './state.js';

/** Manifests read at once per store. */
const MANIFEST_READS_IN_FLIGHT = 8;

export interface Freshness {
  /** Reads the stores now (one reading at a time: concurrent callers share it). */
  read(): Promise<StoreReading>;
}

export function createFreshness(stores: readonly Storage[], database: string, now: () => Date): Freshness {
  // `<location>\0<name>` -> its manifest, or null when it is unreadable or not a manifest.
  const manifests = new Map<string, Manifest | null>();
  // Per store, the newest found at its last successful reading (kept while the store is unreachable).
  const newestPerStore = new Map<string, StoredBackup | undefined>();
  const mayBeOurs = nameFilter(database);
  let inFlight: Promise<StoreReading> | undefined;

  async function readStore(store: Storage): Promise<StoredBackup | undefined> {
    const entries = (await listStore(store, DEFAULT_NAME_PREFIX)).filter(
      (entry) => entry.complete && entry.defaultNamed && mayBeOurs(entry.name),
    );
    const unread = entries.filter((entry) => !manifests.has(`${store.location}\0${entry.name}`));
    for (let i = 0; i < unread.length; i += MANIFEST_READS_IN_FLIGHT) {
      await Promise.all(
        unread.slice(i, i + MANIFEST_READS_IN_FLIGHT).map(async (entry) => {
          const manifest = await readManifest(store, entry.name).catch(() => null);
          manifests.set(`${store.location}\0${entry.name}`, manifest);
        }),
      );
    }
    let newest: StoredBackup | undefined;
    for (const entry of entries) {
      const manifest = manifests.get(`${store.location}\0${entry.name}`);
      if (!manifest || manifest.database !== database || !manifest.automatic) continue;
      const createdAt = new Date(manifest.createdAt);
      if (Number.isNaN(createdAt.getTime())) continue;
      if (!newest || createdAt > newest.createdAt)
        newest = { name: entry.name, createdAt, location: store.location };
    }
    return newest;
  }

  async function readAll(): Promise<StoreReading> {
    const errors: string[] = [];
    await Promise.all(
      stores.map(async (store) => {
        try {
          newestPerStore.set(store.location, await readStore(store));
        } catch (error) {
          errors.push(`${store.location}: ${describeError(error).split('\n')[0] ?? 'unreadable'}`);
        }
      }),
    );
    let newest: StoredBackup | undefined;
    for (const found of newestPerStore.values()) {
      if (found && (!newest || found.createdAt > newest.createdAt)) newest = found;
    }
    return { newest, checkedAt: now(), errors };
  }

  return {
    read() {
      inFlight ??= readAll().finally(() => (inFlight = undefined));
      return inFlight;
    },
  };
}

/**
 * Default names carry the database (`chatflow_backup_<stamp>_<database>`, as names.ts writes it), so a
 * name with another database's suffix is not read at all; the older shape without one may be anyone's.
 * The manifest decides; this only spares reading other databases' manifests in a shared store.
 */
function nameFilter(database: string): (name: string) => boolean {
  const epoch = new Date(0);
  const bare = defaultBackupName(epoch, 'UTC');
  const suffix = defaultBackupName(epoch, 'UTC', database).slice(bare.length);
  return (name) => isDefaultName(name) && (name.length === bare.length || name.endsWith(suffix));
}
