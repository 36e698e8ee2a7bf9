/**
 * The dump filter on what pg_dump really writes: a seeded database with CRLF and backslashes inside COPY
 * rows, a value that is `\.`, jsonb, arrays, function bodies in dollar quotes (holding `;`, `$$`, lines
 * that look like statements), comments, a view, a materialized view, a sequence, a large object and
 * grants. Every variant passes byte-identical (ownership statements aside), fed whole or in tiny chunks,
 * and restores to the same rows.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DumpFilter } from '../../../src/restore/dump-filter.js';
import { createDatabase, dbEnv, dropDatabase, withDb } from '../../helpers/database.js';

let source: string;
const databases: string[] = [];

const SEED = String.raw`
CREATE EXTENSION IF NOT EXISTS "uuid-ossp" WITH SCHEMA public;
CREATE TABLE notes (
    id serial PRIMARY KEY,
    body text NOT NULL CHECK (body <> 'forbidden;'),
    data jsonb DEFAULT '{}'::jsonb,
    tags text[] DEFAULT '{}',
    created_at timestamptz DEFAULT now()
);
COMMENT ON TABLE notes IS E'Notes; with a quote '' and a\nnewline and a backslash \\ and $$ dollars';
COMMENT ON COLUMN notes.body IS 'DROP DATABASE other; -- not a statement';
INSERT INTO notes (body, data, tags) VALUES
  (E'line one\r\nline two\r\n', '{"a": [1, 2, {"b": "c;d"}], "crlf": "x\r\ny"}', '{a,"b c"}'),
  (E'\\.', '{"k": "\\\\."}', '{}'),
  (E'tab\there\\and back\\slash', '[]', '{"\\\\."}'),
  (E'\\.\r', 'null', NULL),
  (E'ends with CR\r', '{"s": "ALTER TABLE notes OWNER TO x;"}', '{}'),
  (repeat('long ', 20000), '{}', '{}');
CREATE FUNCTION note_summary(n notes) RETURNS text LANGUAGE plpgsql AS $fn$
DECLARE
    s text := $q$it's; a "quoted" $$ thing$q$;
BEGIN
    -- ALTER TABLE notes OWNER TO someone;
    RETURN s || ';' || n.body;
END
$fn$;
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.created_at = now(); -- \.
    RETURN NEW;
END;
$$;
CREATE FUNCTION clamp(i integer) RETURNS integer LANGUAGE sql
BEGIN ATOMIC
    SELECT CASE WHEN i > 0 THEN i ELSE 0 END;
END;
CREATE RULE notes_deleted AS ON DELETE TO notes DO ALSO (NOTIFY notes_changed; NOTIFY notes_gone);
CREATE TRIGGER notes_touch BEFORE UPDATE ON notes FOR EACH ROW EXECUTE FUNCTION touch();
CREATE INDEX notes_data ON notes USING gin (data);
CREATE VIEW note_bodies AS SELECT id, note_summary(notes.*) AS summary FROM notes;
CREATE MATERIALIZED VIEW note_counts AS SELECT count(*) AS n FROM notes;
CREATE SEQUENCE counter START 40;
SELECT setval('counter', 42);
SELECT lo_from_bytea(0, E'\\x00010203'::bytea);
GRANT SELECT ON notes TO PUBLIC;
`;

beforeAll(async () => {
  source = await createDatabase('cfdb_pgdump');
  databases.push(source);
  await withDb(source, (c) => c.query(SEED));
});

afterAll(async () => {
  for (const db of databases) await dropDatabase(db);
});

function pgDump(args: string[]): Buffer {
  return execFileSync('pg_dump', args, {
    env: { ...process.env, ...dbEnv(source) },
    maxBuffer: 64 << 20,
  });
}

async function filtered(dump: Buffer, chunkSize: number): Promise<Buffer> {
  const filter = new DumpFilter({ owner: 'postgres', knownRoles: new Set(['postgres']) });
  const chunks: Buffer[] = [];
  for (let i = 0; i < dump.length; i += chunkSize) chunks.push(dump.subarray(i, i + chunkSize));
  const out: Buffer[] = [];
  for await (const chunk of Readable.from(chunks).pipe(filter)) out.push(chunk as Buffer);
  expect(filter.stats.complete).toBe(true);
  return Buffer.concat(out);
}

const OWNER_LINE = /^ALTER [A-Z ]+ .* OWNER TO [a-z_"]+;\n/gm;

describe('the dump filter on real pg_dump output', () => {
  it.each([
    ['plain, --no-owner', ['--no-owner'], false],
    ['with --clean --if-exists', ['--no-owner', '--clean', '--if-exists'], false],
    ['with owners (OWNER TO left out)', [], true],
    ['with --use-set-session-authorization', ['--use-set-session-authorization'], true],
  ])('%s: byte-identical, whole and in small chunks', async (_name, args, dropsOwnership) => {
    const dump = pgDump(args);
    let expected = dump.toString();
    if (dropsOwnership) {
      expected = expected.replace(OWNER_LINE, '').replace(/^(?:SET|RESET) SESSION AUTHORIZATION.*;\n/gm, '');
    }
    expect(dump.toString()).toContain('line one\\r\\nline two');
    for (const size of [dump.length, 65536, 7, 1]) {
      expect((await filtered(dump, size)).toString(), `chunk size ${size}`).toBe(expected);
    }
  });

  it('restores what it passed: the same rows, CRLF and `\\.` values included', async () => {
    const target = await createDatabase('cfdb_pgdump_t');
    databases.push(target);
    const sql = await filtered(pgDump(['--no-owner']), 4096);
    const psql = spawnSync('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1'], {
      input: sql,
      env: { ...process.env, ...dbEnv(target) },
    });
    expect(psql.status, psql.stderr.toString()).toBe(0);
    const rows = (db: string) =>
      withDb(
        db,
        async (c) => (await c.query<Record<string, unknown>>('SELECT * FROM notes ORDER BY id')).rows,
      );
    expect(await rows(target)).toEqual(await rows(source));
  });
});
