/**
 * S3-compatible storage (AWS S3, MinIO, R2, B2, Ceph, s3rver). Objects are `<S3_PREFIX><name>`.
 *
 * - Checksums only WHEN_REQUIRED: since SDK 3.729 the default adds CRC32 checksums/trailers that several
 *   S3-compatible services reject. Integrity is ours anyway: the manifest's sha256.
 * - put() streams through its own multipart upload (CreateMultipartUpload, UploadPart, Complete; a single
 *   PutObject when the body is smaller than one part). Parts are copied into a few buffers allocated once and
 *   reused, with two part requests in flight while the next part fills: memory is 3 x partSize, flat,
 *   whatever the dump's size. S3 allows at most 10,000 parts, but the compressed size is unknown upfront, so the caller passes an
 *   estimate (put's expectedBytes) (the database size: a gzipped plain dump is practically always smaller than
 *   pg_database_size, which counts indexes and free space) and the part size is
 *   max(5 MiB, estimate / 9,000), leaving 10 % headroom. A 1 TB database gets ~117 MiB parts. If a dump
 *   ever needed more than 10,000 parts, put() fails and aborts the upload: an error, never a false success.
 * - On any failure (the body stream errors, the signal aborts, a request fails) the multipart upload is
 *   aborted before put() rejects, so no parts are left behind and nothing is visible under the key.
 * - Never replaces an object. The completion (PutObject, CompleteMultipartUpload) carries
 *   `If-None-Match: *`: AWS S3 (since 2024), MinIO, R2 and others then refuse it with 412 if the key exists
 *   (or 409 while another conditional write of it runs), atomically. For stores that ignore the header,
 *   a HEAD right before the completion refuses a key that exists, and a HEAD right after it checks that the
 *   key holds our object (its ETag is the one our completion returned); if not, another run wrote the
 *   same key at the same moment and put() fails (ObjectExistsError) without deleting anything. On such a
 *   store two completions of one key within a round trip of each other can still replace one another;
 *   the checks make that loss reported rather than silent in all but the tightest interleaving.
 */
import {
  AbortMultipartUploadCommand,
  HeadBucketCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  type CompletedPart,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { Readable } from 'node:stream';
import type { S3Config } from '../config/load.js';
import { explainS3Error, missingBucket } from './s3-errors.js';
import { ObjectExistsError, type PutOptions, type Storage, type StoredObject } from './storage.js';

/** S3's smallest part (all but the last); the memory of an upload is (PARTS_IN_FLIGHT + 1) parts. */
export const MIN_PART_SIZE = 5 * 1024 * 1024;
const MAX_PARTS = 10_000;
/** Part requests in flight while the next part fills: keeps the connection busy across request latency. */
const PARTS_IN_FLIGHT = 2;
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
  constructor(
    private readonly config: S3Config,
    readonly client: S3Client = createS3Client(config),
  ) {
    this.location = `s3://${config.bucket}/${config.prefix}`;
  }

  /**
   * Every request goes through here: a failure that concerns the store as a whole (unreachable, no such
   * bucket, credentials refused) becomes the one clear StoreUnavailableError of s3-errors.ts.
   */
  private async call<T>(request: Promise<T>): Promise<T> {
    try {
      return await request;
    } catch (error) {
      throw explainS3Error(error, this.config);
    }
  }

  /**
   * A HEAD of a missing key and of a key in a missing bucket both answer a bare 404. Before a key is
   * reported missing, the bucket is checked once (HeadBucket), so a wrong S3_BUCKET is never reported as
   * a missing backup.
   */
  private bucketChecked = false;
  private async checkBucket(): Promise<void> {
    if (this.bucketChecked) return;
    try {
      await this.call(this.client.send(new HeadBucketCommand({ Bucket: this.config.bucket })));
    } catch (error) {
      const status = httpStatus(error);
      if (status === 404 || (error as Error).name === 'NotFound') throw missingBucket(this.config); // a bare 404 says no more than that
      throw error;
    }
    this.bucketChecked = true;
  }

  private key(name: string): string {
    return `${this.config.prefix}${name}`;
  }

  async put(name: string, body: Readable, options: PutOptions = {}): Promise<{ size: number }> {
    const { signal } = options;
    const Bucket = this.config.bucket;
    const Key = this.key(name);
    const ContentType = contentType(name);
    const partSize = partSizeFor(options.expectedBytes);
    // Aborts the requests in flight when the upload fails.
    const requests = new AbortController();
    const sendOptions = { abortSignal: requests.signal };
    // Part buffers: allocated once, filled by copying, reused when their request is done. No concatenation
    // and no dead part waiting for V8 to collect it: memory is (PARTS_IN_FLIGHT + 1) x partSize, flat.
    const spare: Buffer[] = [];
    let filling: Buffer | undefined;
    let filled = 0;
    let size = 0;
    let uploadId: string | undefined;
    let partNumber = 0;
    const done: CompletedPart[] = [];
    const inFlight: Promise<void>[] = [];

    const sendPart = async (): Promise<void> => {
      if (partNumber >= MAX_PARTS)
        throw new Error(
          `${Key} needs more than ${MAX_PARTS} parts of ${partSize / 2 ** 20} MiB; ` +
            'the part size is chosen from the database size, which this dump exceeded',
        );
      if (uploadId === undefined) {
        const created = await this.call(
          this.client.send(new CreateMultipartUploadCommand({ Bucket, Key, ContentType }), sendOptions),
        );
        if (created.UploadId === undefined) throw new Error(`s3://${Bucket}/${Key}: no upload id`);
        uploadId = created.UploadId;
      }
      const buffer = filling as Buffer;
      const part = { PartNumber: ++partNumber, UploadId: uploadId, length: filled };
      filling = undefined;
      filled = 0;
      const request = this.call(
        this.client.send(
          new UploadPartCommand({
            Bucket,
            Key,
            UploadId: part.UploadId,
            PartNumber: part.PartNumber,
            Body: buffer.subarray(0, part.length),
            ContentLength: part.length,
          }),
          sendOptions,
        ),
      ).then((response) => {
        done.push({ PartNumber: part.PartNumber, ETag: response.ETag });
        spare.push(buffer);
      });
      // A failed part stops the upload at once: the body errors, the loop below throws.
      request.catch((error: unknown) => {
        if (!body.destroyed) body.destroy(error instanceof Error ? error : new Error(String(error)));
      });
      inFlight.push(request);
      while (inFlight.length > PARTS_IN_FLIGHT) await inFlight.shift();
    };

    const onAbort = (): void => {
      body.destroy(signal?.reason instanceof Error ? signal.reason : new Error('upload aborted'));
    };
    if (signal?.aborted) onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      for await (const received of body as AsyncIterable<Buffer | Uint8Array | string>) {
        const chunk = Buffer.isBuffer(received) ? received : Buffer.from(received);
        let offset = 0;
        while (offset < chunk.length) {
          filling ??= spare.pop() ?? Buffer.allocUnsafe(partSize);
          const copied = chunk.copy(filling, filled, offset);
          offset += copied;
          filled += copied;
          size += copied;
          if (filled === partSize) await sendPart();
        }
      }
      if (uploadId === undefined) {
        // Smaller than one part (a manifest, a small dump): one PutObject.
        await this.refuseExisting(name);
        const put = await this.createIfAbsent(name, () =>
          this.call(
            this.client.send(
              new PutObjectCommand({
                Bucket,
                Key,
                ContentType,
                Body: filling?.subarray(0, filled) ?? Buffer.alloc(0),
                ContentLength: filled,
                IfNoneMatch: '*',
              }),
              sendOptions,
            ),
          ),
        );
        await this.checkOurs(name, put.ETag);
        return { size };
      }
      if (filled > 0) await sendPart();
      await Promise.all(inFlight);
      done.sort((a, b) => (a.PartNumber ?? 0) - (b.PartNumber ?? 0));
      await this.refuseExisting(name);
      const completed = await this.createIfAbsent(name, () =>
        this.call(
          this.client.send(
            new CompleteMultipartUploadCommand({
              Bucket,
              Key,
              UploadId: uploadId,
              MultipartUpload: { Parts: done },
              IfNoneMatch: '*',
            }),
            sendOptions,
          ),
        ),
      );
      // From here on the upload is complete: a failed check below must not try to abort it.
      uploadId = undefined;
      await this.checkOurs(name, completed.ETag);
      return { size };
    } catch (error) {
      requests.abort();
      await Promise.allSettled(inFlight);
      // Nothing may outlive a failed backup: the multipart upload is aborted and waited for.
      if (uploadId !== undefined) {
        await this.client
          .send(new AbortMultipartUploadCommand({ Bucket, Key, UploadId: uploadId }))
          .catch(() => undefined);
      }
      if (!body.destroyed) body.destroy();
      throw error;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  async get(name: string): Promise<Readable> {
    const response = await this.call(
      this.client.send(new GetObjectCommand({ Bucket: this.config.bucket, Key: this.key(name) })),
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
      const page = await this.call(
        this.client.send(
          // Delimiter "/": keys in deeper "folders" under the prefix are not ours and are not walked.
          new ListObjectsV2Command({
            Bucket: this.config.bucket,
            Prefix: prefix,
            Delimiter: '/',
            ContinuationToken: token,
          }),
        ),
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
    const head = await this.head(name);
    return head && { name, size: head.size, modifiedAt: head.modifiedAt };
  }

  private async head(name: string): Promise<(StoredObject & { etag: string | undefined }) | undefined> {
    try {
      const head = await this.call(
        this.client.send(new HeadObjectCommand({ Bucket: this.config.bucket, Key: this.key(name) })),
      );
      return {
        name,
        size: head.ContentLength ?? 0,
        modifiedAt: head.LastModified ?? new Date(0),
        etag: head.ETag,
      };
    } catch (error) {
      const status = httpStatus(error);
      if (status === 404 || (error as Error).name === 'NotFound' || (error as Error).name === 'NoSuchKey') {
        await this.checkBucket();
        return undefined;
      }
      throw error;
    }
  }

  /** The fallback for stores that ignore If-None-Match: a key that exists right before completion. */
  private async refuseExisting(name: string): Promise<void> {
    if ((await this.head(name)) !== undefined) throw new ObjectExistsError(name, this.location);
  }

  /** Runs a completion sent with If-None-Match: *; the store's refusal becomes ObjectExistsError. */
  private async createIfAbsent<T>(name: string, complete: () => Promise<T>): Promise<T> {
    try {
      return await complete();
    } catch (error) {
      const status = httpStatus(error);
      const code = (error as Error).name;
      if (status === 412 || code === 'PreconditionFailed')
        throw new ObjectExistsError(name, this.location, undefined, { cause: error });
      if (status === 409 && code === 'ConditionalRequestConflict')
        throw new ObjectExistsError(name, this.location, 'is being written by another run', {
          cause: error,
        });
      throw error;
    }
  }

  /**
   * The fallback's second half: right after our completion, the key must hold our object (the ETag our
   * completion returned). Otherwise the store ignored If-None-Match and another run wrote the same key at
   * the same moment: reported, and what the key holds is left alone (it may be the other run's).
   */
  private async checkOurs(name: string, etag: string | undefined): Promise<void> {
    const head = await this.head(name);
    if (head === undefined)
      throw new ObjectExistsError(name, this.location, 'disappeared right after it was written');
    if (etag !== undefined && head.etag !== undefined && unquote(etag) !== unquote(head.etag))
      throw new ObjectExistsError(
        name,
        this.location,
        'was written by another run at the same moment (this store ignores If-None-Match); it was left as it is',
      );
  }

  async delete(name: string): Promise<void> {
    await this.call(
      this.client.send(new DeleteObjectCommand({ Bucket: this.config.bucket, Key: this.key(name) })),
    );
  }

  close(): void {
    this.client.destroy();
  }
}

function httpStatus(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}

const unquote = (etag: string): string => etag.replace(/^W\//, '').replace(/"/g, '');

function contentType(name: string): string {
  if (name.endsWith('.gz')) return 'application/gzip';
  if (name.endsWith('.json')) return 'application/json';
  return 'application/octet-stream';
}
