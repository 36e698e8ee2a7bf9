/**
 * The three ways to the ChatFlow schema must agree: init-complete.sql, the migration chain on an empty
 * database, and the chain on legacy databases; legacy rows survive; a rerun changes nothing; rows that
 * block a new constraint stop the migration without changing anything.
 */
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrationChecksum } from '../../../src/migrations/checksum.js';
import { checkSchemaDrift } from '../../../scripts/schema-check.js';
import { loadConfig } from '../../../src/config/load.js';
import { silentLogger } from '../../../src/lib/logger.js';
import { REPO_ROOT, baseEnv } from '../../helpers/cli.js';
import { adminQuery, createDatabase, dbEnv, dropDatabase, withDb } from '../../helpers/database.js';
import {
  LEGACY_EXTRA_INDEX,
  MIGRATIONS_DIR,
  applyChain,
  applyInit,
  applySqlFile,
  firstDifference,
  loadFixture,
  migrationFiles,
  publicColumns,
  schemaFingerprint,
  tableChecksums,
  type LegacyFixture,
} from '../../helpers/schema.js';

const databases: string[] = [];
async function database(): Promise<string> {
  const name = await createDatabase('cfdb_schema');
  databases.push(name);
  return name;
}

let reference: string;
beforeAll(async () => {
  const init = await database();
  await applyInit(init);
  reference = await schemaFingerprint(init);
});
afterAll(async () => {
  for (const name of databases) await dropDatabase(name);
});

function expectSameSchema(actual: string, label: string): void {
  expect(firstDifference(reference, actual, ['init-complete.sql', label]) ?? 'same').toBe('same');
}

describe('fresh deployment', () => {
  it('the chain on an empty database builds exactly what init-complete.sql builds', async () => {
    const db = await database();
    await applyChain(db);
    expectSameSchema(await schemaFingerprint(db), 'chain on empty');
  });

  it('rerunning the chain changes nothing', async () => {
    const db = await database();
    await applyChain(db);
    await applyChain(db);
    expectSameSchema(await schemaFingerprint(db), 'chain twice');
  });

  it('init-complete.sql stamps every migration so that migrate has nothing to do', async () => {
    const db = await database();
    await applyInit(db);
    const { rows } = await adminQuery<{
      version: string;
      name: string;
      checksum: string;
      duration_ms: number;
    }>(
      'SELECT version, name, checksum, duration_ms FROM chatflow_db.schema_migrations ORDER BY version',
      [],
      db,
    );
    expect(rows).toEqual(
      migrationFiles(MIGRATIONS_DIR).map((file) => ({
        version: basename(file).slice(0, 3),
        name: basename(file),
        checksum: migrationChecksum(readFileSync(file, 'utf8')),
        duration_ms: 0,
      })),
    );
  });

  it('init-complete.sql leaves nothing behind when it fails', async () => {
    const db = await database();
    // A table in the way makes a CREATE TABLE in the middle of the file fail.
    await adminQuery('CREATE TABLE public.broadcasts (id integer)', [], db);
    await expect(applyInit(db)).rejects.toThrow(/relation "broadcasts" already exists/);
    const { rows } = await adminQuery<{ name: string }>(
      `SELECT relname AS name FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'r'
       UNION ALL SELECT nspname FROM pg_namespace WHERE nspname = 'chatflow_db'
       UNION ALL SELECT extname FROM pg_extension WHERE extname = 'uuid-ossp'`,
      [],
      db,
    );
    expect(rows.map((r) => r.name)).toEqual(['broadcasts']);
  });
});

describe.each<LegacyFixture>(['legacy', 'legacy-evolution'])('a %s database', (fixture) => {
  let db: string;
  let before: Awaited<ReturnType<typeof tableChecksums>>;
  let columnsBefore: Record<string, string[]>;
  let notices: string;

  beforeAll(async () => {
    db = await database();
    await loadFixture(db, fixture);
    columnsBefore = await publicColumns(db);
    before = await tableChecksums(db);
    notices = await applyChain(db);
  });

  it('converges onto the same schema (the operator-added index stays and is named)', async () => {
    expect(notices).toContain(
      `index ${LEGACY_EXTRA_INDEX} on messages is not part of the ChatFlow schema; left in place`,
    );
    const withExtra = await schemaFingerprint(db);
    expect(withExtra).toContain(`CREATE INDEX ${LEGACY_EXTRA_INDEX} ON public.messages`);
    // Without the operator's index, nothing may differ.
    const copy = await createDatabase('cfdb_schema');
    databases.push(copy);
    await adminQuery(`DROP DATABASE "${copy}"`);
    await adminQuery(`CREATE DATABASE "${copy}" TEMPLATE "${db}"`);
    await adminQuery(`DROP INDEX ${LEGACY_EXTRA_INDEX}`, [], copy);
    expectSameSchema(await schemaFingerprint(copy), `chain on ${fixture}`);
  });

  it('keeps every row and every value (timestamps as instants)', async () => {
    const after = await tableChecksums(db, columnsBefore);
    expect(after).toEqual(before);
  });

  it('fills the later columns from what the rows already say', async () => {
    await withDb(db, async (client) => {
      const q = async (sql: string): Promise<unknown[]> =>
        (await client.query<Record<string, unknown>>(sql)).rows;
      expect(await q('SELECT id, user_id FROM messages ORDER BY id')).toEqual([
        { id: 1, user_id: 1 },
        { id: 2, user_id: 1 },
        { id: 3, user_id: 2 },
      ]);
      expect(await q('SELECT id, user_id FROM broadcast_messages ORDER BY id')).toEqual([
        { id: 1, user_id: 1 },
        { id: 2, user_id: 1 },
        { id: 3, user_id: 2 },
      ]);
      expect(
        await q(
          'SELECT count(*)::int AS n FROM webhook_events WHERE phone_id IS DISTINCT FROM phone_number_id OR updated_at IS DISTINCT FROM created_at',
        ),
      ).toEqual([{ n: 0 }]);
      expect(
        await q(`SELECT count(*)::int AS n FROM scheduled_messages
                      WHERE to_number IS DISTINCT FROM recipient OR content IS DISTINCT FROM message
                         OR message_type IS DISTINCT FROM 'text' OR media_url IS NOT NULL`),
      ).toEqual([{ n: 0 }]);
      expect(
        await q(
          'SELECT count(*)::int AS n FROM messages WHERE direction IS NOT NULL OR provider IS NOT NULL',
        ),
      ).toEqual([{ n: 0 }]);
    });
  });

  it('changes nothing when the chain runs again', async () => {
    const schema = await schemaFingerprint(db);
    const data = await tableChecksums(db);
    await applyChain(db);
    expect(firstDifference(schema, await schemaFingerprint(db)) ?? 'same').toBe('same');
    expect(await tableChecksums(db)).toEqual(data);
  });
});

describe('a legacy database with orphans', () => {
  it('stops at the converging migration, names table.column and counts, and changes nothing', async () => {
    const db = await database();
    await loadFixture(db, 'legacy-orphans');
    const files = migrationFiles(MIGRATIONS_DIR);
    const converge = files.findIndex((f) => basename(f).startsWith('007_'));
    await applyChain(db, files.slice(0, converge));
    const schema = await schemaFingerprint(db);
    const data = await tableChecksums(db);

    const failure = applySqlFile(db, files[converge]!);
    await expect(failure).rejects.toThrow(
      /scheduled_messages\.user_id -> users\.id \(scheduled_messages_user_id_fkey\): 2 rows/,
    );
    await expect(failure).rejects.toThrow(
      /scheduled_messages\.phone_id -> phone_numbers\.id \(scheduled_messages_phone_id_fkey\): 1 rows/,
    );
    await expect(failure).rejects.toThrow(/no row was deleted/);

    expect(firstDifference(schema, await schemaFingerprint(db)) ?? 'same').toBe('same');
    expect(await tableChecksums(db)).toEqual(data);
    expect(data.scheduled_messages?.rows).toBe(5);
  });
});

describe('npm run schema:check', () => {
  it('passes when init-complete.sql and the migrations agree', async () => {
    const result = await runNode(['dist/scripts/schema-check.js']);
    expect(result.stdout).toMatch(/build the same schema/);
    expect(result.code).toBe(0);
  });

  it('names the first difference when they drift', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfdb-drift-'));
    try {
      cpSync(MIGRATIONS_DIR, dir, { recursive: true });
      writeFileSync(
        join(dir, '999_drift.sql'),
        'BEGIN;\nALTER TABLE public.users ADD COLUMN IF NOT EXISTS nickname text;\nCOMMIT;\n',
      );
      const config = loadConfig({ ...dbEnv('postgres') });
      const result = await checkSchemaDrift(config, { logger: silentLogger }, { migrationsDir: dir });
      expect(result.drift).toMatch(/first difference at line \d+ \(columns\)/);
      expect(result.drift).toMatch(/migrations: users\.nickname #10 text/);
      const { rows } = await adminQuery<{ n: number }>(
        "SELECT count(*)::int AS n FROM pg_database WHERE datname LIKE 'chatflow_schema_check_%'",
      );
      expect(rows[0]?.n).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

function runNode(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: REPO_ROOT,
      env: { ...baseEnv(), ...dbEnv('postgres') },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
