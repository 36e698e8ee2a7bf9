/**
 * Which archive a restore reads: a named one (the first store that has it with a manifest, else the first
 * that has it at all), or `latest` = the newest complete backup of the source database across the stores,
 * by the one rule in src/backup/listing.ts (latestBackup). An archive is `<name>.sql.gz` or, encrypted with
 * age, `<name>.sql.gz.age`; the manifest says which one the backup wrote (src/backup/encryption.ts decides,
 * before any work, whether the configured identities can open it).
 */
import { findLatestIn, readManifest } from '../backup/listing.js';
import {
  ARCHIVE_SUFFIX,
  archiveName,
  ENCRYPTED_ARCHIVE_SUFFIX,
  manifestName,
  type Manifest,
} from '../backup/manifest.js';
import { nameProblem } from '../backup/names.js';
import { JobError, UsageError } from '../lib/errors.js';
import type { Storage, StoredObject } from '../storage/storage.js';

export interface ResolvedArchive {
  store: Storage;
  name: string;
  archive: StoredObject;
  /** The archive is age-encrypted (`<name>.sql.gz.age`). */
  encrypted: boolean;
  /** Undefined for archives of the old `pg_dump | gzip` script: no checksum to compare. */
  manifest: Manifest | undefined;
}

export const LIST_HINT =
  'run `chatflow-db restore` without a name (or `chatflow-db list`) to see the backups';

/** `nightly`, `nightly.sql.gz` or `nightly.sql.gz.age` -> `nightly`; refuses names that could escape the store. */
export function normalizeName(raw: string): string {
  const suffix = [ENCRYPTED_ARCHIVE_SUFFIX, ARCHIVE_SUFFIX].find((s) => raw.endsWith(s));
  const name = suffix ? raw.slice(0, -suffix.length) : raw;
  const problem = nameProblem(name);
  if (problem !== undefined) throw new UsageError(`Invalid backup name: ${problem}; ${LIST_HINT}`);
  return name;
}

/** Finds the archive to restore in `stores` (in order of preference) and reads its manifest, if any. */
export async function resolveArchive(
  stores: readonly Storage[],
  requested: string,
  /** Whose backups `latest` chooses from (the manifest's `database`). */
  sourceDatabase: string,
): Promise<ResolvedArchive> {
  const where = stores.map((s) => s.location).join(' and ');
  let store: Storage | undefined;
  let name: string;
  if (requested === 'latest') {
    const latest = await findLatestIn(stores, sourceDatabase);
    if (!latest)
      throw new UsageError(
        `There is no complete backup (with a manifest) of the database "${sourceDatabase}" in ${where}; ` +
          `use --source-db NAME to restore the newest backup of another database, or ${LIST_HINT}`,
      );
    // The same backup in two stores comes from the first of them (store order wins ties).
    store = stores.find((s) => s.kind === latest.store && s.location === latest.location);
    if (!store) throw new JobError(`${latest.location} was listed but is not among the stores`);
    name = latest.name;
  } else {
    name = normalizeName(requested);
    // Prefer a copy with a manifest (checksummed) over one without, whatever the store order.
    const holding: Storage[] = [];
    for (const candidate of stores) {
      if ((await statArchives(candidate, name)).some((object) => object !== undefined))
        holding.push(candidate);
    }
    for (const candidate of holding) {
      if ((await candidate.stat(manifestName(name))) !== undefined) {
        store = candidate;
        break;
      }
    }
    store ??= holding[0];
    if (!store) throw new UsageError(`There is no backup named "${name}" in ${where}; ${LIST_HINT}`);
  }
  const hasManifest = (await store.stat(manifestName(name))) !== undefined;
  const manifest = hasManifest ? await loadManifest(store, name) : undefined;
  const [clear, encrypted] = await statArchives(store, name);
  // The manifest says which archive the backup wrote; an old script's archive has none and is in clear.
  const isEncrypted = manifest ? manifest.encryption !== undefined : clear === undefined;
  const archive = isEncrypted ? encrypted : clear;
  if (!archive)
    throw new JobError(
      manifest
        ? `The manifest of "${name}" in ${store.location} names ${archiveName(name, isEncrypted)}, which is not there (it disappeared, or the store was altered); the backup is refused`
        : `The archive of "${name}" disappeared from ${store.location} while the restore started`,
    );
  return { store, name, archive, encrypted: isEncrypted, manifest };
}

const statArchives = (store: Storage, name: string): Promise<(StoredObject | undefined)[]> =>
  Promise.all([store.stat(archiveName(name)), store.stat(archiveName(name, true))]);

async function loadManifest(store: Storage, name: string): Promise<Manifest> {
  try {
    return await readManifest(store, name);
  } catch (error) {
    throw new JobError(
      `The manifest ${manifestName(name)} in ${store.location} cannot be read (${(error as Error).message}); the backup cannot be verified and is refused`,
      { cause: error },
    );
  }
}
