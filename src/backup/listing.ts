/**
 * What the stores hold: backups (an archive, plus its manifest when complete), newest first. Listing
 * reads object names and sizes only; manifests are read on demand (readManifest), so listing thousands
 * of backups costs one paginated LIST per store.
 */
import type { Config } from '../config/load.js';
import { openStores } from '../storage/index.js';
import { readSmallText, type Storage, type StoredObject } from '../storage/storage.js';
import {
  ARCHIVE_SUFFIX,
  ENCRYPTED_ARCHIVE_SUFFIX,
  MANIFEST_SUFFIX,
  manifestName,
  parseManifest,
  type Manifest,
} from './manifest.js';
import { isDefaultName } from './names.js';
import { DRILL_SUFFIX } from '../drill/record.js';

export interface BackupEntry {
  name: string;
  store: Storage['kind'];
  /** The store's location, e.g. `/backups` or `s3://bucket/prefix/`. */
  location: string;
  /** The archive object: `<name>.sql.gz`, or `<name>.sql.gz.age` when encrypted. */
  archive: string;
  /** The archive is age-encrypted (its name ends in `.sql.gz.age`). */
  encrypted: boolean;
  /** Bytes of the archive. */
  size: number;
  /** When the backup was completed: the manifest's time if there is one, else the archive's. */
  modifiedAt: Date;
  /** Has a manifest: a complete backup of this tool. Without one it is incomplete or an old script's. */
  complete: boolean;
  /** Default-named (`chatflow_backup_YYYYMMDD_HHMMSS_<database>`, or the older shape without the database). */
  defaultNamed: boolean;
  /** A `<name>.drill.json` (the last restore drill's result) lies next to it. */
  drilled?: boolean;
  /** That drill's outcome, once read (readers that show it fill it in: src/drill/record.ts). */
  lastDrill?: { at: Date; ok: boolean };
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
  // Drill records (`<name>.drill.json`) are sidecar objects of a backup, never backups or manifests.
  const drills = new Set<string>();
  for (const object of objects) {
    // A name has one archive (backups never reuse a name); should both kinds exist, the encrypted one is
    // listed, and restore reads the kind the manifest names.
    if (object.name.endsWith(ENCRYPTED_ARCHIVE_SUFFIX))
      archives.set(object.name.slice(0, -ENCRYPTED_ARCHIVE_SUFFIX.length), object);
    else if (object.name.endsWith(ARCHIVE_SUFFIX)) {
      const name = object.name.slice(0, -ARCHIVE_SUFFIX.length);
      if (!archives.has(name)) archives.set(name, object);
    } else if (object.name.endsWith(MANIFEST_SUFFIX))
      manifests.set(object.name.slice(0, -MANIFEST_SUFFIX.length), object);
    else if (object.name.endsWith(DRILL_SUFFIX)) drills.add(object.name.slice(0, -DRILL_SUFFIX.length));
  }
  const entries: BackupEntry[] = [];
  for (const [name, archive] of archives) {
    const manifest = manifests.get(name);
    entries.push({
      name,
      store: store.kind,
      location: store.location,
      archive: archive.name,
      encrypted: archive.name.endsWith(ENCRYPTED_ARCHIVE_SUFFIX),
      size: archive.size,
      modifiedAt: manifest?.modifiedAt ?? archive.modifiedAt,
      complete: manifest !== undefined,
      defaultNamed: isDefaultName(name),
      drilled: drills.has(name),
    });
  }
  return entries.sort(newestFirst);
}

/** Backups in every configured store, newest first (a backup in two stores is listed twice). */
export async function listBackups(config: Readonly<Config>, deps: ListingDeps = {}): Promise<BackupEntry[]> {
  return listStores(deps.stores ?? (await openStores(config)));
}

/**
 * Backups in `stores`, newest first. The copies of one backup stay together in store order: their times
 * differ by however long each store took, either way round.
 */
export async function listStores(stores: readonly Storage[]): Promise<BackupEntry[]> {
  const perStore = await Promise.all(stores.map((store) => listStore(store)));
  const entries = perStore.flat();
  const newestCopy = new Map<string, BackupEntry>();
  for (const entry of entries) {
    const seen = newestCopy.get(entry.name);
    if (!seen || entry.modifiedAt > seen.modifiedAt) newestCopy.set(entry.name, entry);
  }
  // Array.prototype.sort is stable, so equal keys keep store order.
  return entries.sort((a, b) => newestFirst(newestCopy.get(a.name)!, newestCopy.get(b.name)!));
}

/** What a backup's manifest says about where it comes from and when; read only for `latest`. */
export interface BackupOrigin {
  /** The manifest's `database`. */
  database: string;
  /** The manifest's `createdAt`, or the default name's timestamp when that is unusable. */
  createdAt: Date;
}

export type LatestCandidate = BackupEntry & { origin?: BackupOrigin };

/**
 * What `latest` means, for every caller (`restore latest`, findLatestBackup): the complete backup (one
 * with a readable manifest) of `database` (the manifest's `database`) whose manifest was created last.
 * Never object times (mtime, S3 LastModified): a copy of a bucket or a directory resets them. On equal
 * times the earlier entry wins (callers pass entries in store order, local first). Pure.
 */
export function latestBackup(
  entries: readonly LatestCandidate[],
  database: string,
): LatestCandidate | undefined {
  let best: (LatestCandidate & { origin: BackupOrigin }) | undefined;
  for (const entry of entries) {
    const { origin } = entry;
    if (!entry.complete || origin === undefined || origin.database !== database) continue;
    if (best === undefined || origin.createdAt.getTime() > best.origin.createdAt.getTime())
      best = { ...entry, origin };
  }
  return best;
}

/** The timestamp in a default name (`chatflow_backup_YYYYMMDD_HHMMSS…`, wall-clock read as UTC), or undefined. */
export function nameTimestamp(name: string): Date | undefined {
  const m = /^chatflow_backup_(\d{4})(\d{2})(\d{2})_(\d{2})(\d{2})(\d{2})/.exec(name);
  if (!m) return undefined;
  const [y = 0, mo = 1, d, h, mi, se] = m.slice(1).map(Number);
  return new Date(Date.UTC(y, mo - 1, d, h, mi, se));
}

/** Reads the manifests of the complete backups in `stores` (a few at a time) and applies latestBackup. */
export async function findLatestIn(
  stores: readonly Storage[],
  database: string,
): Promise<LatestCandidate | undefined> {
  const candidates: { store: Storage; entry: BackupEntry }[] = [];
  for (const store of stores) {
    for (const entry of (await listStore(store)).filter((e) => e.complete)) candidates.push({ store, entry });
  }
  const described: LatestCandidate[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < candidates.length; i = next++) {
      const { store, entry } = candidates[i] as { store: Storage; entry: BackupEntry };
      described[i] = { ...entry, origin: await readOrigin(store, entry.name) };
    }
  };
  await Promise.all(Array.from({ length: Math.min(16, candidates.length) }, worker));
  return latestBackup(described, database);
}

/** A manifest that cannot be read or parsed makes the backup no candidate (undefined). */
async function readOrigin(store: Storage, name: string): Promise<BackupOrigin | undefined> {
  try {
    const manifest = await readManifest(store, name);
    const created = new Date(manifest.createdAt);
    const createdAt = Number.isNaN(created.getTime()) ? nameTimestamp(name) : created;
    return createdAt && { database: manifest.database, createdAt };
  } catch {
    return undefined;
  }
}

/** The newest complete backup of `database` (default: the configured one) in the configured stores. */
export async function findLatestBackup(
  config: Readonly<Config>,
  deps: ListingDeps = {},
  database = config.database.database,
): Promise<LatestCandidate | undefined> {
  return findLatestIn(deps.stores ?? (await openStores(config)), database);
}

/** Reads and checks `<name>.manifest.json` from `store`. */
export async function readManifest(store: Storage, name: string): Promise<Manifest> {
  // A manifest is a few hundred bytes.
  return parseManifest(await readSmallText(store, manifestName(name), 'a manifest'));
}

function newestFirst(a: BackupEntry, b: BackupEntry): number {
  return b.modifiedAt.getTime() - a.modifiedAt.getTime() || (a.name < b.name ? 1 : a.name > b.name ? -1 : 0);
}
