/**
 * Tampered archives through the real CLI, as the owner role of the test server (a superuser, like the
 * compose file's): each is refused before psql ran the hostile statement; the target keeps its contents,
 * the temporary database is gone, and the side effect did not happen (another database still there, no
 * file created, the role unchanged, no server setting written).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../helpers/cli.js';
import { adminQuery, dbEnv, dropRole, uniqueName } from '../../helpers/database.js';
import { databasesStartingWith, dropDatabasesStartingWith, seed, snapshot, writeArchive } from './support.js';

const prefix = uniqueName('cfdb_hostile');
const source = `${prefix}_src`;
const target = `${prefix}_target`;
const victim = `${prefix}_victim`;
const role = `${prefix}_role`;
const dir = mkdtempSync(join(tmpdir(), 'cfdb-hostile-'));
/** A file psql (\!) or the server (COPY TO PROGRAM) could create: /tmp is writable by both. */
const pwned = join(tmpdir(), `${prefix}_pwned`);
let before: Record<string, string>;

beforeAll(async () => {
  await adminQuery(`CREATE DATABASE "${source}"`);
  await seed(source);
  await adminQuery(`CREATE DATABASE "${target}"`);
  await seed(target);
  await adminQuery(`CREATE DATABASE "${victim}"`);
  await adminQuery(`CREATE ROLE "${role}" NOLOGIN NOSUPERUSER`);
  before = await snapshot(target);
});

afterAll(async () => {
  await adminQuery('ALTER SYSTEM RESET cfdb.hostile').catch(() => undefined);
  await dropDatabasesStartingWith(prefix);
  await dropRole(role);
  rmSync(dir, { recursive: true, force: true });
  rmSync(pwned, { force: true });
});

/** Inserts `sql` right after pg_dump's first SET lines, as a `pg_dump -c -C` archive starts. */
const early = (sql: string) => (dump: string) =>
  dump.replace('SET statement_timeout = 0;\n', `SET statement_timeout = 0;\n${sql}`);

const CASES: [string, (dump: string) => string, RegExp][] = [
  ['DROP DATABASE of another database', early(`DROP DATABASE "${victim}";\n`), /DROP DATABASE/],
  [
    'a \\! after a COPY block that ends with CR LF',
    (dump) => dump.replace(/\n\\\.\n/, `\n\\.\r\n\\! touch ${pwned}\n`),
    /meta-command/,
  ],
  ['COPY TO PROGRAM', early(`COPY (SELECT 1) TO PROGRAM 'touch ${pwned}';\n`), /COPY/],
  ['ALTER ROLE … SUPERUSER', early(`ALTER ROLE "${role}" SUPERUSER;\n`), /ROLE/],
  ['ALTER SYSTEM', early(`ALTER SYSTEM SET cfdb.hostile = 'yes';\n`), /SYSTEM/],
];

describe('restore refuses tampered archives', () => {
  it.each(CASES)('%s', async (name, editSql, reason) => {
    const archive = `hostile_${name.replace(/[^a-z]+/gi, '_').toLowerCase()}`;
    writeArchive(source, dir, archive, { editSql });
    const result = await runCli(['restore', archive, '--target-db', target, '--no-migrate'], {
      ...dbEnv(target),
      BACKUP_DIR: dir,
    });
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toMatch(reason);
    expect(await snapshot(target)).toEqual(before);
    expect(await databasesStartingWith(`${target}_`)).toEqual([]);
    expect(await databasesStartingWith(victim)).toEqual([victim]);
    expect(existsSync(pwned)).toBe(false);
    const { rows } = await adminQuery<{ rolsuper: boolean }>(
      'SELECT rolsuper FROM pg_roles WHERE rolname = $1',
      [role],
    );
    expect(rows[0]?.rolsuper).toBe(false);
    const settings = await adminQuery("SELECT 1 FROM pg_file_settings WHERE name = 'cfdb.hostile'");
    expect(settings.rowCount).toBe(0);
  });
});
