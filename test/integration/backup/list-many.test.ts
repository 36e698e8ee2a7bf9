/**
 * Listing beyond one ListObjectsV2 page (1,000 keys): every backup is found, foreign keys are not, and
 * the newest complete backup is the newest one with a manifest.
 */
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findLatestBackup, listBackups } from '../../../src/backup/listing.js';
import { sleep } from '../../../src/lib/clock.js';
import { loadConfig } from '../../../src/config/load.js';
import { runCli } from '../../helpers/cli.js';
import { startS3, testS3Client, type TestS3 } from '../../../scripts/support/s3rver.js';

let s3: TestS3;
let client: S3Client;
let env: Record<string, string>;
const COUNT = 600; // 1,200 objects + strangers

async function put(key: string, body = 'x'): Promise<void> {
  await client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: body }));
}

/** `latest` reads manifests: the database they name and when they were made (never the object times). */
const manifestOf = (name: string, createdAt: Date): string =>
  JSON.stringify({
    format: 'chatflow-db-backup/1',
    name,
    archive: `${name}.sql.gz`,
    sha256: '0'.repeat(64),
    size: 1,
    createdAt: createdAt.toISOString(),
    database: 'chatflow',
    automatic: true,
  });

const nameAt = (i: number): string =>
  `chatflow_backup_2024${String(1 + (Math.floor(i / 28) % 12)).padStart(2, '0')}${String(1 + (i % 28)).padStart(2, '0')}_${String(i).padStart(6, '0')}`;

beforeAll(async () => {
  s3 = await startS3();
  client = testS3Client(s3.endpoint);
  env = { ...s3.env, S3_PREFIX: 'team/', PGDATABASE: 'chatflow' };
  const keys: string[] = [];
  const manifests = new Map<string, string>();
  for (let i = 0; i < COUNT; i++) {
    keys.push(`team/${nameAt(i)}.sql.gz`, `team/${nameAt(i)}.manifest.json`);
    manifests.set(
      `team/${nameAt(i)}.manifest.json`,
      manifestOf(nameAt(i), new Date(Date.UTC(2024, 0, 1, 0, 0, i))),
    );
  }
  keys.push(
    'other/chatflow_backup_20991231_235959.sql.gz',
    'team/sub/nested.sql.gz',
    'team/notes.txt',
    'teamless.sql.gz',
  );
  for (let i = 0; i < keys.length; i += 50)
    await Promise.all(keys.slice(i, i + 50).map((k) => put(k, manifests.get(k))));
  // Later than all of the above: the newest complete one, then a newer incomplete one.
  await sleep(1100);
  await put('team/chatflow_backup_20991231_000000.sql.gz');
  await put(
    'team/chatflow_backup_20991231_000000.manifest.json',
    manifestOf('chatflow_backup_20991231_000000', new Date(Date.UTC(2099, 11, 31))),
  );
  await sleep(1100);
  await put('team/chatflow_backup_20991231_000001.sql.gz');
}, 300_000);

afterAll(async () => {
  client?.destroy();
  await s3?.close();
});

describe('list with more than 1,000 objects', () => {
  it('listBackups pages through everything under the prefix only', async () => {
    const config = loadConfig(env);
    const entries = await listBackups(config);
    expect(entries).toHaveLength(COUNT + 2);
    expect(new Set(entries.map((e) => e.name)).size).toBe(COUNT + 2);
    expect(entries[0]).toMatchObject({
      name: 'chatflow_backup_20991231_000001',
      complete: false,
      store: 's3',
    });
    expect(entries.filter((e) => !e.complete).map((e) => e.name)).toEqual([
      'chatflow_backup_20991231_000001',
    ]);
    expect(entries.some((e) => e.name.includes('nested') || e.name === 'teamless')).toBe(false);
  });

  it('findLatestBackup is the newest complete backup of the database', async () => {
    const latest = await findLatestBackup(loadConfig(env));
    expect(latest?.name).toBe('chatflow_backup_20991231_000000');
  });

  it('the CLI lists them all as JSON', async () => {
    const result = await runCli(['list', '--json'], env);
    expect(result.code).toBe(0);
    const rows = JSON.parse(result.stdout) as { name: string; manifest: boolean }[];
    expect(rows).toHaveLength(COUNT + 2);
    expect(rows[0]).toMatchObject({ name: 'chatflow_backup_20991231_000001', manifest: false });
  });
});
