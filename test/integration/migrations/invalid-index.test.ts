/**
 * After a failed no-transaction statement the runner drops the invalid index that statement left behind,
 * and nothing else: an invalid index that an operator's own CREATE INDEX CONCURRENTLY left (before or
 * during the migration) is not the runner's to drop.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDatabase, dropDatabase, testServer, withDb } from '../../helpers/database.js';
import { cli, logs, migrationsDir, removeMigrationDirs, reportedError } from './support.js';

const LOCK = 4_242_001;
let database: string;

const TABLES =
  "CREATE TABLE t (email text);\nINSERT INTO t VALUES ('a'), ('a');\n" +
  "CREATE TABLE other (code text);\nINSERT INTO other VALUES ('x'), ('x');\n";

/** A folder whose 001 made the tables (applied), with `file` as the pending 002. */
async function folderWith(file: string): Promise<string> {
  const dir = migrationsDir({ '001_tables.sql': TABLES });
  const first = await cli(database, ['migrate'], { MIGRATIONS_DIR: dir });
  expect(first.code, first.stderr).toBe(0);
  writeFileSync(join(dir, '002_index.sql'), file);
  return dir;
}

beforeEach(async () => {
  database = await createDatabase('cfdb_invalid_idx');
});
afterEach(async () => {
  await dropDatabase(database);
});
afterAll(removeMigrationDirs);

/** What an operator's failed CREATE INDEX CONCURRENTLY leaves: an INVALID index. */
async function operatorInvalidIndex(client: pg.Client): Promise<void> {
  await client.query('CREATE UNIQUE INDEX CONCURRENTLY other_code ON other (code)').catch(() => undefined);
}

async function indexes(): Promise<{ name: string; valid: boolean }[]> {
  return withDb(database, async (c) => {
    const { rows } = await c.query<{ name: string; valid: boolean }>(
      `SELECT c.relname AS name, i.indisvalid AS valid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
       WHERE c.relnamespace = 'public'::regnamespace ORDER BY 1`,
    );
    return rows;
  });
}

const FAILING_INDEX = 'CREATE UNIQUE INDEX CONCURRENTLY t_email ON public.t (email);\n';

describe('invalid-index clean-up after a failed migration', () => {
  it('keeps an invalid index that existed before, even when the file changes search_path', async () => {
    const dir = await folderWith(
      `-- chatflow-db: no-transaction\nSET search_path TO pg_catalog;\n${FAILING_INDEX}`,
    );
    await withDb(database, operatorInvalidIndex);
    const result = await cli(database, ['migrate'], { MIGRATIONS_DIR: dir });
    expect(result.code).toBe(1);
    expect(reportedError(result)).toMatch(/could not create unique index "t_email"/);
    expect(await indexes()).toEqual([{ name: 'other_code', valid: false }]);
  });

  it('keeps an invalid index that another session left while the file ran; drops its own', async () => {
    const holder = new pg.Client({ ...testServer, database });
    const operator = new pg.Client({ ...testServer, database });
    await holder.connect();
    await operator.connect();
    try {
      const dir = await folderWith(
        `-- chatflow-db: no-transaction\nSELECT pg_advisory_lock(${LOCK});\nSELECT pg_advisory_unlock(${LOCK});\n${FAILING_INDEX}`,
      );
      await holder.query('SELECT pg_advisory_lock($1)', [LOCK]);
      const run = cli(database, ['migrate'], { MIGRATIONS_DIR: dir });
      // The migration is now inside its file, waiting for the lock; the operator's index fails meanwhile.
      for (let waiting = 0; waiting === 0;) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        const { rows } = await holder.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted",
        );
        waiting = rows[0]?.n ?? 0;
      }
      await operatorInvalidIndex(operator);
      await holder.query('SELECT pg_advisory_unlock($1)', [LOCK]);
      const result = await run;
      expect(result.code).toBe(1);
      expect(logs(result).some((line) => /dropped the invalid index t_email/.test(line.msg))).toBe(true);
      expect(await indexes()).toEqual([{ name: 'other_code', valid: false }]);
    } finally {
      await holder.end();
      await operator.end();
    }
  });
});
