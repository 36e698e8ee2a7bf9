/**
 * Where the status page's facts come from, against a real local store (files in a temporary directory):
 * the listing is cached and taken again only after invalidate() or CATALOG_MAX_AGE_MS; a manifest is read
 * once; only this database's backups are shown; drill records are read tolerantly and again when they
 * change; a store that cannot be listed is a problem in the verdict and its last listing stays.
 */
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MANIFEST_FORMAT, serializeManifest } from '../../../src/backup/manifest.js';
import { defaultBackupName } from '../../../src/backup/names.js';
import { loadConfig } from '../../../src/config/load.js';
import { silentLogger } from '../../../src/lib/logger.js';
import {
  CATALOG_MAX_AGE_MS,
  createStatusSource,
  type StatusSource,
} from '../../../src/sidecar/status-source.js';
import { LocalStorage } from '../../../src/storage/local.js';
import type { StoredObject } from '../../../src/storage/storage.js';
import { dailyAt2, DAY } from '../../helpers/status.js';

const DATABASE = 'chatflow';

/** The real local store, counting what the source asks of it and able to fail its listings. */
class WatchedStorage extends LocalStorage {
  lists = 0;
  gets: string[] = [];
  failList: Error | undefined;
  override async *list(namePrefix = ''): AsyncIterable<StoredObject> {
    this.lists += 1;
    if (this.failList) throw this.failList;
    yield* super.list(namePrefix);
  }
  override get(name: string): Promise<Readable> {
    this.gets.push(name);
    return super.get(name);
  }
}

let dir: string;
let store: WatchedStorage;
let now: Date;
let source: StatusSource;

function writeBackup(
  name: string,
  options: { at: Date; database?: string; size?: number; manifest?: boolean },
) {
  const size = options.size ?? 1000;
  writeFileSync(join(dir, `${name}.sql.gz`), Buffer.alloc(size, 1));
  if (options.manifest === false) return;
  writeFileSync(
    join(dir, `${name}.manifest.json`),
    serializeManifest({
      format: MANIFEST_FORMAT,
      name,
      archive: `${name}.sql.gz`,
      sha256: '0'.repeat(64),
      size,
      createdAt: options.at.toISOString(),
      database: options.database ?? DATABASE,
      serverVersion: '15.8',
      pgDumpVersion: 'pg_dump (PostgreSQL) 15.8',
      latestMigration: null,
      durationMs: 2500,
      automatic: true,
    }),
  );
}

function writeDrill(backup: string, fields: Record<string, unknown> | string): void {
  const text =
    typeof fields === 'string'
      ? fields
      : JSON.stringify({
          format: 'chatflow-db-drill/1',
          backup,
          database: DATABASE,
          startedAt: new Date(now.getTime() - 120_000).toISOString(),
          finishedAt: new Date(now.getTime() - 60_000).toISOString(),
          ok: true,
          restoreSeconds: 12,
          totalSeconds: 20,
          checks: [],
          ...fields,
        });
  writeFileSync(join(dir, `${backup}.drill.json`), text);
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'cfdb-status-source-'));
  store = new WatchedStorage(dir);
  now = new Date('2026-11-30T07:30:00Z');
  const config = loadConfig({ PGDATABASE: DATABASE, BACKUP_DIR: dir, TZ: 'UTC' });
  source = createStatusSource({
    config,
    logger: silentLogger,
    now: () => now,
    stores: [store],
    health: () => Promise.resolve({ reasons: [], since: new Map() }),
    schedule: () => ({
      backupCron: '0 2 * * *',
      previousBackupSlot: dailyAt2,
      nextBackup: new Date(dailyAt2(now).getTime() + DAY),
      pruneEnabled: true,
    }),
    migrations: () => ({ known: true, applied: 7, latest: '007_x.sql', pending: [] }),
    versions: () => Promise.resolve({ chatflowDb: '0.1.0', server: '15.8', pgDump: '15.8' }),
  });
});

afterEach(() => rmSync(dir, { recursive: true, force: true }));

const names = async (): Promise<string[]> => (await source.status(1)).backups.items.map((item) => item.name);
const slot = (daysAgo: number): Date => new Date(dailyAt2(now).getTime() - daysAgo * DAY + 5000);

describe('status source', () => {
  it('lists the store once, serves the cache, lists again after invalidate() or when the cache is old', async () => {
    writeBackup(defaultBackupName(slot(1), 'UTC', DATABASE), { at: slot(1) });
    expect(await names()).toHaveLength(1);
    expect(await names()).toHaveLength(1);
    expect(store.lists).toBe(1);

    writeBackup(defaultBackupName(slot(0), 'UTC', DATABASE), { at: slot(0) });
    now = new Date(now.getTime() + CATALOG_MAX_AGE_MS - 1000);
    expect(await names()).toHaveLength(1);
    expect(store.lists).toBe(1);

    source.invalidate();
    expect(await names()).toHaveLength(2);
    expect(store.lists).toBe(2);

    now = new Date(now.getTime() + CATALOG_MAX_AGE_MS);
    await names();
    expect(store.lists).toBe(3);
    // Each manifest was read once, however often the store was listed.
    expect(store.gets.filter((name) => name.endsWith('.manifest.json')).sort()).toEqual(
      [slot(0), slot(1)].map((at) => `${defaultBackupName(at, 'UTC', DATABASE)}.manifest.json`).sort(),
    );
  });

  it('forgets a pruned backup: one made again under its name shows its own manifest', async () => {
    writeBackup('nightly', { at: slot(1), size: 1000 });
    expect((await source.status(1)).backups.items.map((item) => item.size)).toEqual([1000]);
    rmSync(join(dir, 'nightly.manifest.json'));
    rmSync(join(dir, 'nightly.sql.gz'));
    source.invalidate();
    expect(await names()).toEqual([]);
    writeBackup('nightly', { at: slot(0), size: 2000 });
    source.invalidate();
    const [item] = (await source.status(1)).backups.items;
    expect(item).toMatchObject({ name: 'nightly', size: 2000, createdAt: slot(0).toISOString() });
    expect(item?.verified.result).toBe('not-run');
  });

  it('concurrent requests share one listing', async () => {
    writeBackup('nightly', { at: slot(0) });
    await Promise.all([source.status(1), source.status(1), source.status(1)]);
    expect(store.lists).toBe(1);
  });

  it("shows only this database's backups: the manifest says, or else a default name does", async () => {
    writeBackup(defaultBackupName(slot(0), 'UTC', DATABASE), { at: slot(0) });
    writeBackup(defaultBackupName(slot(0), 'UTC', 'other'), { at: slot(0), database: 'other' });
    // A custom name says nothing: its manifest does.
    writeBackup('before-upgrade', { at: slot(1), database: 'other' });
    writeBackup('mine-by-hand', { at: slot(2) });
    // Without a manifest: a default name of another database is left out, one of ours or a custom one shown.
    writeBackup(defaultBackupName(slot(3), 'UTC', 'other'), { at: slot(3), manifest: false });
    writeBackup(defaultBackupName(slot(4), 'UTC', DATABASE), { at: slot(4), manifest: false });
    writeBackup('legacy-script', { at: slot(5), manifest: false });
    const status = await source.status(1);
    expect(status.backups.items.map((item) => item.name).sort()).toEqual(
      [
        defaultBackupName(slot(0), 'UTC', DATABASE),
        'mine-by-hand',
        defaultBackupName(slot(4), 'UTC', DATABASE),
        'legacy-script',
      ].sort(),
    );
    const incomplete = status.backups.items
      .filter((item) => !item.complete)
      .map((item) => item.verified.result);
    expect(incomplete).toEqual(['failed', 'failed']);
  });

  it('reads drill records tolerantly and again when they change', async () => {
    for (const [i, name] of ['a', 'b', 'c', 'd', 'e'].entries()) writeBackup(name, { at: slot(i) });
    writeDrill('a', {});
    writeDrill('b', '{"format": "chatflow-db-drill/1", "backup": "b", ');
    writeDrill('c', { backup: 'a' });
    writeDrill('d', { format: 'chatflow-db-drill/2' });
    writeDrill('e', `${' '.repeat(300 * 1024)}{}`);
    // Records outlive the backups retention deleted: they are drills (of this database's) but no backups.
    const dayAgo = (ms: number) => new Date(now.getTime() - DAY - ms).toISOString();
    writeDrill('pruned', { startedAt: dayAgo(60_000), finishedAt: dayAgo(0) });
    writeDrill('pruned-other', { database: 'other', startedAt: dayAgo(60_000), finishedAt: dayAgo(0) });
    let status = await source.status(1);
    expect(status.backups.total).toBe(5);
    const drills = Object.fromEntries(status.backups.items.map((item) => [item.name, item.drill]));
    expect(drills).toEqual({
      a: {
        at: new Date(now.getTime() - 60_000).toISOString(),
        ok: true,
        durationSeconds: 12,
        failedChecks: [],
      },
      b: null,
      c: null,
      d: null,
      e: null,
    });
    expect(status.trend.drills.map((drill) => drill.name)).toEqual(['pruned', 'a']);

    // The drill ran again and failed: a new record under the same name.
    writeDrill('a', {
      ok: false,
      checks: [
        { name: 'restore', ok: true, detail: '', seconds: 12 },
        { name: 'row-counts', ok: false, detail: 'users: 3 != 4', seconds: 1 },
      ],
    });
    const later = new Date(Date.now() + 5000);
    utimesSync(join(dir, 'a.drill.json'), later, later);
    source.invalidate();
    status = await source.status(1);
    expect(status.backups.items.find((item) => item.name === 'a')?.drill).toMatchObject({
      ok: false,
      failedChecks: ['row-counts'],
    });
    expect(status.verdict.ok).toBe(false);
    expect(status.verdict.problems.map((problem) => problem.area)).toEqual(['drill']);
  });

  it('a store that cannot be listed is a problem with a since; its last listing stays on the page', async () => {
    writeBackup('nightly', { at: slot(0) });
    expect(await names()).toEqual(['nightly']);
    store.failList = new Error(`EACCES: permission denied, scandir '${dir}'`);
    source.invalidate();
    const failedAt = now;
    let status = await source.status(1);
    expect(status.backups.items.map((item) => item.name)).toEqual(['nightly']);
    expect(status.verdict.ok).toBe(false);
    expect(status.verdict.problems).toEqual([
      {
        area: 'store',
        message: "store: cannot list local (EACCES: permission denied, scandir 'local')",
        since: failedAt.toISOString(),
      },
    ]);
    // Still failing later: the since stays; the location (a path) never appears.
    now = new Date(now.getTime() + CATALOG_MAX_AGE_MS + 1);
    status = await source.status(1);
    expect(status.verdict.problems[0]?.since).toBe(failedAt.toISOString());
    expect(JSON.stringify(status)).not.toContain(dir);

    store.failList = undefined;
    source.invalidate();
    expect((await source.status(1)).verdict.ok).toBe(true);
  });
});
