/**
 * `prune` on both stores: only complete automatic backups of this database are candidates; named
 * backups, other databases, archives without a manifest and foreign files survive; --dry-run deletes nothing.
 */
import { ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultBackupName } from '../../../src/backup/names.js';
import { runCli } from '../../helpers/cli.js';
import { startS3, testS3Client, type TestS3 } from '../../../scripts/support/s3rver.js';
import { startS3Proxy, type S3Proxy } from '../../helpers/s3proxy.js';

let s3: TestS3;
let proxy: S3Proxy;
let client: S3Client;
let dir: string;
let env: Record<string, string>;
const DB = 'chatflow_prune_test';
const DAY = 86_400_000;

const automatic = Array.from({ length: 5 }, (_, i) => new Date(Date.now() - (i + 1) * DAY)).map((d) => ({
  name: defaultBackupName(d, 'UTC'),
  createdAt: d,
  automatic: true,
  database: DB,
}));
const named = {
  name: 'before_big_migration',
  createdAt: new Date(Date.now() - 30 * DAY),
  automatic: false,
  database: DB,
};
const otherDb = {
  name: defaultBackupName(new Date(Date.now() - 40 * DAY), 'UTC'),
  createdAt: new Date(Date.now() - 40 * DAY),
  automatic: true,
  database: 'other',
};
const noManifest = defaultBackupName(new Date(Date.now() - 50 * DAY), 'UTC');

function manifest(b: typeof named): string {
  return JSON.stringify({
    format: 'chatflow-db-backup/1',
    name: b.name,
    archive: `${b.name}.sql.gz`,
    sha256: '0'.repeat(64),
    size: 1,
    createdAt: b.createdAt.toISOString(),
    database: b.database,
    serverVersion: '15',
    pgDumpVersion: 'pg_dump (PostgreSQL) 15',
    latestMigration: null,
    durationMs: 1,
    automatic: b.automatic,
  });
}

async function s3Names(): Promise<string[]> {
  const page = await client.send(new ListObjectsV2Command({ Bucket: s3.bucket }));
  return (page.Contents ?? []).map((o) => (o.Key ?? '').replace(/^nightly\//, '')).sort();
}

beforeAll(async () => {
  s3 = await startS3();
  client = testS3Client(s3.endpoint);
  dir = mkdtempSync(join(tmpdir(), 'cfdb-prune-'));
  const files: [string, string][] = [];
  for (const b of [...automatic, named, otherDb])
    files.push([`${b.name}.sql.gz`, 'gz'], [`${b.name}.manifest.json`, manifest(b)]);
  files.push([`${noManifest}.sql.gz`, 'old script'], ['notes.txt', 'hello']);
  for (const [name, body] of files) {
    writeFileSync(join(dir, name), body);
    await client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: `nightly/${name}`, Body: body }));
  }
  await client.send(
    new PutObjectCommand({ Bucket: s3.bucket, Key: `elsewhere/${automatic[4]!.name}.sql.gz`, Body: 'x' }),
  );
  proxy = await startS3Proxy(s3.endpoint);
  env = {
    ...s3.env,
    S3_ENDPOINT: proxy.endpoint,
    S3_PREFIX: 'nightly/',
    BACKUP_DIR: dir,
    PGDATABASE: DB,
    BACKUP_KEEP_LAST: '2',
    BACKUP_KEEP_DAYS: '0',
    BACKUP_KEEP_DAILY: '0',
    BACKUP_KEEP_WEEKLY: '0',
    BACKUP_KEEP_MONTHLY: '0',
  };
});

afterAll(async () => {
  client?.destroy();
  await proxy?.close();
  await s3?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('prune', () => {
  const doomed = automatic.slice(2).map((b) => b.name);

  it('--dry-run says what it would delete and deletes nothing', async () => {
    const before = { local: readdirSync(dir).sort(), s3: await s3Names() };
    const result = await runCli(['prune', '--dry-run'], env);
    expect(result.code).toBe(0);
    for (const name of doomed) expect(result.stdout).toContain(`would delete  ${name}`);
    // One line per backup and store, then one summary per store.
    expect(result.stdout.trim().split('\n')).toHaveLength(doomed.length * 2 + 2);
    expect(result.stdout).toMatch(new RegExp(`: would delete ${doomed.length} backups, keep \\d+`));
    expect({ local: readdirSync(dir).sort(), s3: await s3Names() }).toEqual(before);
  });

  it('deletes only old automatic backups of this database, in both stores', async () => {
    const result = await runCli(['prune'], env);
    expect(result.code).toBe(0);
    const survivors = [
      ...automatic.slice(0, 2).flatMap((b) => [`${b.name}.manifest.json`, `${b.name}.sql.gz`]),
      `${named.name}.manifest.json`,
      `${named.name}.sql.gz`,
      `${otherDb.name}.manifest.json`,
      `${otherDb.name}.sql.gz`,
      `${noManifest}.sql.gz`,
      'notes.txt',
    ].sort();
    expect(readdirSync(dir).sort()).toEqual(survivors);
    expect(await s3Names()).toEqual([...survivors, `elsewhere/${automatic[4]!.name}.sql.gz`].sort());
  });

  it('lists only default-named keys under the prefix, never the bucket', () => {
    const lists = proxy.requests.filter((r) => r.method === 'GET' && r.url.includes('list-type=2'));
    expect(lists.length).toBeGreaterThan(0);
    for (const r of lists)
      expect(new URL(r.url, 'http://x').searchParams.get('prefix')).toBe('nightly/chatflow_backup_');
  });

  it('running it again deletes nothing more', async () => {
    const result = await runCli(['prune'], env);
    expect(result.code).toBe(0);
    // Only the summaries: nothing deleted in either store.
    const lines = result.stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    for (const line of lines) expect(line).toMatch(/: deleted 0 backups, keep \d+$/);
  });
});
