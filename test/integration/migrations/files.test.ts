/**
 * The runner's behaviour on its own small migration folders: edits, removals, out-of-order files, a failing
 * file, no-transaction files, lock timeouts, the migration lock, `migrate create` and `status`.
 */
import { readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDatabase, dropDatabase, testServer, withDb } from '../../helpers/database.js';
import { migrationChecksum } from '../../../src/migrations/checksum.js';
import { cli, logs, migrationsDir, removeMigrationDirs, reportedError, trackedFiles } from './support.js';

const ONE = 'BEGIN;\nCREATE TABLE IF NOT EXISTS one (id int PRIMARY KEY, label text);\nCOMMIT;\n';
const TWO = 'CREATE TABLE IF NOT EXISTS two (id int);\nINSERT INTO two VALUES (2);\n';
const THREE = 'CREATE TABLE IF NOT EXISTS three (id int);\n';

let database: string;

async function migrateOk(dir: string): Promise<void> {
  const result = await cli(database, ['migrate'], { MIGRATIONS_DIR: dir });
  expect(result.code, result.stderr).toBe(0);
}

beforeEach(async () => {
  database = await createDatabase('cfdb_migrate_files');
});
afterEach(async () => {
  await dropDatabase(database);
});
afterAll(removeMigrationDirs);

describe('migrate on its own folders', () => {
  it('applies files in order, records them, and then has nothing to do', async () => {
    const dir = migrationsDir({ '001_one.sql': ONE, '002_two.sql': TWO, 'README.md': 'not a migration' });
    const first = await cli(database, ['migrate'], { MIGRATIONS_DIR: dir });
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/001_one\.sql\n\s+002_two\.sql/);
    expect(await trackedFiles(database)).toEqual(['001_one.sql', '002_two.sql']);
    const rows = await withDb(database, (c) =>
      c.query<{ checksum: string; applied_by: string; duration_ms: number }>(
        'SELECT checksum, applied_by, duration_ms FROM chatflow_db.schema_migrations ORDER BY version',
      ),
    );
    expect(rows.rows[0]).toMatchObject({ checksum: migrationChecksum(ONE), applied_by: testServer.user });
    const again = await cli(database, ['migrate'], { MIGRATIONS_DIR: dir });
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/up to date/);
  });

  it('refuses an edited file naming both hashes, but not a CRLF-only edit; --allow-changed records the new checksum', async () => {
    const dir = migrationsDir({ '001_one.sql': ONE, '002_two.sql': TWO });
    await migrateOk(dir);

    writeFileSync(join(dir, '001_one.sql'), `\uFEFF${ONE.replace(/\n/g, '\r\n')}`);
    const crlf = await cli(database, ['migrate'], { MIGRATIONS_DIR: dir });
    expect(crlf.code, crlf.stderr).toBe(0);

    const edited = ONE.replace('label text', 'label varchar(10)');
    writeFileSync(join(dir, '001_one.sql'), edited);
    const refused = await cli(database, ['migrate'], { MIGRATIONS_DIR: dir });
    expect(refused.code).toBe(5);
    const message = reportedError(refused);
    expect(message).toContain('001_one.sql was edited after it was applied');
    expect(message).toContain(migrationChecksum(ONE));
    expect(message).toContain(migrationChecksum(edited));
    expect(message).toContain('--allow-changed');

    const status = await cli(database, ['status'], { MIGRATIONS_DIR: dir });
    expect(status.code).toBe(5);
    expect(status.stdout).toMatch(/001\s+001_one\.sql\s+changed/);

    const allowed = await cli(database, ['migrate', '--allow-changed'], { MIGRATIONS_DIR: dir });
    expect(allowed.code, allowed.stderr).toBe(0);
    expect(allowed.stdout).toMatch(/recorded new checksums/);
    await migrateOk(dir);
  });

  it('refuses a removed file unless --allow-missing', async () => {
    const dir = migrationsDir({ '001_one.sql': ONE, '002_two.sql': TWO });
    await migrateOk(dir);
    rmSync(join(dir, '001_one.sql'));
    writeFileSync(join(dir, '003_three.sql'), THREE);
    const refused = await cli(database, ['migrate'], { MIGRATIONS_DIR: dir });
    expect(refused.code).toBe(5);
    expect(reportedError(refused)).toMatch(
      /001_one\.sql \(version 001\) was applied at .* its file is gone.*--allow-missing/,
    );
    const allowed = await cli(database, ['migrate', '--allow-missing'], { MIGRATIONS_DIR: dir });
    expect(allowed.code, allowed.stderr).toBe(0);
    expect(await trackedFiles(database)).toEqual(['001_one.sql', '002_two.sql', '003_three.sql']);
  });

  it('refuses a new file numbered below the highest applied unless --allow-out-of-order', async () => {
    const dir = migrationsDir({ '001_one.sql': ONE, '003_three.sql': THREE });
    await migrateOk(dir);
    writeFileSync(join(dir, '002_two.sql'), TWO);
    const refused = await cli(database, ['migrate'], { MIGRATIONS_DIR: dir });
    expect(refused.code).toBe(5);
    expect(reportedError(refused)).toMatch(
      /002_two\.sql is new but numbered below 003_three\.sql.*--allow-out-of-order/,
    );
    const dry = await cli(database, ['migrate', '--dry-run', '--allow-out-of-order'], {
      MIGRATIONS_DIR: dir,
    });
    expect(dry.stdout).toMatch(/would apply:\n\s+002_two\.sql/);
    const allowed = await cli(database, ['migrate', '--allow-out-of-order'], { MIGRATIONS_DIR: dir });
    expect(allowed.code, allowed.stderr).toBe(0);
    expect(await trackedFiles(database)).toEqual(['001_one.sql', '002_two.sql', '003_three.sql']);
  });

  it('rolls back a failing file, keeps the earlier ones, names file and line, and retries it on the next run', async () => {
    const failing =
      'BEGIN;\nCREATE TABLE two (id int);\n\nINSERT INTO two\n  VALUES (1);\nSELECT *\n  FROM no_such_table;\nCOMMIT;\n';
    const dir = migrationsDir({ '001_one.sql': ONE, '002_two.sql': failing, '003_three.sql': THREE });
    const failed = await cli(database, ['migrate'], { MIGRATIONS_DIR: dir });
    expect(failed.code).toBe(1);
    const message = reportedError(failed);
    expect(message).toContain(
      'Migration 002_two.sql failed at line 7: relation "no_such_table" does not exist (SQLSTATE 42P01)',
    );
    expect(message).toContain('rolled back');
    expect(await trackedFiles(database)).toEqual(['001_one.sql']);
    const tables = await withDb(database, (c) =>
      c.query("SELECT to_regclass('public.two') AS two, to_regclass('public.three') AS three"),
    );
    expect(tables.rows[0]).toEqual({ two: null, three: null });

    const again = await cli(database, ['migrate'], { MIGRATIONS_DIR: dir });
    expect(again.code).toBe(1);
    expect(reportedError(again)).toContain('002_two.sql failed at line 7');

    writeFileSync(join(dir, '002_two.sql'), failing.replace('no_such_table', 'two'));
    const fixed = await cli(database, ['migrate'], { MIGRATIONS_DIR: dir });
    expect(fixed.code, fixed.stderr).toBe(0);
    expect(await trackedFiles(database)).toEqual(['001_one.sql', '002_two.sql', '003_three.sql']);
  });

  it('names the line of a failure inside a DO block and of a runtime error', async () => {
    const dir = migrationsDir({
      '001_block.sql':
        "CREATE TABLE t (id int);\nDO $$\nBEGIN\n  IF true THEN\n    RAISE EXCEPTION 'blocked: % rows', 3;\n  END IF;\nEND $$;\n",
    });
    const failed = await cli(database, ['migrate'], { MIGRATIONS_DIR: dir });
    expect(failed.code).toBe(1);
    expect(reportedError(failed)).toContain(
      'Migration 001_block.sql failed at line 5: blocked: 3 rows (SQLSTATE P0001)',
    );
  });

  it('runs a no-transaction file statement by statement (CREATE INDEX CONCURRENTLY) and drops an index a failure left invalid', async () => {
    const dir = migrationsDir({
      '001_table.sql': 'CREATE TABLE t (id int, email text);\nINSERT INTO t VALUES (1, $$a$$), (2, $$a$$);\n',
      '002_index.sql':
        '-- Unique emails.\n-- chatflow-db: no-transaction, lock-timeout=5s\n\nCREATE INDEX CONCURRENTLY IF NOT EXISTS t_id ON t (id);\nCREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS t_email ON t (email);\n',
    });
    const failed = await cli(database, ['migrate'], { MIGRATIONS_DIR: dir });
    expect(failed.code).toBe(1);
    const message = reportedError(failed);
    expect(message).toContain('Migration 002_index.sql failed at line 5');
    expect(message).toContain('no-transaction file');
    expect(message).toContain('t_email');
    const indexes = await withDb(database, (c) =>
      c.query<{ name: string; valid: boolean }>(
        "SELECT indexrelid::regclass::text AS name, indisvalid AS valid FROM pg_index WHERE indrelid = 't'::regclass ORDER BY 1",
      ),
    );
    expect(indexes.rows).toEqual([{ name: 't_id', valid: true }]);
    expect(await trackedFiles(database)).toEqual(['001_table.sql']);

    await withDb(database, (c) => c.query("UPDATE t SET email = 'b' WHERE id = 2"));
    const fixed = await cli(database, ['migrate'], { MIGRATIONS_DIR: dir });
    expect(fixed.code, fixed.stderr).toBe(0);
    expect(await trackedFiles(database)).toEqual(['001_table.sql', '002_index.sql']);
    const valid = await withDb(database, (c) =>
      c.query("SELECT indisvalid FROM pg_index WHERE indexrelid = 't_email'::regclass"),
    );
    expect(valid.rows[0]).toEqual({ indisvalid: true });
  });

  it('rebuilds an index that an interrupted CREATE INDEX CONCURRENTLY left invalid, instead of IF NOT EXISTS skipping it', async () => {
    const dir = migrationsDir({
      '001_table.sql': "CREATE TABLE t (email text);\nINSERT INTO t VALUES ('a'), ('a');\n",
    });
    await migrateOk(dir);
    await withDb(database, async (c) => {
      // What a killed run leaves behind: the build stopped half-way and the index stays, INVALID.
      await c.query('CREATE UNIQUE INDEX CONCURRENTLY t_email ON t (email)').catch(() => undefined);
      await c.query("UPDATE t SET email = 'b' WHERE ctid = (SELECT min(ctid) FROM t)");
    });
    writeFileSync(
      join(dir, '002_index.sql'),
      '-- chatflow-db: no-transaction\nCREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS t_email ON public.t (email);\n',
    );
    const result = await cli(database, ['migrate'], { MIGRATIONS_DIR: dir });
    expect(result.code, result.stderr).toBe(0);
    expect(logs(result).some((line) => /dropped the invalid index t_email/.test(line.msg))).toBe(true);
    const valid = await withDb(database, (c) =>
      c.query("SELECT indisvalid FROM pg_index WHERE indexrelid = 't_email'::regclass"),
    );
    expect(valid.rows[0]).toEqual({ indisvalid: true });
  });

  it("applies a file's statement-timeout header, and does not retry a statement timeout", async () => {
    const dir = migrationsDir({
      '001_slow.sql':
        '-- chatflow-db: statement-timeout=300ms\nCREATE TABLE slow (id int);\nSELECT pg_sleep(2);\n',
    });
    const result = await cli(database, ['migrate'], { MIGRATIONS_DIR: dir });
    expect(result.code).toBe(1);
    expect(reportedError(result)).toContain(
      'Migration 001_slow.sql failed at line 3: canceling statement due to statement timeout (SQLSTATE 57014)',
    );
    expect(logs(result).some((line) => /retrying/.test(line.msg))).toBe(false);
    // MIGRATE_STATEMENT_TIMEOUT is the default that a header overrides.
    writeFileSync(join(dir, '001_slow.sql'), 'CREATE TABLE slow (id int);\nSELECT pg_sleep(2);\n');
    const global = await cli(database, ['migrate'], { MIGRATIONS_DIR: dir, MIGRATE_STATEMENT_TIMEOUT: '1' });
    expect(global.code).toBe(1);
    expect(reportedError(global)).toContain('failed at line 2: canceling statement due to statement timeout');
  });

  it('retries a file whose lock wait timed out, with backoff', async () => {
    const dir = migrationsDir({ '001_table.sql': 'CREATE TABLE busy (id int);\n' });
    await migrateOk(dir);
    writeFileSync(
      join(dir, '002_alter.sql'),
      '-- chatflow-db: lock-timeout=500ms\nALTER TABLE busy ADD COLUMN note text;\n',
    );
    const holder = new pg.Client({ ...testServer, database });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('LOCK TABLE busy IN ACCESS EXCLUSIVE MODE');
      const run = cli(database, ['migrate'], { MIGRATIONS_DIR: dir });
      await new Promise((resolve) => setTimeout(resolve, 2000));
      await holder.query('COMMIT');
      const result = await run;
      expect(result.code, result.stderr).toBe(0);
      const retries = logs(result).filter((line) => line.sqlState === '55P03');
      expect(retries.length).toBeGreaterThanOrEqual(1);
      expect(retries[0]?.msg).toMatch(
        /002_alter\.sql: canceling statement due to lock timeout; retrying the file/,
      );
    } finally {
      await holder.end();
    }
    expect(await trackedFiles(database)).toEqual(['001_table.sql', '002_alter.sql']);
  });

  it('waits for the migration lock, logs its holder, and gives up after MIGRATE_LOCK_TIMEOUT with exit 1', async () => {
    const dir = migrationsDir({ '001_one.sql': ONE });
    const holder = new pg.Client({ ...testServer, database, application_name: 'someone-else' });
    await holder.connect();
    try {
      await holder.query("SELECT pg_advisory_lock('7162522631284549490'::bigint)");
      const started = Date.now();
      const result = await cli(database, ['migrate'], { MIGRATIONS_DIR: dir, MIGRATE_LOCK_TIMEOUT: '2' });
      expect(Date.now() - started).toBeGreaterThanOrEqual(2000);
      expect(result.code).toBe(1);
      expect(
        logs(result).some((line) =>
          /waiting for the migration lock, held by pid \d+ "someone-else"/.test(line.msg),
        ),
      ).toBe(true);
      expect(reportedError(result)).toMatch(
        /Gave up after [23] s waiting for the migration lock .* held by pid \d+ "someone-else" from 127\.0\.0\.1.*MIGRATE_LOCK_TIMEOUT/,
      );
    } finally {
      await holder.end();
    }
    await migrateOk(dir);
  });

  it("does not let a file's session settings leak into the next file", async () => {
    const dir = migrationsDir({
      '001_schema.sql': 'CREATE SCHEMA other;\nSET search_path = other;\nCREATE TABLE in_other (id int);\n',
      '002_public.sql': 'CREATE TABLE in_public (id int);\n',
    });
    const result = await cli(database, ['migrate'], { MIGRATIONS_DIR: dir });
    expect(result.code, result.stderr).toBe(0);
    const where = await withDb(database, (c) =>
      c.query("SELECT to_regclass('public.in_public') IS NOT NULL AS ok"),
    );
    expect(where.rows[0]).toEqual({ ok: true });
  });

  it('refuses a database holding objects that are neither ChatFlow nor tracked; --baseline is the way forward', async () => {
    await withDb(database, (c) => c.query('CREATE TABLE orders (id int); CREATE SCHEMA billing'));
    const dir = migrationsDir({
      '001_orders.sql': 'CREATE TABLE IF NOT EXISTS orders (id int);\n',
      '002_two.sql': TWO,
    });
    for (const args of [['migrate'], ['migrate', '--dry-run']]) {
      const refused = await cli(database, args, { MIGRATIONS_DIR: dir });
      expect(refused.code).toBe(5);
      const message = reportedError(refused);
      expect(message).toContain(`Refusing to migrate database "${database}"`);
      expect(message).toContain('Found: schema billing, public.orders (table)');
      expect(message).toContain('chatflow-db migrate --baseline <version>');
    }
    const status = await cli(database, ['status', '--json'], { MIGRATIONS_DIR: dir });
    expect(status.code).toBe(5);
    expect(JSON.parse(status.stdout)).toMatchObject({ kind: 'unknown' });

    const baselined = await cli(database, ['migrate', '--baseline', '001'], { MIGRATIONS_DIR: dir });
    expect(baselined.code, baselined.stderr).toBe(0);
    expect(baselined.stdout).toMatch(
      /recorded as applied without running \(--baseline\):\n\s+001_orders\.sql/,
    );
    expect(baselined.stdout).toMatch(/applied to .*:\n\s+002_two\.sql/);
    const rows = await withDb(database, (c) =>
      c.query<{ name: string; applied_by: string }>(
        'SELECT name, applied_by FROM chatflow_db.schema_migrations ORDER BY version',
      ),
    );
    expect(rows.rows).toEqual([
      { name: '001_orders.sql', applied_by: `${testServer.user} (baseline)` },
      { name: '002_two.sql', applied_by: testServer.user },
    ]);
    const twice = await cli(database, ['migrate', '--baseline', '001'], { MIGRATIONS_DIR: dir });
    expect(twice.code).toBe(2);
    expect(reportedError(twice)).toContain('--baseline is for databases without recorded migrations');
  });

  it('refuses invalid migration files before running anything (exit 2)', async () => {
    const dir = migrationsDir({
      '001_one.sql': ONE,
      '002_bad.sql': '-- chatflow-db: no-transactoin\nSELECT 1;\n',
      '003_open.sql': "SELECT 'open;\n",
      'notes.sql': 'SELECT 1;',
    });
    const result = await cli(database, ['migrate'], { MIGRATIONS_DIR: dir });
    expect(result.code).toBe(2);
    const message = reportedError(result);
    expect(message).toContain('002_bad.sql line 1: unknown directive "no-transactoin"');
    expect(message).toContain('003_open.sql line 1: unterminated quoted string');
    expect(message).toContain('notes.sql: migration files are named NNN_name.sql');
    const tracked = await withDb(database, (c) =>
      c.query("SELECT to_regclass('chatflow_db.schema_migrations') AS t"),
    );
    expect(tracked.rows[0]).toEqual({ t: null });
  });
});

describe('status and migrate create', () => {
  it('prints the applied/pending table, JSON, and exit code 3 while pending', async () => {
    const dir = migrationsDir({ '001_one.sql': ONE, '002_two.sql': TWO });
    const before = await cli(database, ['status', '--json'], { MIGRATIONS_DIR: dir });
    expect(before.code).toBe(3);
    expect(JSON.parse(before.stdout)).toMatchObject({
      database,
      kind: 'empty',
      applied: [],
      pending: ['001_one.sql', '002_two.sql'],
    });
    await migrateOk(dir);
    writeFileSync(join(dir, '003_three.sql'), THREE);
    const table = await cli(database, ['status'], { MIGRATIONS_DIR: dir });
    expect(table.code).toBe(3);
    expect(table.stdout).toMatch(/2 applied, 1 pending/);
    expect(table.stdout).toMatch(/001\s+001_one\.sql\s+applied\s+\d{4}-\d\d-\d\dT[\d:.]+Z\s+\d+ ms/);
    expect(table.stdout).toMatch(/003\s+003_three\.sql\s+pending/);
    await migrateOk(dir);
    const after = await cli(database, ['status', '--json'], { MIGRATIONS_DIR: dir });
    expect(after.code).toBe(0);
    expect(JSON.parse(after.stdout)).toMatchObject({ kind: 'tracked', pending: [], refusals: [] });
  });

  it('creates the next-numbered file from the template, and refuses bad or taken names', async () => {
    const dir = migrationsDir({ '001_one.sql': ONE, '002_two.sql': TWO });
    const created = await cli(database, ['migrate', 'create', 'add_notes'], { MIGRATIONS_DIR: dir });
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout.trim()).toBe(join(dir, '003_add_notes.sql'));
    expect(readdirSync(dir).sort()).toEqual(['001_one.sql', '002_two.sql', '003_add_notes.sql']);
    expect(readFileSync(join(dir, '003_add_notes.sql'), 'utf8')).toMatch(/^-- 003_add_notes\.sql: /);
    // The template itself is a valid, empty migration.
    await migrateOk(dir);

    const taken = await cli(database, ['migrate', 'create', 'add_notes'], { MIGRATIONS_DIR: dir });
    expect(taken.code).toBe(2);
    expect(reportedError(taken)).toContain('exists already: 003_add_notes.sql');
    const bad = await cli(database, ['migrate', 'create', 'Add Notes!'], { MIGRATIONS_DIR: dir });
    expect(bad.code).toBe(2);
    expect(reportedError(bad)).toContain('try "add_notes"');
  });
});
