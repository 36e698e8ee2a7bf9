/** The stores a configuration names: the local directory and/or the S3 bucket, local first. */
import type { Config } from '../config.js';
import { LocalStorage } from './local.js';
import { S3Storage } from './s3.js';
import type { Storage } from './storage.js';

export type { Storage, StoredObject } from './storage.js';
export { LocalStorage } from './local.js';
export { S3Storage, partSizeFor } from './s3.js';

export function openStores(config: Readonly<Config>): Storage[] {
  const stores: Storage[] = [];
  if (config.backup.localDir !== undefined) stores.push(new LocalStorage(config.backup.localDir));
  if (config.backup.s3 !== undefined) stores.push(new S3Storage(config.backup.s3));
  return stores;
}
