/**
 * `latest` is the newest complete backup OF THE DATABASE BEING RESTORED (its manifest's `database`;
 * `--source-db` names another), by the manifest's creation time, never by object times: in a store that
 * two databases share, and after a copy that gave old backups new mtimes / LastModified. A named restore
 * prefers the copy that has a manifest; `verify` fails, naming the store, when a configured store lacks it.
 */
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../helpers/cli.js';
import { adminQuery, dbEnv, uniqueName, withDb } from '../../helpers/database.js';
import { startS3, testS3Client, type TestS3 } from '../../../scripts/support/s3rver.js';
import { dropDatabasesStartingWith, dumpSql, manifestFor } from './support.js';

const prefix = uniqueName('cfdb_rlt');
const dbA = `${prefix}_a`;
const dbB = `${prefix}_b`;
const source = `${prefix}_src`;
const dir = mkdtempSync(join(tmpdir(), 'cfdb-restore-latest-'));
let s3: TestS3;
let s3client: S3Client;

/** An archive whose restored database has `marker(v)` = `marker`, with a manifest for `database` made at `createdAt`. */
async function archive(marker: string): Promise<Buffer> {
  await withDb(source, async (c) => {
    await c.query('DELETE FROM marker');
    await c.query('INSERT INTO marker VALUES ($1)', [marker]);
  });
  return gzipSync(dumpSql(source));
}

function manifest(name: string, gz: Buffer, database: string, createdAt: string): string {
  const value = JSON.parse(manifestFor(name, gz, database)) as Record<string, unknown>;
  return JSON.stringify({ ...value, createdAt });
}

/** Writes a local backup and sets both files' mtime to `mtime`. */
function local(
  name: string,
  gz: Buffer,
  database: string,
  createdAt: string,
  mtime: Date,
  withManifest = true,
) {
  writeFileSync(join(dir, `${name}.sql.gz`), gz);
  utimesSync(join(dir, `${name}.sql.gz`), mtime, mtime);
  if (withManifest) {
    writeFileSync(join(dir, `${name}.manifest.json`), manifest(name, gz, database, createdAt));
    utimesSync(join(dir, `${name}.manifest.json`), mtime, mtime);
  }
}

async function upload(name: string, gz: Buffer, database: string, createdAt: string, withManifest = true) {
  await s3client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: `${name}.sql.gz`, Body: gz }));
  if (withManifest) {
    await s3client.send(
      new PutObjectCommand({
        Bucket: s3.bucket,
        Key: `${name}.manifest.json`,
        Body: manifest(name, gz, database, createdAt),
      }),
    );
  }
}

async function markerOf(database: string): Promise<string | undefined> {
  return withDb(database, async (c) => (await c.query<{ v: string }>('SELECT v FROM marker')).rows[0]?.v);
}

const localEnv = (target: string) => ({ ...dbEnv(target), BACKUP_DIR: dir });
const bothEnv = (target: string) => ({ ...dbEnv(target), BACKUP_DIR: dir, ...s3.env });

beforeAll(async () => {
  s3 = await startS3();
  s3client = testS3Client(s3.endpoint);
  await adminQuery(`CREATE DATABASE "${source}"`);
  await withDb(source, (c) => c.query('CREATE TABLE marker (v text)'));
  const now = Date.now();
  // A store shared by two databases. By mtime, the newest is B's, then an old backup of A that a copy
  // touched last; by the manifests, A's newest is a_new.
  local('a_old', await archive('a_old'), dbA, '2026-01-01T00:00:00.000Z', new Date(now));
  local('a_new', await archive('a_new'), dbA, '2026-06-01T00:00:00.000Z', new Date(now - 86_400_000 * 300));
  local('b_newest', await archive('b_newest'), dbB, '2026-12-01T00:00:00.000Z', new Date(now + 60_000));
  // A newer archive of A without a manifest (unfinished): never latest.
  local('a_unfinished', await archive('a_unfinished'), dbA, '', new Date(now + 120_000), false);
  // The same name in both stores: the local copy has no manifest, the S3 copy has one.
  local('dup', await archive('dup_local_no_manifest'), dbA, '', new Date(now - 86_400_000 * 400), false);
  await upload('dup', await archive('dup_s3_with_manifest'), dbA, '2025-01-01T00:00:00.000Z');
  // Only in the local store.
  local(
    'only_local',
    await archive('only_local'),
    dbA,
    '2025-02-01T00:00:00.000Z',
    new Date(now - 86_400_000 * 500),
  );
  // S3: the newer backup by manifest is uploaded first, so its LastModified is the older one.
  await upload('s3_new', await archive('s3_new'), `${prefix}_s3`, '2026-03-01T00:00:00.000Z');
  await new Promise((resolve) => setTimeout(resolve, 1100));
  await upload('s3_old', await archive('s3_old'), `${prefix}_s3`, '2026-02-01T00:00:00.000Z');
}, 120_000);

afterAll(async () => {
  s3client?.destroy();
  await s3?.close();
  await dropDatabasesStartingWith(prefix);
  rmSync(dir, { recursive: true, force: true });
});

describe('restore latest', () => {
  it("restores the newest backup of the target's own database by manifest time, not mtime", async () => {
    const result = await runCli(['restore', 'latest', '--no-migrate', '--drop-previous'], localEnv(dbA));
    expect(result.code, result.stderr).toBe(0);
    expect(await markerOf(dbA)).toBe('a_new');
  });

  it('--source-db restores the newest backup of another database', async () => {
    const result = await runCli(
      ['restore', 'latest', '--source-db', dbB, '--target-db', `${prefix}_copy`, '--no-migrate'],
      localEnv(dbA),
    );
    expect(result.code, result.stderr).toBe(0);
    expect(await markerOf(`${prefix}_copy`)).toBe('b_newest');
  });

  it('refuses (exit 2) when the store has no backup of that database, naming it', async () => {
    const result = await runCli(['restore', 'latest', '--no-migrate'], localEnv(`${prefix}_none`));
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toContain(`${prefix}_none`);
    expect(result.stderr).toContain('--source-db');
  });

  it('orders S3 backups by their manifests, not LastModified', async () => {
    const target = `${prefix}_s3`;
    const result = await runCli(['restore', 'latest', '--from', 's3', '--no-migrate'], bothEnv(target));
    expect(result.code, result.stderr).toBe(0);
    expect(await markerOf(target)).toBe('s3_new');
  });
});

describe('named restore and verify across stores', () => {
  it('a named restore takes the copy that has a manifest', async () => {
    const target = `${prefix}_dup`;
    const result = await runCli(['restore', 'dup', '--no-migrate'], bothEnv(target));
    expect(result.code, result.stderr).toBe(0);
    expect(await markerOf(target)).toBe('dup_s3_with_manifest');
  });

  it('verify fails naming the configured store that lacks the backup', async () => {
    const result = await runCli(['verify', 'only_local'], bothEnv(dbA));
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toContain(`s3://${s3.bucket}`);
    expect(result.stderr).toMatch(/not in this store|missing/);
    const localOnly = await runCli(['verify', 'only_local'], localEnv(dbA));
    expect(localOnly.code, localOnly.stderr).toBe(0);
    expect(readFileSync(join(dir, 'only_local.manifest.json'), 'utf8')).toContain(dbA);
  });
});
