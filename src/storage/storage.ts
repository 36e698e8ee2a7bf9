/**
 * One small interface in front of the backup stores. The jobs never know whether they talk to a local
 * directory or to S3. Names are file names relative to the store (e.g. `nightly.sql.gz`); the store adds
 * its directory or key prefix.
 */
import type { Readable } from 'node:stream';

export interface StoredObject {
  /** Name relative to the store, e.g. `chatflow_backup_20240210_020000.sql.gz`. */
  name: string;
  size: number;
  modifiedAt: Date;
}

export interface PutOptions {
  /** Rejects the put (and discards what was written) when it aborts. */
  signal?: AbortSignal;
  /** The most the body is expected to hold, for a large write: S3 sizes its multipart parts from it. */
  expectedBytes?: number;
}

export interface Storage {
  readonly kind: 'local' | 's3';
  /** Where it is, for messages: `/backups` or `s3://bucket/prefix`. */
  readonly location: string;
  /**
   * Writes `body` atomically under `name`, and only if `name` is free: nothing is visible under that name
   * unless the whole stream was stored, and an existing object is never replaced (rejects with
   * ObjectExistsError, the existing object untouched). Local: temporary file, fsync, then a hard link to
   * the name (fails if it exists). S3: multipart upload (aborted on any failure) or one PutObject, completed
   * with `If-None-Match: *`, a HEAD before and an ETag check after it for stores that ignore the header.
   * Rejects if `signal` aborts. A fulfilled put means this call created the object.
   */
  put(name: string, body: Readable, options?: PutOptions): Promise<{ size: number }>;
  /** Reads an object as a stream. Rejects with a UsageError-free plain error if it is missing. */
  get(name: string): Promise<Readable>;
  /** Every object whose name starts with `namePrefix` (all pages). */
  list(namePrefix?: string): AsyncIterable<StoredObject>;
  stat(name: string): Promise<StoredObject | undefined>;
  delete(name: string): Promise<void>;
  /** Releases connections (the sidecar's shutdown). */
  close?(): void;
}

/**
 * `put` found its name taken: another run created it first (or, on an S3 store that ignores
 * `If-None-Match`, wrote it at the same moment). The object under that name is not ours: never delete it.
 */
export class ObjectExistsError extends Error {
  override readonly name = 'ObjectExistsError';
  constructor(
    readonly objectName: string,
    readonly location: string,
    detail = 'already exists; it was left as it is',
    options?: ErrorOptions,
  ) {
    super(`${objectName} ${detail} in ${location}`, options);
  }
}

/** A small object's text (a manifest, a drill record); refuses to buffer more than `limit` bytes. */
export async function readSmallText(
  store: Storage,
  name: string,
  what: string,
  limit = 1 << 20,
): Promise<string> {
  const stream = await store.get(name);
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of stream) {
    bytes += (chunk as Buffer).length;
    if (bytes > limit) {
      stream.destroy();
      throw new Error(`${name} in ${store.location} is too large to be ${what}`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
