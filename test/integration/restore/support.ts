/**
 * Fixtures of the restore tests: a seeded database, content snapshots, and archives made the way the
 * old script made them (`pg_dump | gzip`), optionally with a manifest of the right (or wrong) sha256.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { adminQuery, testServer, withDb } from '../../helpers/database.js';

export const SEED_SQL = `
CREATE TABLE users (id serial PRIMARY KEY, name text NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE notes (
  id serial PRIMARY KEY,
  user_id integer REFERENCES users ON DELETE CASCADE,
  body text,
  tags text[] DEFAULT '{}',
  meta jsonb
);
CREATE INDEX notes_user_id ON notes (user_id);
-- A function body whose lines look like statements the restore filters: they must survive.
CREATE FUNCTION trap() RETURNS text LANGUAGE plpgsql AS $f$
BEGIN
  RETURN '
ALTER TABLE users OWNER TO nobody;
GRANT ALL ON users TO nobody;';
END
$f$;
INSERT INTO users (name, created_at) SELECT 'user ' || g, '2024-01-01'::timestamptz + g * interval '1 hour' FROM generate_series(1, 200) g;
-- Data lines that look like SQL, a COPY terminator, backslashes and newlines.
INSERT INTO notes (user_id, body, tags, meta)
  SELECT (g % 200) + 1, E'line\\nALTER TABLE users OWNER TO y;\\n\\\\.\\n' || g, ARRAY['a', 'b' || g], jsonb_build_object('g', g)
  FROM generate_series(1, 3000) g;
`;

export async function seed(database: string): Promise<void> {
  await withDb(database, (c) => c.query(SEED_SQL));
}

/** Every public table's rows (as an md5 of the sorted rows), sequence positions, and the trap function. */
export async function snapshot(database: string): Promise<Record<string, string>> {
  return withDb(database, async (client) => {
    const result: Record<string, string> = {};
    const tables = await client.query<{ relname: string }>(
      "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'r' ORDER BY relname",
    );
    for (const { relname } of tables.rows) {
      const { rows } = await client.query<{ digest: string; n: string }>(
        `SELECT md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) AS digest, count(*) AS n FROM public."${relname}" t`,
      );
      result[`table ${relname}`] = `${rows[0]?.n}:${rows[0]?.digest}`;
    }
    const sequences = await client.query<{ name: string; last: string | null }>(
      "SELECT sequencename AS name, last_value::text AS last FROM pg_sequences WHERE schemaname = 'public'",
    );
    for (const s of sequences.rows) result[`sequence ${s.name}`] = String(s.last);
    const fn = await client.query<{ def: string }>(
      "SELECT pg_get_functiondef(p.oid) AS def FROM pg_proc p WHERE proname = 'trap' AND pronamespace = 'public'::regnamespace",
    );
    if (fn.rows[0]) result['function trap'] = fn.rows[0].def;
    return result;
  });
}

/** The plain SQL pg_dump writes for `database` (small test databases only: it is held in memory). */
export function dumpSql(database: string): string {
  return execFileSync(
    'pg_dump',
    ['-h', testServer.host, '-p', String(testServer.port), '-U', testServer.user, database],
    {
      encoding: 'utf8',
      env: { ...process.env, PGPASSWORD: testServer.password ?? '' },
      maxBuffer: 256 * 1024 * 1024,
    },
  );
}

export interface ArchiveOptions {
  /** Write a manifest (default true). */
  manifest?: boolean;
  /** Edits the SQL before compression. */
  editSql?: (sql: string) => string;
  /** Edits the stored bytes after the manifest's sha256 was computed. */
  editBytes?: (gz: Buffer) => Buffer;
  /** A sha256 to write instead of the right one. */
  sha256?: string;
}

export function manifestFor(name: string, gz: Buffer, database: string, sha256?: string): string {
  return `${JSON.stringify(
    {
      format: 'chatflow-db-backup/1',
      name,
      archive: `${name}.sql.gz`,
      sha256: sha256 ?? createHash('sha256').update(gz).digest('hex'),
      size: gz.length,
      createdAt: new Date().toISOString(),
      database,
      serverVersion: '15',
      pgDumpVersion: '15',
      latestMigration: null,
      durationMs: 1,
      automatic: false,
    },
    null,
    2,
  )}\n`;
}

/** `pg_dump | gzip` of `database` into `<dir>/<name>.sql.gz`, plus a manifest unless told otherwise. */
export function writeArchive(
  database: string,
  dir: string,
  name: string,
  options: ArchiveOptions = {},
): Buffer {
  const sql = (options.editSql ?? ((s: string) => s))(dumpSql(database));
  const gz = gzipSync(sql);
  const stored = options.editBytes ? options.editBytes(gz) : gz;
  writeFileSync(join(dir, `${name}.sql.gz`), stored);
  if (options.manifest !== false)
    writeFileSync(join(dir, `${name}.manifest.json`), manifestFor(name, gz, database, options.sha256));
  return stored;
}

/** Databases whose name starts with `prefix` (the target and everything a restore made next to it). */
export async function databasesStartingWith(prefix: string): Promise<string[]> {
  const { rows } = await adminQuery<{ datname: string }>(
    'SELECT datname FROM pg_database WHERE starts_with(datname, $1) ORDER BY datname',
    [prefix],
  );
  return rows.map((r) => r.datname);
}

export async function dropDatabasesStartingWith(prefix: string): Promise<void> {
  for (const name of await databasesStartingWith(prefix)) {
    await adminQuery(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  }
}

/** Messages of the JSON log lines in a CLI's stderr. */
export function logMessages(stderr: string): string[] {
  return stderr
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => (JSON.parse(line) as { msg?: string }).msg ?? '');
}
