/**
 * S3-compatible storage (AWS S3, MinIO, R2, B2, Ceph, s3rver). Objects are `<S3_PREFIX><name>`.
 *
 * - Checksums only WHEN_REQUIRED: since SDK 3.729 the default adds CRC32 checksums/trailers that several
 *   S3-compatible services reject. Integrity is ours anyway: the manifest's sha256.
 * - put() streams through a lib-storage multipart Upload. lib-storage uses one fixed part size and
 *   S3 allows at most 10,000 parts, but the compressed size is unknown upfront, so the caller passes an
 *   estimate (the database size: a gzipped plain dump is practically always smaller than
 *   pg_database_size, which counts indexes and free space) and the part size is
 *   max(8 MiB, estimate / 9,000), leaving 10 % headroom. A 1 TB database gets ~117 MiB parts. If a dump
 *   ever exceeded 10,000 parts, lib-storage fails and the upload is aborted: an error, never a false success.
 * - On any failure (the body stream errors, the signal aborts, a request fails) the multipart upload is
 *   aborted before put() rejects, so no parts are left behind and nothing is visible under the key.
 */
import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { Readable } from 'node:stream';
import type { S3Config } from '../config.js';
import type { Storage, StoredObject } from './storage.js';

export const MIN_PART_SIZE = 8 * 1024 * 1024;
const MAX_PART_SIZE = 5 * 1024 * 1024 * 1024;
const PART_BUDGET = 9_000;

/** Part size for a stream expected to be at most `estimatedBytes`. */
export function partSizeFor(estimatedBytes: number | undefined): number {
  const wanted = Math.ceil((estimatedBytes ?? 0) / PART_BUDGET);
  const mib = 1024 * 1024;
  return Math.min(MAX_PART_SIZE, Math.max(MIN_PART_SIZE, Math.ceil(wanted / mib) * mib));
}

export function createS3Client(config: S3Config): S3Client {
  const options: S3ClientConfig = {
    region: config.region,
    forcePathStyle: config.forcePathStyle,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    // Fail fast when the endpoint is unreachable; a stalled request may not hold a backup forever.
    requestHandler: { connectionTimeout: 10_000, requestTimeout: 300_000 },
    maxAttempts: 3,
  };
  if (config.endpoint !== undefined) options.endpoint = config.endpoint;
  // Explicit keys when configured; otherwise the SDK's default chain (env, profiles, instance roles).
  // A copy: the SDK annotates the credentials object, and the config is frozen.
  if (config.credentials !== undefined) options.credentials = { ...config.credentials };
  return new S3Client(options);
}

export class S3Storage implements Storage {
  readonly kind = 's3' as const;
  readonly location: string;
  /** Part size of multipart uploads; set from the expected dump size before a backup. */
  partSize = MIN_PART_SIZE;

  constructor(
    private readonly config: S3Config,
    readonly client: S3Client = createS3Client(config),
  ) {
    this.location = `s3://${config.bucket}/${config.prefix}`;
  }

  private key(name: string): string {
    return `${this.config.prefix}${name}`;
  }

  async put(name: string, body: Readable, options: { signal?: AbortSignal } = {}): Promise<{ size: number }> {
    const { signal } = options;
    let size = 0;
    async function* counted(source: Readable): AsyncGenerator<Buffer> {
      for await (const chunk of source) {
        size += (chunk as Buffer).length;
        yield chunk as Buffer;
      }
    }
    const upload = new Upload({
      client: this.client,
      params: {
        Bucket: this.config.bucket,
        Key: this.key(name),
        Body: Readable.from(counted(body), { objectMode: false, highWaterMark: 1 << 20 }),
        ContentType: contentType(name),
      },
      partSize: this.partSize,
      // Two parts in flight: enough to keep the connection busy, memory stays ~3 x partSize.
      queueSize: 2,
      leavePartsOnError: false,
    });
    // Destroying the body makes lib-storage stop, abort the multipart upload and only then reject.
    const onAbort = (): void => {
      body.destroy(signal?.reason instanceof Error ? signal.reason : new Error('upload aborted'));
    };
    if (signal?.aborted) onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await upload.done();
      return { size };
    } catch (error) {
      await upload.abort();
      // Belt and braces: abort again ourselves and wait for it, so no part outlives a failed backup
      // even if lib-storage's own abort raced with an upload still starting.
      if (upload.uploadId !== undefined) {
        await this.client
          .send(
            new AbortMultipartUploadCommand({
              Bucket: this.config.bucket,
              Key: this.key(name),
              UploadId: upload.uploadId,
            }),
          )
          .catch(() => undefined);
      }
      if (!body.destroyed) body.destroy();
      throw error;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  async get(name: string): Promise<Readable> {
    const response = await this.client.send(
      new GetObjectCommand({ Bucket: this.config.bucket, Key: this.key(name) }),
    );
    if (!(response.Body instanceof Readable))
      throw new Error(`s3://${this.config.bucket}/${this.key(name)} has no readable body`);
    return response.Body;
  }

  async *list(namePrefix = ''): AsyncIterable<StoredObject> {
    // Always scoped to our prefix (+ name prefix): never a scan of the whole bucket.
    const prefix = this.key(namePrefix);
    let token: string | undefined;
    do {
      const page = await this.client.send(
        // Delimiter "/": keys in deeper "folders" under the prefix are not ours and are not walked.
        new ListObjectsV2Command({
          Bucket: this.config.bucket,
          Prefix: prefix,
          Delimiter: '/',
          ContinuationToken: token,
        }),
      );
      for (const object of page.Contents ?? []) {
        if (object.Key === undefined) continue;
        const name = object.Key.slice(this.config.prefix.length);
        // Deeper "folders" under our prefix are not ours.
        if (name.includes('/')) continue;
        yield { name, size: object.Size ?? 0, modifiedAt: object.LastModified ?? new Date(0) };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
  }

  async stat(name: string): Promise<StoredObject | undefined> {
    try {
      const head = await this.client.send(
        new HeadObjectCommand({ Bucket: this.config.bucket, Key: this.key(name) }),
      );
      return { name, size: head.ContentLength ?? 0, modifiedAt: head.LastModified ?? new Date(0) };
    } catch (error) {
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (status === 404 || (error as Error).name === 'NotFound' || (error as Error).name === 'NoSuchKey')
        return undefined;
      throw error;
    }
  }

  async delete(name: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.config.bucket, Key: this.key(name) }));
  }
}

function contentType(name: string): string {
  if (name.endsWith('.gz')) return 'application/gzip';
  if (name.endsWith('.json')) return 'application/json';
  return 'application/octet-stream';
}
