/**
 * `verify <name>`: reads the archive back from every store that has it, recomputes sha256 and size, and
 * inflates it to nowhere (a truncated or corrupt gzip fails there); compares with the manifest.
 *
 * An encrypted archive's sha256 and size are of its stored (encrypted) bytes, so they are checked without
 * any key. With AGE_IDENTITY configured it is also decrypted (every chunk authenticated) and inflated; without
 * one, that deep check is skipped and said so. An identity that belongs to none of the manifest's
 * recipients is refused (exit 2) before anything is read.
 */
import { createHash } from 'node:crypto';
import { Writable, type Duplex } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import type { Config } from '../config/load.js';
import { createDecryptStream, type AgeIdentity } from '../lib/age.js';
import { JobError, UsageError } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { startProgress } from '../lib/progress.js';
import { ByteMeter } from '../lib/streams.js';
import { openStores } from '../storage/index.js';
import type { Storage, StoredObject } from '../storage/storage.js';
import { decryptionKeys } from './encryption.js';
import { readManifest } from './listing.js';
import { archiveName, type Manifest } from './manifest.js';
import { validateBackupName } from './names.js';

export interface VerifyDeps {
  logger: Logger;
  stores?: readonly Storage[];
}

export interface VerifyResult {
  name: string;
  stores: {
    location: string;
    ok: boolean;
    sha256: string;
    size: number;
    /** Encrypted with age. */
    encrypted: boolean;
    /** The content was decompressed (and decrypted when encrypted), not only its checksum compared. */
    deep: boolean;
    problem?: string;
  }[];
}

export async function verifyBackup(
  config: Readonly<Config>,
  deps: VerifyDeps,
  name: string,
): Promise<VerifyResult> {
  validateBackupName(name);
  const stores = deps.stores ?? (await openStores(config));
  const result: VerifyResult = { name, stores: [] };
  const missing: string[] = [];
  for (const store of stores) {
    const [clear, encrypted] = await Promise.all([
      store.stat(archiveName(name)),
      store.stat(archiveName(name, true)),
    ]);
    if (!clear && !encrypted) {
      missing.push(store.location);
      continue;
    }
    let manifest: Manifest | undefined;
    let manifestProblem: string | undefined;
    try {
      manifest = await readManifest(store, name);
    } catch (error) {
      manifestProblem = `no usable manifest (${(error as Error).message}); the backup is incomplete`;
    }
    const archive = manifest ? (manifest.encryption ? encrypted : clear) : (clear ?? encrypted);
    const check = archive
      ? await verifyIn(
          store,
          archive,
          manifest,
          { logger: deps.logger, intervalMs: config.backup.progressIntervalMs },
          // Without an identity, the checksum of the stored bytes is compared; a wrong one is refused.
          await decryptionKeys(
            { name, encrypted: archive.name.endsWith('.age'), manifest },
            config.ageIdentities,
            'skip',
          ),
        )
      : {
          location: store.location,
          ok: false,
          sha256: '',
          size: 0,
          encrypted: manifest?.encryption !== undefined,
          deep: false,
          problem: `the manifest names ${manifest?.archive ?? 'an archive'}, which is not in the store`,
        };
    if (manifestProblem !== undefined && check.ok)
      Object.assign(check, { ok: false, problem: manifestProblem });
    result.stores.push(check);
    const log = {
      store: store.location,
      backup: name,
      sha256: check.sha256,
      size: check.size,
      encrypted: check.encrypted,
    };
    if (!check.ok) deps.logger.error(log, `${name} in ${store.location}: ${check.problem}`);
    else if (check.deep) deps.logger.info(log, `${name} in ${store.location} is intact`);
    else
      deps.logger.warn(
        log,
        `${name} in ${store.location}: sha256 and size match the manifest; its content was not decrypted (no AGE_IDENTITY configured), so gzip integrity was not checked`,
      );
  }
  if (result.stores.length === 0) {
    throw new UsageError(
      `No backup named "${name}" in ${stores.map((s) => s.location).join(' or ')}; see chatflow-db list`,
    );
  }
  // Every configured store should hold every backup (backup writes to all of them).
  for (const location of missing) {
    result.stores.push({
      location,
      ok: false,
      sha256: '',
      size: 0,
      encrypted: false,
      deep: false,
      problem: 'missing: the backup is not in this store',
    });
    deps.logger.error({ store: location, backup: name }, `${name} is missing from ${location}`);
  }
  const bad = result.stores.filter((s) => !s.ok);
  if (bad.length > 0) {
    throw new JobError(
      `Verification of ${name} failed:\n  - ${bad.map((s) => `${s.location}: ${s.problem}`).join('\n  - ')}`,
    );
  }
  return result;
}

async function verifyIn(
  store: Storage,
  archive: StoredObject,
  manifest: Manifest | undefined,
  progressOptions: { logger: Logger; intervalMs: number },
  identities: readonly AgeIdentity[] | undefined,
): Promise<VerifyResult['stores'][number]> {
  const encrypted = archive.name.endsWith('.age');
  const deep = !encrypted || identities !== undefined;
  const measure = new ByteMeter(createHash('sha256'));
  let problem: string | undefined;
  const progress = startProgress({
    ...progressOptions,
    label: `verify ${store.location}`,
    bytes: () => measure.bytes,
    totalBytes: archive.size,
    verb: 'read',
  });
  try {
    const body = await store.get(archive.name);
    const stages: Duplex[] = [];
    if (identities) stages.push(createDecryptStream(identities));
    if (deep) stages.push(createGunzip());
    await pipeline([
      body,
      measure,
      ...stages,
      new Writable({ write: (_chunk, _encoding, callback) => callback() }),
    ]);
  } catch (error) {
    problem = identities
      ? `the archive does not decrypt and inflate (${(error as Error).message})`
      : `the archive is not valid gzip (${(error as Error).message})`;
  } finally {
    progress.stop({ final: problem === undefined });
  }
  const sha256 = measure.digest();
  const size = measure.bytes;
  if (problem === undefined && manifest) {
    if (manifest.sha256 !== sha256)
      problem = `sha256 ${sha256} does not match the manifest's ${manifest.sha256}`;
    else if (manifest.size !== size) problem = `size ${size} does not match the manifest's ${manifest.size}`;
  }
  const base = { location: store.location, sha256, size, encrypted, deep };
  return problem === undefined ? { ...base, ok: true } : { ...base, ok: false, problem };
}
