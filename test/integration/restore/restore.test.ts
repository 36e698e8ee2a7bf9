/**
 * `chatflow-db restore` from a local store, end to end with the real CLI: round trips, old-script
 * archives, refused archives (the target is left exactly as it was and the new database is gone), and
 * the swap under open connections.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../helpers/cli.js';
import { adminQuery, dbEnv, testServer, uniqueName, withDb } from '../../helpers/database.js';
import {
  databasesStartingWith,
  dropDatabasesStartingWith,
  logMessages,
  seed,
  snapshot,
  writeArchive,
} from './support.js';

const prefix = uniqueName('cfdb_rst');
const source = `${prefix}_src`;
const dir = mkdtempSync(join(tmpdir(), 'cfdb-restore-'));
let sourceSnapshot: Record<string, string>;

function env(target: string): Record<string, string> {
  return { ...dbEnv(target), BACKUP_DIR: dir, BACKUP_PROGRESS_INTERVAL: '1' };
}

/** A target database with different contents from the backup. */
async function makeTarget(name: string): Promise<Record<string, string>> {
  await adminQuery(`CREATE DATABASE "${name}"`);
  await seed(name);
  await withDb(name, (c) =>
    c.query("DELETE FROM notes WHERE id % 3 = 0; UPDATE users SET name = 'changed' WHERE id < 10"),
  );
  return snapshot(name);
}

async function expectRefused(
  target: string,
  archive: string,
  before: Record<string, string>,
  reason: RegExp,
) {
  const result = await runCli(['restore', archive, '--target-db', target, '--no-migrate'], env(target));
  expect(result.code, result.stderr).toBe(1);
  expect(result.stderr).toMatch(reason);
  expect(await snapshot(target)).toEqual(before);
  expect(await databasesStartingWith(`${target}_`)).toEqual([]);
}

beforeAll(async () => {
  await adminQuery(`CREATE DATABASE "${source}"`);
  await seed(source);
  sourceSnapshot = await snapshot(source);
  writeArchive(source, dir, 'good');
});

afterAll(async () => {
  await dropDatabasesStartingWith(prefix);
  rmSync(dir, { recursive: true, force: true });
});

describe('restore (local store)', () => {
  it('lists the backups when given no name', async () => {
    const result = await runCli(['restore'], env(source));
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('good');
  });

  it('swaps the restored database in, terminating open connections, and keeps the previous one', async () => {
    const target = `${prefix}_a`;
    const before = await makeTarget(target);
    expect(before).not.toEqual(sourceSnapshot);
    const holder = new pg.Client({ ...testServer, database: target });
    holder.on('error', () => undefined);
    await holder.connect();
    await holder.query('BEGIN; SELECT count(*) FROM users');

    const result = await runCli(['restore', 'good', '--target-db', target, '--no-migrate'], env(target));
    expect(result.code, result.stderr).toBe(0);
    expect(await snapshot(target)).toEqual(sourceSnapshot);
    await expect(holder.query('SELECT 1')).rejects.toThrow();
    await holder.end().catch(() => undefined);

    const kept = (await databasesStartingWith(`${target}_`)).filter((n) => n.includes('_before_restore_'));
    expect(kept).toHaveLength(1);
    expect(await snapshot(kept[0] ?? '')).toEqual(before);
    expect(await databasesStartingWith(`${target}_restore_`)).toEqual([]);
    expect(logMessages(result.stderr).some((m) => m.includes('sha256 matches the manifest'))).toBe(true);

    // Everything restored belongs to the role that ran the restore.
    const owners = await withDb(target, (c) =>
      c.query<{ owner: string }>(
        "SELECT DISTINCT pg_get_userbyid(relowner) AS owner FROM pg_class WHERE relnamespace = 'public'::regnamespace",
      ),
    );
    expect(owners.rows.map((r) => r.owner)).toEqual([testServer.user]);
  });

  it('drops the previous database with --drop-previous, and creates a target that does not exist', async () => {
    const target = `${prefix}_b`;
    const first = await runCli(['restore', 'good', '--target-db', target, '--no-migrate'], env(target));
    expect(first.code, first.stderr).toBe(0);
    expect(await snapshot(target)).toEqual(sourceSnapshot);
    expect(await databasesStartingWith(`${target}_`)).toEqual([]);

    await withDb(target, (c) => c.query('DELETE FROM notes'));
    const second = await runCli(
      ['restore', 'good.sql.gz', '--target-db', target, '--no-migrate', '--drop-previous'],
      env(target),
    );
    expect(second.code, second.stderr).toBe(0);
    expect(await snapshot(target)).toEqual(sourceSnapshot);
    expect(await databasesStartingWith(`${target}_`)).toEqual([]);
  });

  it("restores an old script's archive (no manifest) from another cluster's roles, with a warning", async () => {
    const target = `${prefix}_c`;
    writeArchive(source, dir, 'legacy', {
      manifest: false,
      editSql: (sql) =>
        sql
          .replaceAll(`OWNER TO ${testServer.user};`, 'OWNER TO "Legacy Owner";')
          .replace(
            '-- PostgreSQL database dump complete',
            'GRANT SELECT ON TABLE public.users TO ghost_reader;\nGRANT SELECT ON TABLE public.notes TO pg_monitor;\n\n-- PostgreSQL database dump complete',
          ),
    });
    const result = await runCli(['restore', 'legacy', '--target-db', target, '--no-migrate'], env(target));
    expect(result.code, result.stderr).toBe(0);
    expect(logMessages(result.stderr).some((m) => m.includes('no checksum was available'))).toBe(true);
    expect(result.stderr).toContain('ghost_reader');
    expect(await snapshot(target)).toEqual(sourceSnapshot);
    const grants = await withDb(target, (c) =>
      c.query<{ ok: boolean }>("SELECT has_table_privilege('pg_monitor', 'public.notes', 'SELECT') AS ok"),
    );
    expect(grants.rows[0]?.ok).toBe(true);
  });

  describe('refuses and leaves the target as it was', () => {
    const target = `${prefix}_d`;
    let before: Record<string, string>;
    beforeAll(async () => {
      before = await makeTarget(target);
    });

    it('a flipped byte', async () => {
      writeArchive(source, dir, 'flipped', {
        editBytes: (gz) => {
          const copy = Buffer.from(gz);
          const at = Math.floor(copy.length / 2);
          copy[at] = (copy[at] ?? 0) ^ 0xff;
          return copy;
        },
      });
      await expectRefused(target, 'flipped', before, /refused: (the archive is corrupt|checksum mismatch)/);
    });

    it('a truncated file', async () => {
      writeArchive(source, dir, 'truncated', {
        editBytes: (gz) => gz.subarray(0, Math.floor(gz.length * 0.6)),
      });
      await expectRefused(target, 'truncated', before, /refused: the archive is corrupt or truncated/);
    });

    it('an archive without a manifest whose SQL stops early (still valid gzip)', async () => {
      // What a cut at a gzip member boundary looks like: valid gzip, half a dump.
      writeArchive(source, dir, 'halfmember', { manifest: false });
      const sql = (await import('node:zlib'))
        .gunzipSync(readFileSync(join(dir, 'halfmember.sql.gz')))
        .toString();
      writeFileSync(
        join(dir, 'halfmember.sql.gz'),
        (await import('node:zlib')).gzipSync(sql.slice(0, sql.indexOf('COPY public.users'))),
      );
      await expectRefused(target, 'halfmember', before, /dump complete/);
    });

    it('a wrong checksum in the manifest', async () => {
      writeArchive(source, dir, 'badsum', { sha256: '0'.repeat(64) });
      await expectRefused(target, 'badsum', before, /refused: checksum mismatch/);
    });

    it('an SQL error half-way', async () => {
      writeArchive(source, dir, 'sqlerror', {
        // A statement of a kind pg_dump writes (the filter passes it) that fails on the server.
        editSql: (sql) =>
          sql.replace(
            'COPY public.users',
            'ALTER TABLE public.no_such_table ADD COLUMN x int;\n\nCOPY public.users',
          ),
      });
      await expectRefused(target, 'sqlerror', before, /psql exited with code 3.*no_such_table/s);
    });

    it('a psql meta-command other than \\restrict', async () => {
      writeArchive(source, dir, 'shell', {
        editSql: (sql) =>
          sql.replace('SET statement_timeout', '\\! touch /tmp/cfdb-pwned\nSET statement_timeout'),
      });
      await expectRefused(target, 'shell', before, /meta-command/);
    });
  });

  it('refuses unknown names and an empty store with exit code 2', async () => {
    const missing = await runCli(['restore', 'nope', '--target-db', `${prefix}_e`], env(`${prefix}_e`));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('chatflow-db restore` without a name');
    const empty = mkdtempSync(join(tmpdir(), 'cfdb-restore-empty-'));
    const latest = await runCli(['restore', 'latest', '--target-db', `${prefix}_e`], {
      ...env(`${prefix}_e`),
      BACKUP_DIR: empty,
    });
    rmSync(empty, { recursive: true, force: true });
    expect(latest.code).toBe(2);
    const badName = await runCli(['restore', '../etc/passwd'], env(`${prefix}_e`));
    expect(badName.code).toBe(2);
    expect(await databasesStartingWith(`${prefix}_e`)).toEqual([]);
  });

  it('round-trips a backup taken by `chatflow-db backup`', async () => {
    const own = mkdtempSync(join(tmpdir(), 'cfdb-restore-own-'));
    try {
      const backup = await runCli(['backup', 'real'], { ...dbEnv(source), BACKUP_DIR: own });
      expect(backup.code, backup.stderr).toBe(0);
      const target = `${prefix}_f`;
      await makeTarget(target);
      const result = await runCli(
        ['restore', 'latest', '--target-db', target, '--no-migrate', '--drop-previous'],
        {
          ...env(target),
          BACKUP_DIR: own,
        },
      );
      expect(result.code, result.stderr).toBe(0);
      expect(await snapshot(target)).toEqual(sourceSnapshot);
    } finally {
      rmSync(own, { recursive: true, force: true });
    }
  });
});
