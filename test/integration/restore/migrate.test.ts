/**
 * A backup taken before the newest migration comes back migrated: the restore runs the migrator on the
 * restored database (before the swap), unless --no-migrate.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../helpers/cli.js';
import { adminQuery, dbEnv, uniqueName, withDb } from '../../helpers/database.js';
import { dropDatabasesStartingWith } from './support.js';

const prefix = uniqueName('cfdb_rsm');
const source = `${prefix}_src`;
const backups = mkdtempSync(join(tmpdir(), 'cfdb-restore-mig-'));
const migrations = mkdtempSync(join(tmpdir(), 'cfdb-restore-mig-files-'));
const env = (database: string) => ({ ...dbEnv(database), BACKUP_DIR: backups, MIGRATIONS_DIR: migrations });

const columns = (database: string) =>
  withDb(database, async (c) =>
    (
      await c.query<{ column_name: string }>(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'widgets' ORDER BY ordinal_position",
      )
    ).rows.map((r) => r.column_name),
  );

beforeAll(async () => {
  await adminQuery(`CREATE DATABASE "${source}"`);
  writeFileSync(
    join(migrations, '001_widgets.sql'),
    'CREATE TABLE widgets (id serial PRIMARY KEY, name text NOT NULL);\n',
  );
});

afterAll(async () => {
  await dropDatabasesStartingWith(prefix);
  rmSync(backups, { recursive: true, force: true });
  rmSync(migrations, { recursive: true, force: true });
});

describe('restore and migrations', () => {
  it('brings a backup taken before the newest migration up to date', async () => {
    const migrated = await runCli(['migrate'], env(source));
    expect(migrated.code, migrated.stderr).toBe(0);
    await withDb(source, (c) =>
      c.query("INSERT INTO widgets (name) SELECT 'w' || g FROM generate_series(1, 50) g"),
    );
    const backup = await runCli(['backup', 'before_002'], env(source));
    expect(backup.code, backup.stderr).toBe(0);

    writeFileSync(
      join(migrations, '002_widget_color.sql'),
      "ALTER TABLE widgets ADD COLUMN color text NOT NULL DEFAULT 'red';\n",
    );
    const target = `${prefix}_t`;
    const unmigrated = await runCli(
      ['restore', 'latest', '--target-db', target, '--no-migrate'],
      env(target),
    );
    expect(unmigrated.code, unmigrated.stderr).toBe(0);
    expect(await columns(target)).toEqual(['id', 'name']);

    const result = await runCli(['restore', 'latest', '--target-db', target, '--drop-previous'], env(target));
    expect(result.code, result.stderr).toBe(0);
    expect(await columns(target)).toEqual(['id', 'name', 'color']);
    const rows = await withDb(target, (c) =>
      c.query<{ n: string }>("SELECT count(*) AS n FROM widgets WHERE color = 'red'"),
    );
    expect(rows.rows[0]?.n).toBe('50');
    const status = await runCli(['status'], { ...env(target), PGDATABASE: target });
    expect(status.code, status.stderr + status.stdout).toBe(0);
  });
});
