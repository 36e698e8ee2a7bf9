/**
 * `chatflow-db restore` from S3 (s3rver on loopback): a round trip of a real `chatflow-db backup`, and
 * `latest` found past the first page of a listing (> 1,000 objects), skipping a newer incomplete archive.
 */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Client } from '../../../src/storage/s3.js';
import { runCli } from '../../helpers/cli.js';
import { adminQuery, dbEnv, uniqueName } from '../../helpers/database.js';
import { startS3, type TestS3 } from '../../../scripts/support/s3rver.js';
import { databasesStartingWith, dropDatabasesStartingWith, manifestFor, seed, snapshot } from './support.js';

const prefix = uniqueName('cfdb_rs3');
const source = `${prefix}_src`;
let s3: TestS3;
let sourceSnapshot: Record<string, string>;

beforeAll(async () => {
  s3 = await startS3();
  await adminQuery(`CREATE DATABASE "${source}"`);
  await seed(source);
  sourceSnapshot = await snapshot(source);

  // 1,100 older complete backups (550 archive + manifest pairs) whose keys sort before the real one,
  // so that a listing that stops at the first page of 1,000 keys never sees it.
  const client = createS3Client({
    bucket: s3.bucket,
    prefix: '',
    endpoint: s3.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  });
  const filler = gzipSync('-- not a real dump\n');
  const keys: [string, Buffer | string][] = [];
  for (let i = 0; i < 550; i++) {
    const name = `aaa_filler_${String(i).padStart(4, '0')}`;
    keys.push([`${name}.sql.gz`, filler], [`${name}.manifest.json`, manifestFor(name, filler, source)]);
  }
  for (let i = 0; i < keys.length; i += 50) {
    await Promise.all(
      keys
        .slice(i, i + 50)
        .map(([Key, Body]) => client.send(new PutObjectCommand({ Bucket: s3.bucket, Key, Body }))),
    );
  }
  // Listing times have one-second resolution: the real backup must be strictly newer.
  await new Promise((resolve) => setTimeout(resolve, 1100));
  const backup = await runCli(['backup', 'zz_real'], { ...dbEnv(source), ...s3.env });
  expect(backup.code, backup.stderr).toBe(0);
  await new Promise((resolve) => setTimeout(resolve, 1100));
  // Newer still, but without a manifest: an unfinished backup that `latest` must skip.
  await client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: 'zzz_unfinished.sql.gz', Body: filler }));
  client.destroy();
}, 180_000);

afterAll(async () => {
  await dropDatabasesStartingWith(prefix);
  await s3?.close();
});

describe('restore (S3)', () => {
  it('restores `latest` from S3 across more than 1,000 objects', async () => {
    const target = `${prefix}_a`;
    await adminQuery(`CREATE DATABASE "${target}"`);
    // `latest` of the source database's backups (the target has none of its own).
    const result = await runCli(['restore', 'latest', '--source-db', source, '--no-migrate'], {
      ...dbEnv(target),
      ...s3.env,
      BACKUP_PROGRESS_INTERVAL: '1',
    });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('restored zz_real');
    expect(await snapshot(target)).toEqual(sourceSnapshot);
    expect(
      (await databasesStartingWith(`${target}_`)).filter((n) => n.includes('_before_restore_')),
    ).toHaveLength(1);
  });

  it('reads from the store --from names, with both stores configured', async () => {
    const target = `${prefix}_b`;
    const dir = mkdtempSync(join(tmpdir(), 'cfdb-restore-s3-'));
    try {
      const env = { ...dbEnv(target), ...s3.env, BACKUP_DIR: dir };
      const local = await runCli(['restore', 'zz_real', '--from', 'local', '--no-migrate'], env);
      expect(local.code).toBe(2);
      const result = await runCli(['restore', 'zz_real', '--from', 's3', '--no-migrate'], env);
      expect(result.code, result.stderr).toBe(0);
      expect(await snapshot(target)).toEqual(sourceSnapshot);
      expect(await databasesStartingWith(`${target}_`)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
