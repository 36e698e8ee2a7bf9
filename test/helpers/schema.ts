/**
 * Schema helpers for integration tests: build a database from init-complete.sql, from the migration chain
 * or from a legacy fixture, and describe it (fingerprint, per-table content checksums).
 * The fingerprint itself lives in src/migrations/schema-fingerprint.ts, which `npm run schema:check` uses too.
 */
import { fileURLToPath } from 'node:url';
import { psqlFile } from '../../src/lib/psql-file.js';
import { migrationFiles } from '../../src/migrations/folder.js';
import { fingerprintSchema } from '../../src/migrations/schema-fingerprint.js';
import { dbEnv, withDb } from './database.js';

export { psqlFile } from '../../src/lib/psql-file.js';
export { migrationFiles } from '../../src/migrations/folder.js';
export { fingerprintSchema, firstDifference } from '../../src/migrations/schema-fingerprint.js';

export const INIT_SQL = fileURLToPath(new URL('../../initdb/init-complete.sql', import.meta.url));
export const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations', import.meta.url));
export const FIXTURES_DIR = fileURLToPath(new URL('../fixtures', import.meta.url));

/** Legacy fixtures: `legacy` (has incoming_messages, no evolution_instance), `legacy-evolution` (the
 * other way round), `legacy-orphans` (legacy plus scheduled messages whose user or phone is gone). */
export type LegacyFixture = 'legacy' | 'legacy-evolution' | 'legacy-orphans';

/** The operator-added index in the legacy fixtures, which migrations leave in place (and name in a notice). */
export const LEGACY_EXTRA_INDEX = 'idx_messages_to_number_report';

function psqlEnv(database: string): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: process.env.HOME, ...dbEnv(database) };
}

/** psql -v ON_ERROR_STOP=1 -f `file` into `database`; resolves with psql's stderr (notices). */
export function applySqlFile(database: string, file: string): Promise<string> {
  return psqlFile(file, psqlEnv(database));
}

/** Runs init-complete.sql as the postgres image would. */
export function applyInit(database: string): Promise<string> {
  return applySqlFile(database, INIT_SQL);
}

/** Applies every migration in order, each with psql -f (the old manual process); returns all notices. */
export async function applyChain(database: string, files = migrationFiles(MIGRATIONS_DIR)): Promise<string> {
  let notices = '';
  for (const file of files) notices += await applySqlFile(database, file);
  return notices;
}

export function loadFixture(database: string, fixture: LegacyFixture): Promise<string> {
  return applySqlFile(database, `${FIXTURES_DIR}/${fixture}.sql`);
}

/** The fingerprint of `database`'s public schema (see src/migrations/schema-fingerprint.ts). */
export function schemaFingerprint(database: string): Promise<string> {
  return withDb(database, (client) => fingerprintSchema(client));
}

/**
 * Row count and md5 of every public table's rows (ordered by id), over the columns given or all of them.
 * Timestamps enter as instants (epoch seconds; timestamp without time zone read as UTC), so that a
 * conversion to timestamptz that keeps every instant keeps the checksum.
 */
export async function tableChecksums(
  database: string,
  columns?: Record<string, string[]>,
): Promise<Record<string, { rows: number; md5: string }>> {
  return withDb(database, async (client) => {
    const { rows: cols } = await client.query<{ table_name: string; column_name: string; data_type: string }>(
      `SELECT table_name, column_name, data_type FROM information_schema.columns
       WHERE table_schema = 'public' ORDER BY table_name, ordinal_position`,
    );
    const byTable = new Map<string, string[]>();
    for (const c of cols) {
      if (columns && !(columns[c.table_name] ?? []).includes(c.column_name)) continue;
      const ident = `"${c.column_name}"`;
      const expr = c.data_type.startsWith('timestamp')
        ? `extract(epoch from ${ident})::text`
        : `${ident}::text`;
      byTable.set(c.table_name, [...(byTable.get(c.table_name) ?? []), `coalesce(${expr}, '<null>')`]);
    }
    const result: Record<string, { rows: number; md5: string }> = {};
    for (const [table, exprs] of byTable) {
      const { rows } = await client.query<{ rows: string; md5: string }>(
        `SELECT count(*) AS rows, md5(coalesce(string_agg(concat_ws('|', ${exprs.join(', ')}), E'\\n' ORDER BY id), ''))
         AS md5 FROM public."${table}"`,
      );
      result[table] = { rows: Number(rows[0]?.rows), md5: rows[0]?.md5 ?? '' };
    }
    return result;
  });
}

/** The columns of every public table, for tableChecksums(database, columns) after a migration. */
export async function publicColumns(database: string): Promise<Record<string, string[]>> {
  return withDb(database, async (client) => {
    const { rows } = await client.query<{ table_name: string; column_name: string }>(
      `SELECT table_name, column_name FROM information_schema.columns
       WHERE table_schema = 'public' ORDER BY table_name, ordinal_position`,
    );
    const columns: Record<string, string[]> = {};
    for (const r of rows) (columns[r.table_name] ??= []).push(r.column_name);
    return columns;
  });
}
