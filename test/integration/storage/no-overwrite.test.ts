/**
 * A store never replaces an object: `put` creates its name only if it is free, at the last step, on the
 * local directory (link) and on S3 (If-None-Match: * on the completion, plus the HEAD before and the ETag
 * check after it, for stores that ignore the header). A put that loses leaves the other object as it is.
 */
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LocalStorage } from '../../../src/storage/local.js';
import { S3Storage } from '../../../src/storage/s3.js';
import { startS3, testS3Client, type TestS3 } from '../../../scripts/support/s3rver.js';
import { startS3Proxy, type RecordedRequest, type S3Proxy } from '../../helpers/s3proxy.js';

const MiB = 1024 * 1024;
/** Larger than one part: a multipart upload (CreateMultipartUpload, UploadPart, Complete). */
const LARGE = 6 * MiB;
const PREFIX = 'store-test/';

let dir: string;
let s3: TestS3;
let proxy: S3Proxy;
let client: S3Client;
let store: S3Storage;
let counter = 0;

const body = (text: string, size = text.length): Readable =>
  Readable.from([Buffer.alloc(size, text)], { objectMode: false });
const fresh = (what: string): string => `${what}_${++counter}.sql.gz`;

async function s3Text(name: string): Promise<string> {
  const response = await client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: `${PREFIX}${name}` }));
  return (await response.Body?.transformToString()) ?? '';
}
/** Another writer stores `name` directly in s3rver (not through the proxy, so nothing is recorded). */
async function otherWrites(name: string, text: string): Promise<void> {
  await client.send(
    new PutObjectCommand({ Bucket: s3.bucket, Key: `${PREFIX}${name}`, Body: Buffer.from(text) }),
  );
}
const isCompletion = (r: RecordedRequest): boolean =>
  (r.method === 'PUT' && !r.url.includes('partNumber=')) ||
  (r.method === 'POST' && r.url.includes('uploadId='));

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cfdb-store-'));
  s3 = await startS3();
  proxy = await startS3Proxy(s3.endpoint);
  client = testS3Client(s3.endpoint);
  store = new S3Storage({
    bucket: s3.bucket,
    prefix: PREFIX,
    endpoint: proxy.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  });
});

beforeEach(() => {
  proxy.requests.length = 0;
  proxy.before = () => Promise.resolve();
  proxy.honourIfNoneMatch = false;
});

afterAll(async () => {
  store?.close();
  client?.destroy();
  await proxy?.close();
  await s3?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('local directory', () => {
  it('refuses to replace an existing file and leaves it as it was', async () => {
    const local = new LocalStorage(dir);
    const name = fresh('existing');
    writeFileSync(join(dir, name), 'theirs');
    await expect(local.put(name, body('ours'))).rejects.toThrow(/already exists/);
    expect(readFileSync(join(dir, name), 'utf8')).toBe('theirs');
    // No temporary file is left behind.
    expect(readdirSync(dir).filter((f) => f.includes(name))).toEqual([name]);
  });

  it('of two concurrent writes of one name, one wins and the other fails: nothing is replaced', async () => {
    const local = new LocalStorage(dir);
    const name = fresh('race');
    const outcomes = await Promise.allSettled([
      local.put(name, body('a', 3 * MiB)),
      local.put(name, body('b', 3 * MiB)),
    ]);
    const won = outcomes.flatMap((o, i) => (o.status === 'fulfilled' ? ['ab'[i]] : []));
    expect(won).toHaveLength(1);
    const lost = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
    expect(String(lost?.reason)).toMatch(/already exists/);
    expect(readFileSync(join(dir, name), 'latin1')).toBe((won[0] ?? '').repeat(3 * MiB));
    expect(readdirSync(dir).filter((f) => f.includes(name))).toEqual([name]);
  });
});

describe('S3', () => {
  it('sends If-None-Match: * on PutObject and on CompleteMultipartUpload', async () => {
    await store.put(fresh('small'), body('s', 1000));
    await store.put(fresh('large'), body('l', LARGE));
    const completions = proxy.requests.filter(isCompletion);
    expect(completions.map((r) => r.method)).toEqual(['PUT', 'POST']);
    for (const r of completions) expect(r.headers['if-none-match']).toBe('*');
  });

  it.each([
    ['one PutObject', 1000],
    ['a multipart upload', LARGE],
  ])(
    'refuses an existing key, %s (store ignores If-None-Match: the HEAD before completion)',
    async (_, size) => {
      const name = fresh('existing');
      await otherWrites(name, 'theirs');
      await expect(store.put(name, body('o', size))).rejects.toThrow(/already exists/);
      expect(await s3Text(name)).toBe('theirs');
      const created = proxy.requests.filter((r) => r.method === 'POST' && /\?uploads/.test(r.url)).length;
      expect(new Set(proxy.abortedUploads()).size).toBe(created);
    },
  );

  it.each([
    ['one PutObject', 1000],
    ['a multipart upload', LARGE],
  ])(
    'a store that honours If-None-Match answers 412 when another run completed first, %s: reported, theirs kept',
    async (_, size) => {
      proxy.honourIfNoneMatch = true;
      const name = fresh('honoured');
      // The other run completes after our HEAD, just before our completion reaches the store.
      proxy.before = async (r) => {
        if (isCompletion(r)) await otherWrites(name, 'theirs');
      };
      await expect(store.put(name, body('o', size))).rejects.toThrow(/already exists/);
      expect(await s3Text(name)).toBe('theirs');
      const created = proxy.requests.filter((r) => r.method === 'POST' && /\?uploads/.test(r.url)).length;
      expect(new Set(proxy.abortedUploads()).size).toBe(created);
    },
  );

  it.each([
    ['one PutObject', 1000],
    ['a multipart upload', LARGE],
  ])(
    'a store that ignores If-None-Match: another write of the key right after ours is detected, %s',
    async (_, size) => {
      const name = fresh('ignored');
      // The other run's write lands after our completion, before our check of what the key holds.
      let completed = false;
      proxy.before = async (r) => {
        if (isCompletion(r)) completed = true;
        else if (completed && r.method === 'HEAD') await otherWrites(name, 'theirs');
      };
      await expect(store.put(name, body('o', size))).rejects.toThrow(/another run|already exists/);
      // What the key holds now is not ours: it is not deleted.
      expect(await s3Text(name)).toBe('theirs');
    },
  );
});
