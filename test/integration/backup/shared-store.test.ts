/**
 * Two databases share one BACKUP_DIR and one S3_PREFIX and back up on the same schedule: both runs start in
 * the same second. Both must keep every backup (distinct names, each with its own manifest), each restores
 * its own data, and `prune` of one database never deletes the other's backups.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backup } from '../../../src/backup/job.js';
import { listStore, readManifest } from '../../../src/backup/listing.js';
import { prune } from '../../../src/backup/prune.js';
import { verifyBackup } from '../../../src/backup/verify.js';
import { loadConfig, type Config } from '../../../src/config/load.js';
import type { Clock } from '../../../src/lib/clock.js';
import { silentLogger } from '../../../src/lib/logger.js';
import { openStores, type Storage } from '../../../src/storage/index.js';
import { gunzipIntoPsql } from '../../helpers/backup-data.js';
import { createDatabase, dbEnv, dropDatabase, withDb } from '../../helpers/database.js';
import { startS3, type TestS3 } from '../../../scripts/support/s3rver.js';

let s3: TestS3;
let dir: string;
let databases: string[] = [];
let configs: Readonly<Config>[] = [];
let stores: Storage[] = [];

const T1 = new Date('2024-02-10T02:00:00Z');
const T2 = new Date('2024-02-11T02:00:00Z');
const at = (date: Date): Clock => ({ now: () => date });
const deps = (date: Date) => ({ logger: silentLogger, clock: at(date) });

beforeAll(async () => {
  s3 = await startS3();
  dir = mkdtempSync(join(tmpdir(), 'cfdb-shared-'));
  databases = [await createDatabase('cfdb_shared_a'), await createDatabase('cfdb_shared_b')];
  for (const db of databases) {
    // Different content, so the two databases' archives differ.
    await withDb(db, (c) =>
      c.query('CREATE TABLE marker (db text); INSERT INTO marker SELECT current_database()'),
    );
  }
  configs = databases.map((db) =>
    loadConfig({
      ...dbEnv(db),
      ...s3.env,
      S3_PREFIX: 'shared/',
      BACKUP_DIR: dir,
      TZ: 'UTC',
      BACKUP_KEEP_LAST: '1',
      BACKUP_KEEP_DAYS: '0',
      BACKUP_KEEP_DAILY: '0',
      BACKUP_KEEP_WEEKLY: '0',
      BACKUP_KEEP_MONTHLY: '0',
    }),
  );
  stores = await openStores(configs[0] as Config);
});

afterAll(async () => {
  for (const store of stores) store.close?.();
  await s3?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
  for (const db of databases) await dropDatabase(db);
});

describe('two databases sharing the stores and the schedule', () => {
  const names: string[][] = [];

  it('both backups of the same second succeed under different names', async () => {
    for (const date of [T1, T2]) {
      const results = await Promise.all(configs.map((config) => backup(config, deps(date))));
      names.push(results.map((r) => r.name));
    }
    expect(new Set(names.flat()).size).toBe(4);
  });

  it('each store holds all four, complete, each manifest naming its own database', async () => {
    for (const store of stores) {
      const listed = await listStore(store);
      expect(listed.map((e) => e.name).sort()).toEqual(names.flat().sort());
      expect(listed.every((e) => e.complete && e.defaultNamed)).toBe(true);
      for (const [i, database] of databases.entries()) {
        for (const pair of names) {
          const manifest = await readManifest(store, pair[i] as string);
          expect(manifest).toMatchObject({ database, automatic: true });
        }
      }
    }
  });

  it('each backup verifies in both stores and restores its own database', async () => {
    for (const [i, config] of configs.entries()) {
      for (const pair of names) {
        const result = await verifyBackup(config, { logger: silentLogger, stores }, pair[i] as string);
        expect(result.stores.map((s) => s.ok)).toEqual([true, true]);
      }
    }
    const target = await createDatabase('cfdb_shared_restored');
    try {
      const s3Store = stores.find((s) => s.kind === 's3') as Storage;
      await gunzipIntoPsql(await s3Store.get(`${names[0]?.[1]}.sql.gz`), target);
      const marker = await withDb(target, (c) => c.query<{ db: string }>('SELECT db FROM marker'));
      expect(marker.rows).toEqual([{ db: databases[1] }]);
    } finally {
      await dropDatabase(target);
    }
  });

  it("prune of one database deletes only that database's old backups", async () => {
    const [a, b] = configs as [Config, Config];
    const result = await prune(a, { ...deps(new Date('2024-02-12T02:00:00Z')), stores });
    expect(result.stores.map((s) => s.deleted)).toEqual([[names[0]?.[0]], [names[0]?.[0]]]);
    const afterB = await prune(b, { ...deps(new Date('2024-02-12T02:00:00Z')), stores }, { dryRun: true });
    expect(afterB.stores.map((s) => s.deleted)).toEqual([[names[0]?.[1]], [names[0]?.[1]]]);
    for (const store of stores) {
      const left = (await listStore(store)).map((e) => e.name).sort();
      expect(left).toEqual([names[1]?.[0], names[0]?.[1], names[1]?.[1]].sort());
    }
  });
});
