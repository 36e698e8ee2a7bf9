/**
 * `chatflow-db restore` re-applies the application role (APP_DB_USER) on the restored database when
 * APP_DB_PASSWORD is set: the role may read and write rows of the restored tables but run no DDL, even
 * when the archive grants CREATE on schema public to PUBLIC (databases from before PostgreSQL 15).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../helpers/cli.js';
import { adminQuery, dbEnv, dropRole, testServer, uniqueName, withDb } from '../../helpers/database.js';
import { dropDatabasesStartingWith, logMessages, seed, writeArchive } from './support.js';

const prefix = uniqueName('cfdb_rrl');
const source = `${prefix}_src`;
const target = `${prefix}_t`;
const role = uniqueName('cfdb_app');
const dir = mkdtempSync(join(tmpdir(), 'cfdb-restore-role-'));

function env(password: string | undefined): Record<string, string | undefined> {
  return {
    ...dbEnv(target),
    BACKUP_DIR: dir,
    APP_DB_USER: role,
    APP_DB_PASSWORD: password,
  };
}

/** Runs `sql` on the target as the application role (the test server trusts loopback): rows, or the SQLSTATE. */
async function asRole(sql: string): Promise<{ rows: pg.QueryResultRow[] } | { code: string }> {
  const client = new pg.Client({ ...testServer, user: role, password: undefined, database: target });
  await client.connect();
  try {
    return { rows: (await client.query<pg.QueryResultRow>(sql)).rows };
  } catch (error) {
    return { code: (error as { code?: string }).code ?? String(error) };
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  await adminQuery(`CREATE DATABASE "${source}"`);
  await seed(source);
  // What PostgreSQL 14 and older granted by default: the archive carries it.
  await withDb(source, (c) => c.query('GRANT CREATE ON SCHEMA public TO PUBLIC'));
  writeArchive(source, dir, 'good');
  await adminQuery(`CREATE DATABASE "${target}"`);
  await seed(target);
});

afterAll(async () => {
  try {
    await dropDatabasesStartingWith(prefix);
  } finally {
    await dropRole(role);
    rmSync(dir, { recursive: true, force: true });
  }
});

// --drop-previous throughout: a kept `<target>_before_restore_<second>` would collide with the next
// restore's in the same second.
describe('restore and the application role', () => {
  it('creates the role on the restored database: rows yes, DDL no', async () => {
    const result = await runCli(['restore', 'good', '--no-migrate', '--drop-previous'], env('app-secret'));
    expect(result.code, result.stderr).toBe(0);
    expect(logMessages(result.stderr)).toContain('application role created');

    expect(await asRole('SELECT count(*)::int AS n FROM notes')).toEqual({ rows: [{ n: 3000 }] });
    expect(await asRole("INSERT INTO users (name) VALUES ('app') RETURNING id")).toEqual({
      rows: [{ id: 201 }],
    });
    expect(await asRole("INSERT INTO notes (user_id, body) VALUES (201, 'hello')")).toEqual({ rows: [] });
    expect(await asRole("UPDATE notes SET body = 'edited' WHERE user_id = 201")).toEqual({ rows: [] });
    expect(await asRole('CREATE TABLE app_ddl (id int)')).toEqual({ code: '42501' });
    expect(await asRole('TRUNCATE notes')).toEqual({ code: '42501' });
  });

  it('grants an existing role the same on the next restored database', async () => {
    const result = await runCli(['restore', 'good', '--no-migrate', '--drop-previous'], env('app-secret'));
    expect(result.code, result.stderr).toBe(0);
    expect(logMessages(result.stderr)).toContain('application role updated');

    // The backup's contents, not the rows written through the previous database.
    expect(await asRole("SELECT count(*)::int AS n FROM users WHERE name = 'app'")).toEqual({
      rows: [{ n: 0 }],
    });
    expect(await asRole("INSERT INTO users (name) VALUES ('app') RETURNING id")).toEqual({
      rows: [{ id: 201 }],
    });
    expect(await asRole('CREATE TABLE app_ddl (id int)')).toEqual({ code: '42501' });
  });

  it('without APP_DB_PASSWORD, leaves the role without privileges on the restored database and says so', async () => {
    const result = await runCli(['restore', 'good', '--no-migrate', '--drop-previous'], env(undefined));
    expect(result.code, result.stderr).toBe(0);
    expect(
      logMessages(result.stderr).some((m) => m.includes('run `chatflow-db roles` after the restore')),
    ).toBe(true);
    expect(await asRole('SELECT count(*) FROM notes')).toEqual({ code: '42501' });
  });
});
