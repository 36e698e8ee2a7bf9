/**
 * A real S3-protocol server on loopback (s3rver), with its own temporary directory and bucket.
 * Listings page past 1,000 keys like real S3 (see allowS3rverPaging). Used by the tests and the
 * benchmarks alike; development only, not part of the image.
 */
import crypto from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';

export interface TestS3 {
  endpoint: string;
  bucket: string;
  /** Environment that points chatflow-db at this server. */
  env: Record<string, string>;
  close(): Promise<void>;
}

/** An SDK client for checking objects from outside chatflow-db (`endpoint` may be a proxy in front). */
export function testS3Client(endpoint: string): S3Client {
  return new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  });
}

export async function startS3(bucket = 'chatflow-test'): Promise<TestS3> {
  allowS3rverPaging();
  const directory = mkdtempSync(join(tmpdir(), 'cfdb-s3rver-'));
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    configureBuckets: [{ name: bucket, configs: [] }],
  });
  const address: AddressInfo = await server.run();
  const endpoint = `http://127.0.0.1:${address.port}`;
  return {
    endpoint,
    bucket,
    env: {
      S3_BUCKET: bucket,
      S3_ENDPOINT: endpoint,
      S3_FORCE_PATH_STYLE: 'true',
      S3_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
    },
    async close() {
      const closing = server.close();
      // close() waits for every connection: end the idle and the unfinished ones (e.g. of an aborted
      // upload, whose body s3rver would otherwise wait for until its request timeout).
      (server as unknown as { httpServer?: Server }).httpServer?.closeAllConnections();
      await closing;
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

type CipherFactory = (
  algorithm: string,
  key: crypto.CipherKey,
  iv: crypto.BinaryLike | null,
  options?: unknown,
) => crypto.Cipher | crypto.Decipher;

const PATCHED = Symbol.for('chatflow-db.test.s3rver-paging');

/**
 * s3rver 3.7 encrypts ListObjectsV2 continuation tokens with DES, which Node 17+ (OpenSSL 3) has only
 * with --openssl-legacy-provider: without it, every listing longer than one page (1,000 keys) fails
 * with InternalError. s3rver runs in this process, so this swaps its DES for AES-128-CBC (key and
 * 8-byte IV doubled to 16 bytes; s3rver's token framing is unchanged). Tokens are opaque to clients,
 * and only s3rver asks for 'des' here. Done once per process, in-process rather than in a child with
 * the legacy provider: no extra process, port handshake or OpenSSL build dependency.
 */
function allowS3rverPaging(): void {
  const target = crypto as unknown as {
    [PATCHED]?: true;
    createCipheriv: CipherFactory;
    createDecipheriv: CipherFactory;
  };
  if (target[PATCHED]) return;
  target[PATCHED] = true;
  const double = (bytes: crypto.BinaryLike | crypto.CipherKey | null): Buffer => {
    const buffer = Buffer.from(bytes as Buffer);
    return Buffer.concat([buffer, buffer]);
  };
  for (const name of ['createCipheriv', 'createDecipheriv'] as const) {
    const original = target[name].bind(crypto);
    target[name] = (algorithm, key, iv, options) =>
      algorithm === 'des'
        ? original('aes-128-cbc', double(key), double(iv))
        : original(algorithm, key, iv, options);
  }
}
