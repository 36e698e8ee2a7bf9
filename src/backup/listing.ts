/**
 * What the stores hold: backups (an archive, plus its manifest when complete), newest first. Listing
 * reads object names and sizes only; manifests are read on demand (readManifest), so listing thousands
 * of backups costs one paginated LIST per store.
 */
import type { Config } from '../config/load.js';
import { openStores } from '../storage/index.js';
import type { Storage, StoredObject } from '../storage/storage.js';
import { ARCHIVE_SUFFIX, MANIFEST_SUFFIX, manifestName, parseManifest, type Manifest } from './manifest.js';
import { isDefaultName } from './names.js';

export interface BackupEntry {
  name: string;
  store: Storage['kind'];
  /** The store's location, e.g. `/backups` or `s3://bucket/prefix/`. */
  location: string;
  /** Bytes of the archive. */
  size: number;
  /** When the backup was completed: the manifest's time if there is one, else the archive's. */
  modifiedAt: Date;
  /** Has a manifest: a complete backup of this tool. Without one it is incomplete or an old script's. */
  complete: boolean;
  /** Default-named (`chatflow_backup_YYYYMMDD_HHMMSS_<database>`, or the older shape without the database). */
  defaultNamed: boolean;
}

export interface ListingDeps {
  /** The stores to read; defaults to those the configuration names. */
  stores?: readonly Storage[];
}

/** Backups of one store, newest first; only names starting with `namePrefix` are listed at all. */
export async function listStore(store: Storage, namePrefix = ''): Promise<BackupEntry[]> {
  const objects: StoredObject[] = [];
  for await (const object of store.list(namePrefix)) objects.push(object);
  return backupEntries(store, objects);
}

/**
 * The backups among one store's objects (as `store.list` gives them), newest first. Objects that are
 * neither an archive nor a manifest (e.g. `<name>.drill.json` records) are not backups and are ignored.
 */
export function backupEntries(
  store: Pick<Storage, 'kind' | 'location'>,
  objects: Iterable<StoredObject>,
): BackupEntry[] {
  const archives = new Map<string, StoredObject>();
  const manifests = new Map<string, StoredObject>();
  for (const object of objects) {
    if (object.name.endsWith(ARCHIVE_SUFFIX))
      archives.set(object.name.slice(0, -ARCHIVE_SUFFIX.length), object);
    else if (object.name.endsWith(MANIFEST_SUFFIX))
      manifests.set(object.name.slice(0, -MANIFEST_SUFFIX.length), object);
  }
  const entries: BackupEntry[] = [];
  for (const [name, archive] of archives) {
    const manifest = manifests.get(name);
    entries.push({
      name,
      store: store.kind,
      location: store.location,
      size: archive.size,
      modifiedAt: manifest?.modifiedAt ?? archive.modifiedAt,
      complete: manifest !== undefined,
      defaultNamed: isDefaultName(name),
    });
  }
  return entries.sort(newestFirst);
}

/** Backups in every configured store, newest first (a backup in two stores is listed twice). */
export async function listBackups(config: Readonly<Config>, deps: ListingDeps = {}): Promise<BackupEntry[]> {
  return listStores(deps.stores ?? (await openStores(config)));
}

/** Backups in `stores`, newest first; on equal times the earlier store's entry comes first. */
export async function listStores(stores: readonly Storage[]): Promise<BackupEntry[]> {
  const perStore = await Promise.all(stores.map((store) => listStore(store)));
  return perStore.flat().sort(newestFirst);
}

/**
 * What `latest` means, for `list` readers and `restore latest` alike: the newest complete backup (one
 * with a manifest) of `entries` as listStores orders them, or undefined.
 */
export function latestBackup(entries: readonly BackupEntry[]): BackupEntry | undefined {
  return entries.find((entry) => entry.complete);
}

/** The newest complete backup in the configured stores, or undefined. */
export async function findLatestBackup(
  config: Readonly<Config>,
  deps: ListingDeps = {},
): Promise<BackupEntry | undefined> {
  return latestBackup(await listBackups(config, deps));
}

/** Reads and checks `<name>.manifest.json` from `store`. */
export async function readManifest(store: Storage, name: string): Promise<Manifest> {
  const stream = await store.get(manifestName(name));
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of stream) {
    bytes += (chunk as Buffer).length;
    // A manifest is a few hundred bytes; refuse to buffer anything large.
    if (bytes > 1 << 20) {
      stream.destroy();
      throw new Error(`${manifestName(name)} in ${store.location} is too large to be a manifest`);
    }
    chunks.push(chunk as Buffer);
  }
  return parseManifest(Buffer.concat(chunks).toString('utf8'));
}

function newestFirst(a: BackupEntry, b: BackupEntry): number {
  return b.modifiedAt.getTime() - a.modifiedAt.getTime() || (a.name < b.name ? 1 : a.name > b.name ? -1 : 0);
}
