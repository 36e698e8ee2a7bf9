/** The stores a configuration names: the local directory and/or the S3 bucket, local first. */
import type { Config } from '../config/load.js';
import { LocalStorage } from './local.js';
import type { Storage } from './storage.js';

export type { Storage, StoredObject } from './storage.js';
export { LocalStorage } from './local.js';

export async function openStores(config: Readonly<Config>): Promise<Storage[]> {
  const stores: Storage[] = [];
  if (config.backup.localDir !== undefined) stores.push(new LocalStorage(config.backup.localDir));
  if (config.backup.s3 !== undefined) {
    // The AWS SDK costs ~75 ms and several MiB to load: only commands that use a bucket pay for it.
    const { S3Storage } = await import('./s3.js');
    stores.push(new S3Storage(config.backup.s3));
  }
  return stores;
}
