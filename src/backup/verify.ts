/**
 * `verify <name>`: reads the archive back from every store that has it, recomputes sha256 and size, and
 * inflates it to nowhere (a truncated or corrupt gzip fails there); compares with the manifest.
 */
import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import type { Config } from '../config/load.js';
import { JobError, UsageError } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { ByteMeter } from '../lib/streams.js';
import { openStores } from '../storage/index.js';
import type { Storage } from '../storage/storage.js';
import { readManifest } from './listing.js';
import { archiveName } from './manifest.js';
import { validateBackupName } from './names.js';

export interface VerifyDeps {
  logger: Logger;
  stores?: readonly Storage[];
}

export interface VerifyResult {
  name: string;
  stores: { location: string; ok: boolean; sha256: string; size: number; problem?: string }[];
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
    if (!(await store.stat(archiveName(name)))) {
      missing.push(store.location);
      continue;
    }
    const check = await verifyIn(store, name);
    result.stores.push(check);
    const log = { store: store.location, backup: name, sha256: check.sha256, size: check.size };
    if (check.ok) deps.logger.info(log, `${name} in ${store.location} is intact`);
    else deps.logger.error(log, `${name} in ${store.location}: ${check.problem}`);
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

async function verifyIn(store: Storage, name: string): Promise<VerifyResult['stores'][number]> {
  const measure = new ByteMeter(createHash('sha256'));
  let problem: string | undefined;
  try {
    const body = await store.get(archiveName(name));
    await pipeline(
      body,
      measure,
      createGunzip(),
      new Writable({ write: (_chunk, _encoding, callback) => callback() }),
    );
  } catch (error) {
    problem = `the archive is not valid gzip (${(error as Error).message})`;
  }
  const sha256 = measure.digest();
  const size = measure.bytes;
  if (problem === undefined) {
    try {
      const manifest = await readManifest(store, name);
      if (manifest.sha256 !== sha256)
        problem = `sha256 ${sha256} does not match the manifest's ${manifest.sha256}`;
      else if (manifest.size !== size)
        problem = `size ${size} does not match the manifest's ${manifest.size}`;
    } catch (error) {
      problem = `no usable manifest (${(error as Error).message}); the backup is incomplete`;
    }
  }
  return problem === undefined
    ? { location: store.location, ok: true, sha256, size }
    : { location: store.location, ok: false, sha256, size, problem };
}
