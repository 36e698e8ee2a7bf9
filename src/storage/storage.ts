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
   * Writes `body` atomically under `name`: nothing is visible under that name unless the whole stream
   * was stored. Local: temporary file + rename; S3: multipart upload, aborted on any failure.
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
