/**
 * Backups through the real CLI: round trips for both stores, named backups, refused names, list, verify.
 */
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import {
  createReadStream,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gunzipIntoPsql, seed, snapshot } from '../../helpers/backup-data.js';
import { runCli } from '../../helpers/cli.js';
import { createDatabase, dbEnv, dropDatabase } from '../../helpers/database.js';
import { startS3, testS3Client, type TestS3 } from '../../../scripts/support/s3rver.js';

let source: string;
const restored: string[] = [];
let s3: TestS3;
let client: S3Client;
let dir: string;
let env: Record<string, string>;

beforeAll(async () => {
  source = await createDatabase('cfdb_backup');
  // 400k rows of hex noise: the archive is > 8 MiB, so S3 gets a real multipart upload.
  await seed(source, 400_000);
  s3 = await startS3();
  client = testS3Client(s3.endpoint);
  dir = mkdtempSync(join(tmpdir(), 'cfdb-backups-'));
  env = { ...dbEnv(source), ...s3.env, S3_PREFIX: 'prod/', BACKUP_DIR: dir };
});

afterAll(async () => {
  client?.destroy();
  await s3?.close();
  rmSync(dir, { recursive: true, force: true });
  for (const db of [source, ...restored]) if (db) await dropDatabase(db);
});

async function s3Keys(): Promise<string[]> {
  const page = await client.send(new ListObjectsV2Command({ Bucket: s3.bucket }));
  return (page.Contents ?? []).map((o) => o.Key ?? '').sort();
}

async function s3Object(key: string): Promise<Readable> {
  const response = await client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }));
  return response.Body as Readable;
}

describe('backup', () => {
  let name: string;

  it('one dump feeds both stores; each copy restores with gunzip | psql to identical contents', async () => {
    const result = await runCli(['backup'], env);
    expect(result.stderr).toContain('complete');
    expect(result.code).toBe(0);
    name = result.stdout.trim();
    expect(name).toMatch(new RegExp(`^chatflow_backup_\\d{8}_\\d{6}_${source}$`));

    expect(readdirSync(dir).sort()).toEqual([`${name}.manifest.json`, `${name}.sql.gz`]);
    expect(await s3Keys()).toEqual([`prod/${name}.manifest.json`, `prod/${name}.sql.gz`]);

    const manifest = JSON.parse(readFileSync(join(dir, `${name}.manifest.json`), 'utf8')) as Record<
      string,
      unknown
    >;
    expect(manifest).toMatchObject({
      format: 'chatflow-db-backup/1',
      name,
      database: source,
      automatic: true,
      latestMigration: null,
    });
    expect(manifest.serverVersion).toMatch(/^\d+/);
    expect(manifest.pgDumpVersion).toMatch(/^pg_dump \(PostgreSQL\)/);
    expect(manifest.size).toBeGreaterThan(8 * 1024 * 1024);

    const expected = await snapshot(source);
    const fromLocal = await createDatabase('cfdb_restored');
    restored.push(fromLocal);
    await gunzipIntoPsql(createReadStream(join(dir, `${name}.sql.gz`)), fromLocal);
    expect(await snapshot(fromLocal)).toBe(expected);

    const fromS3 = await createDatabase('cfdb_restored');
    restored.push(fromS3);
    await gunzipIntoPsql(await s3Object(`prod/${name}.sql.gz`), fromS3);
    expect(await snapshot(fromS3)).toBe(expected);
  });

  it('records the latest applied migration when the tracking table exists', async () => {
    const db = await createDatabase('cfdb_backup_mig');
    restored.push(db);
    const { withDb } = await import('../../helpers/database.js');
    await withDb(db, (c) =>
      c.query(`CREATE SCHEMA chatflow_db; CREATE TABLE chatflow_db.schema_migrations (version text PRIMARY KEY, name text NOT NULL);
        INSERT INTO chatflow_db.schema_migrations VALUES ('001', '001_init.sql'), ('002', '002_messages.sql')`),
    );
    const local = mkdtempSync(join(tmpdir(), 'cfdb-backups-'));
    try {
      const result = await runCli(['backup', 'with_migrations'], { ...dbEnv(db), BACKUP_DIR: local });
      expect(result.code).toBe(0);
      const manifest = JSON.parse(
        readFileSync(join(local, 'with_migrations.manifest.json'), 'utf8'),
      ) as Record<string, unknown>;
      expect(manifest).toMatchObject({ latestMigration: '002_messages.sql', automatic: false });
    } finally {
      rmSync(local, { recursive: true, force: true });
    }
  });

  it('a given name is used as is, and a name that exists is refused with exit 2', async () => {
    const named = await runCli(['backup', 'production_backup_20240210'], env);
    expect(named.code).toBe(0);
    expect(existsSync(join(dir, 'production_backup_20240210.sql.gz'))).toBe(true);
    expect(await s3Keys()).toContain('prod/production_backup_20240210.manifest.json');

    const again = await runCli(['backup', 'production_backup_20240210'], env);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('already exists');
  });

  it.each(['../escape', 'a/b', '..', '.', 'x'.repeat(129), 'bad name', 'semi;colon'])(
    'refuses the name %j with exit 2 before anything runs',
    async (bad) => {
      const before = { local: readdirSync(dir).sort(), s3: await s3Keys() };
      // An unreachable database proves nothing ran: the name is checked first.
      const result = await runCli(['backup', bad], { ...env, PGPORT: '1' });
      expect(result.code).toBe(2);
      expect(result.stderr).toContain('Invalid backup name');
      expect({ local: readdirSync(dir).sort(), s3: await s3Keys() }).toEqual(before);
    },
  );

  it('the empty name is refused too', async () => {
    const result = await runCli(['backup', ''], { ...env, PGPORT: '1' });
    expect(result.code).toBe(2);
  });

  it('list shows both stores, newest first, with --json', async () => {
    const json = await runCli(['list', '--json'], env);
    expect(json.code).toBe(0);
    const rows = JSON.parse(json.stdout) as {
      name: string;
      store: string;
      size: number;
      manifest: boolean;
      ageSeconds: number;
    }[];
    expect(rows.map((r) => `${r.name}@${r.store}`)).toEqual(
      [
        'production_backup_20240210@local',
        'production_backup_20240210@s3',
        `${name}@local`,
        `${name}@s3`,
      ].sort((a, b) =>
        a.startsWith('production') === b.startsWith('production') ? 0 : a.startsWith('production') ? -1 : 1,
      ),
    );
    expect(rows.every((r) => r.manifest && r.size > 0 && r.ageSeconds >= 0)).toBe(true);

    const table = await runCli(['list'], env);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/NAME\s+STORE\s+SIZE\s+AGE\s+MANIFEST/);
    expect(table.stdout).toContain(`s3://${s3.bucket}/prod/`);
  });

  it('verify accepts an intact backup and fails (exit 1) on a corrupted one', async () => {
    const ok = await runCli(['verify', name], env);
    expect(ok.code).toBe(0);
    expect(ok.stdout.trim().split('\n')).toHaveLength(2);

    const missing = await runCli(['verify', 'no_such_backup'], env);
    expect(missing.code).toBe(2);

    // Flip one byte in the middle of the local copy.
    const path = join(dir, 'production_backup_20240210.sql.gz');
    const bytes = readFileSync(path);
    const middle = Math.floor(bytes.length / 2);
    bytes[middle] = (bytes[middle] ?? 0) ^ 0xff;
    writeFileSync(path, bytes);
    const bad = await runCli(['verify', 'production_backup_20240210'], env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain(dir);
  });
});
