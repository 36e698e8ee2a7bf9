/**
 * A restore run by an owner role that is not a superuser: it must end the target's sessions at the
 * cut-over, which PostgreSQL allows only for sessions of roles it is a member of, of other non-superusers
 * with pg_signal_backend, and never for a superuser's. The restore finds out before any work and refuses,
 * naming the sessions and the fix; with nothing in the way it restores (as its temporary role) and swaps.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../helpers/cli.js';
import { adminQuery, dbEnv, dropRole, testServer, uniqueName } from '../../helpers/database.js';
import {
  databasesStartingWith,
  dropDatabasesStartingWith,
  logMessages,
  seed,
  snapshot,
  writeArchive,
} from './support.js';

const prefix = uniqueName('cfdb_rss');
const source = `${prefix}_src`;
const target = `${prefix}_t`;
const owner = uniqueName('cfdb_owner');
const other = uniqueName('cfdb_other');
const dir = mkdtempSync(join(tmpdir(), 'cfdb-restore-sessions-'));
const env = { ...dbEnv(target), PGUSER: owner, BACKUP_DIR: dir };

async function hold(user: string, applicationName: string): Promise<pg.Client> {
  const client = new pg.Client({ ...testServer, user, database: target, application_name: applicationName });
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

beforeAll(async () => {
  await adminQuery(`CREATE ROLE "${owner}" LOGIN CREATEDB CREATEROLE`);
  await adminQuery(`CREATE ROLE "${other}" LOGIN`);
  await adminQuery(`CREATE DATABASE "${source}"`);
  await seed(source);
  writeArchive(source, dir, 'good');
  await adminQuery(`CREATE DATABASE "${target}" OWNER "${owner}"`);
}, 60_000);

afterAll(async () => {
  try {
    await dropDatabasesStartingWith(prefix);
  } finally {
    await dropRole(owner);
    await dropRole(other);
    rmSync(dir, { recursive: true, force: true });
  }
});

describe('restore by an owner that is not a superuser', () => {
  it("refuses before any work while a superuser's session is on the target, naming it", async () => {
    const blocker = await hold(testServer.user, 'blocking-superuser-app');
    try {
      const result = await runCli(['restore', 'good', '--no-migrate'], env);
      expect(result.code, result.stderr).toBe(1);
      expect(result.stderr).toContain('blocking-superuser-app');
      expect(result.stderr).toContain(`role ${testServer.user} (superuser)`);
      expect(result.stderr).toMatch(/superuser/);
      expect(result.stderr).toMatch(/stop the application/);
      expect(logMessages(result.stderr).some((m) => m.startsWith('restoring into a new database'))).toBe(
        false,
      );
      expect(await databasesStartingWith(`${target}_`)).toEqual([]);
      await expect(blocker.query('SELECT 1')).resolves.toBeDefined();
    } finally {
      await blocker.end();
    }
  });

  it("refuses while another role's session is on the target, saying GRANT pg_signal_backend", async () => {
    const blocker = await hold(other, 'blocking-app');
    try {
      const result = await runCli(['restore', 'good', '--no-migrate'], env);
      expect(result.code, result.stderr).toBe(1);
      expect(result.stderr).toContain('blocking-app');
      expect(result.stderr).toContain(other);
      expect(result.stderr).toContain(`GRANT pg_signal_backend TO \\"${owner}\\"`);
      expect(await databasesStartingWith(`${target}_`)).toEqual([]);

      // With the grant, the same session is ended at the cut-over and the restore succeeds.
      await adminQuery(`GRANT pg_signal_backend TO "${owner}"`);
      const granted = await runCli(['restore', 'good', '--no-migrate', '--drop-previous'], env);
      expect(granted.code, granted.stderr).toBe(0);
      expect(await snapshot(target)).toEqual(await snapshot(source));
    } finally {
      await blocker.end().catch(() => undefined);
    }
  });
});
