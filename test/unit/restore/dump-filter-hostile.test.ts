/**
 * Hostile archives: each must be refused by the dump filter before any byte of the offending statement
 * reaches psql, fed in one chunk and in 1-byte chunks alike.
 */
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { DumpFilter, DumpFormatError } from '../../../src/restore/dump-filter.js';

const HEADER = [
  '--',
  '-- PostgreSQL database dump',
  '--',
  '',
  "SET client_encoding = 'UTF8';",
  'SET standard_conforming_strings = on;',
  "SELECT pg_catalog.set_config('search_path', '', false);",
  '',
  'CREATE TABLE public.t (id integer, v text);',
  '',
  'COPY public.t (id, v) FROM stdin;',
  '1\tone',
  '\\.',
  '',
  '',
].join('\n');

interface Outcome {
  out: string;
  error: unknown;
}

async function run(sql: string, chunkSize: number, maxStatementBytes?: number): Promise<Outcome> {
  const filter = new DumpFilter({ owner: 'owner', knownRoles: new Set(['app']), maxStatementBytes });
  const buf = Buffer.from(sql);
  const chunks: Buffer[] = [];
  for (let i = 0; i < buf.length; i += chunkSize) chunks.push(buf.subarray(i, i + chunkSize));
  const out: Buffer[] = [];
  try {
    for await (const chunk of Readable.from(chunks).pipe(filter)) out.push(chunk as Buffer);
    return { out: Buffer.concat(out).toString(), error: undefined };
  } catch (error) {
    return { out: Buffer.concat(out).toString(), error };
  }
}

// [what, the hostile text (after HEADER), a fragment of it that must never reach psql, the error says]
const HOSTILE: [string, string, string, RegExp][] = [
  ['DROP DATABASE', 'DROP DATABASE other;\n', 'other', /DROP DATABASE/],
  ['DROP DATABASE with a comment between the words', 'DROP/**/DATABASE other;\n', 'other', /DATABASE/],
  ['DROP DATABASE over two lines, lower case', 'drop\n  database "other";\n', 'other', /DATABASE/],
  [
    'DROP DATABASE after another statement on its line',
    'SET lock_timeout = 0; DROP DATABASE other;\n',
    'other',
    /DATABASE/,
  ],
  ['CREATE DATABASE', 'CREATE DATABASE other;\n', 'other', /DATABASE/],
  ['ALTER DATABASE', 'ALTER DATABASE other OWNER TO app;\n', 'other', /DATABASE/],
  ['ALTER DATABASE SET', "ALTER DATABASE other SET search_path = 'x';\n", 'other', /DATABASE/],
  ['COMMENT ON DATABASE', "COMMENT ON DATABASE other IS 'x';\n", 'other', /DATABASE/],
  ['GRANT ON DATABASE', 'GRANT ALL ON DATABASE other TO app;\n', 'other', /database/],
  ['\\connect', '\\connect other\n', 'other', /meta-command/],
  ['\\c', '\\c other\n', 'other', /meta-command/],
  ['\\!', '\\! touch /tmp/pwned\n', 'pwned', /meta-command/],
  [
    '\\! after a COPY block ended with CRLF',
    'COPY public.t (id, v) FROM stdin;\n2\ttwo\r\n\\.\r\n\\! touch /tmp/pwned\n',
    'pwned',
    /meta-command/,
  ],
  [
    '\\connect after a COPY block ended with CRLF',
    'COPY public.t (id, v) FROM stdin;\n\\.\r\n\\connect other\n',
    'other',
    /meta-command/,
  ],
  [
    'a meta-command at the end of a statement',
    'CREATE TABLE public.u (a int) \\g /tmp/pwned\n',
    'pwned',
    /meta-command/,
  ],
  ['\\restrict not at the start of a line', '  \\restrict abc\n', 'abc', /meta-command/],
  ['\\restrict with more after the key', '\\restrict abc \\! id\n', 'abc', /meta-command/],
  ['ALTER SYSTEM', "ALTER SYSTEM SET archive_command = 'touch /tmp/pwned';\n", 'pwned', /SYSTEM/],
  ['ALTER ROLE', 'ALTER ROLE app SUPERUSER;\n', 'SUPERUSER', /ROLE/],
  ['CREATE ROLE', 'CREATE ROLE evil LOGIN SUPERUSER;\n', 'evil', /ROLE/],
  ['DROP ROLE', 'DROP ROLE app;\n', 'app', /ROLE/],
  ['CREATE USER', "CREATE USER evil PASSWORD 'x';\n", 'evil', /USER/],
  ['ALTER USER', 'ALTER USER app CREATEROLE;\n', 'CREATEROLE', /USER/],
  ['ALTER GROUP', 'ALTER GROUP app ADD USER evil;\n', 'evil', /GROUP/],
  ['DROP GROUP', 'DROP GROUP app;\n', 'app', /GROUP/],
  ['COMMENT ON ROLE', "COMMENT ON ROLE app IS 'x';\n", "'x'", /ROLE/],
  ['DROP OWNED', 'DROP OWNED BY app;\n', 'OWNED', /DROP OWNED/],
  ['CREATE TABLESPACE', "CREATE TABLESPACE evil LOCATION '/tmp';\n", 'evil', /TABLESPACE/],
  [
    'GRANT role membership',
    'GRANT pg_read_server_files TO app;\n',
    'pg_read_server_files',
    /role membership/,
  ],
  [
    'GRANT role membership with admin option',
    'GRANT postgres TO app WITH ADMIN OPTION;\n',
    'ADMIN',
    /role membership/,
  ],
  ['REVOKE role membership', 'REVOKE app FROM owner;\n', 'REVOKE', /role membership/],
  [
    'GRANT on a server parameter',
    'GRANT SET ON PARAMETER log_statement TO app;\n',
    'log_statement',
    /parameter/,
  ],
  ['COPY TO PROGRAM', "COPY public.t TO PROGRAM 'touch /tmp/pwned';\n", 'pwned', /COPY/],
  ['COPY FROM PROGRAM', "COPY public.t FROM PROGRAM 'id';\n", "'id'", /COPY/],
  ['COPY from a server file', "COPY public.t FROM '/etc/passwd';\n", 'passwd', /COPY/],
  ['COPY to a server file', "COPY public.t TO '/tmp/pwned';\n", 'pwned', /COPY/],
  ['COPY of a query', "COPY (SELECT pg_read_file('/etc/passwd')) TO STDOUT;\n", 'passwd', /COPY/],
  [
    'COPY FROM stdin with text after it',
    'COPY public.t (id) FROM stdin; DROP DATABASE other;\n1\n\\.\n',
    'other',
    /after a COPY/,
  ],
  ['SET ROLE LOCAL', 'SET LOCAL ROLE postgres;\n', 'postgres', /SET LOCAL/],
  ['SET SESSION ROLE', 'SET SESSION ROLE postgres;\n', 'postgres', /SET SESSION/],
  [
    'SET SESSION AUTHORIZATION with more',
    "SET SESSION AUTHORIZATION 'postgres'; RESET ROLE;\n",
    'RESET',
    /RESET ROLE/,
  ],
  ['RESET ROLE', 'RESET ROLE;\n', 'RESET', /RESET ROLE/],
  [
    'SET standard_conforming_strings off',
    'SET standard_conforming_strings = off;\n',
    'off',
    /standard_conforming_strings/,
  ],
  [
    'SET of a server setting',
    "SET session_replication_role = 'replica';\n",
    'replica',
    /SET SESSION_REPLICATION_ROLE/,
  ],
  ['LOAD', "LOAD '/tmp/evil.so';\n", 'evil', /LOAD/],
  ['DO', 'DO $$ BEGIN PERFORM pg_catalog.pg_reload_conf(); END $$;\n', 'reload', /DO/],
  ['CALL', 'CALL public.p();\n', 'CALL', /CALL/],
  ['TRUNCATE', 'TRUNCATE public.t;\n', 'TRUNCATE', /TRUNCATE/],
  ['INSERT', "INSERT INTO public.t SELECT 1, pg_read_file('/etc/passwd');\n", 'passwd', /INSERT/],
  ['CHECKPOINT', 'CHECKPOINT;\n', 'CHECKPOINT', /CHECKPOINT/],
  ['BEGIN with options', 'BEGIN ISOLATION LEVEL SERIALIZABLE;\n', 'SERIALIZABLE', /BEGIN/],
  ['SELECT of a server file', "SELECT pg_read_file('/etc/passwd');\n", 'passwd', /SELECT/],
  ['SELECT lo_import', "SELECT pg_catalog.lo_import('/etc/passwd');\n", 'passwd', /SELECT/],
  ['setval with a subquery', "SELECT pg_catalog.setval('s', (SELECT 1), true);\n", '(SELECT 1)', /SELECT/],
  [
    'set_config of another setting',
    "SELECT pg_catalog.set_config('standard_conforming_strings', 'off', false);\n",
    'off',
    /set_config/,
  ],
  [
    'a C function',
    "CREATE FUNCTION public.evil() RETURNS int LANGUAGE c AS '/tmp/evil.so', 'evil';\n",
    'evil',
    /function in c\b/,
  ],
  [
    'an untrusted-language function',
    'CREATE FUNCTION public.sh() RETURNS int LANGUAGE plpython3u AS $$ import os $$;\n',
    'import os',
    /plpython3u/,
  ],
  [
    'CREATE EXTENSION dblink',
    'CREATE EXTENSION IF NOT EXISTS dblink WITH SCHEMA public;\n',
    'dblink',
    /dblink/,
  ],
  ['CREATE EXTENSION file_fdw', 'CREATE EXTENSION "file_fdw";\n', 'file_fdw', /file_fdw/],
  ['CREATE LANGUAGE plperlu', 'CREATE OR REPLACE PROCEDURAL LANGUAGE plperlu;\n', 'plperlu', /plperlu/],
  [
    'a COPY inside parentheses (psql reads it as part of the statement, not as COPY)',
    'CREATE RULE r AS ON INSERT TO public.t DO ALSO (NOTIFY x; COPY public.t FROM stdin;\n); DROP DATABASE other;\n',
    'other',
    /DATABASE/,
  ],
  [
    'a dollar quote right after a number',
    'COMMENT ON TABLE public.t IS 1$x$; DROP DATABASE a; $x$; DROP DATABASE other;\n',
    'other',
    /DATABASE/,
  ],
  [
    'a psql variable (psql lexes its value: VERSION holds parentheses)',
    'COMMENT ON TABLE public.t IS :VERSION; DROP DATABASE other;\n',
    'VERSION',
    /psql variable/,
  ],
  ['a quoted psql variable', "COMMENT ON TABLE public.t IS :'DBNAME';\n", 'DBNAME', /psql variable/],
  [
    'CREATE SUBSCRIPTION',
    "CREATE SUBSCRIPTION s CONNECTION 'host=evil' PUBLICATION p;\n",
    'evil',
    /SUBSCRIPTION/,
  ],
  [
    'an identifier ending in a non-ASCII letter before $tag$',
    "COMMENT ON TABLE public.é$x$ IS 'a'; DROP DATABASE other; $x$;\n",
    'other',
    /DATABASE/,
  ],
  [
    'an E string after a non-ASCII letter',
    "COMMENT ON TABLE public.té IS 'a'; COMMENT ON TABLE public.éE'x\\'; DROP DATABASE other; --';\n",
    'other',
    /DATABASE/,
  ],
  [
    'an archive cut inside a statement',
    'CREATE TABLE public.u (a int',
    'public.u',
    /ends inside a statement/,
  ],
];

describe('the dump filter refuses hostile archives', () => {
  it("ends a statement where psql does: not inside parentheses or a function's BEGIN ATOMIC … END", async () => {
    const sql = `${HEADER}CREATE FUNCTION public.f(i integer) RETURNS integer
    LANGUAGE sql
    BEGIN ATOMIC
 SELECT CASE WHEN (i > 0) THEN i ELSE 0 END AS "case";
END;
CREATE RULE r AS ON DELETE TO public.t DO ( NOTIFY a; NOTIFY b; );
CREATE VIEW public.v AS
 SELECT (ARRAY[1, 2, 3])[1:2] AS a, (t.id)::text AS b, '{"k": ":VERSION"}'::jsonb AS c
   FROM public.t;
`;
    for (const size of [1, 1 << 30]) {
      const { out, error } = await run(sql, size);
      expect(error).toBeUndefined();
      expect(out).toBe(sql);
    }
  });

  it.each(HOSTILE)('%s', async (_what, hostile, fragment, message) => {
    for (const size of [Infinity, 1]) {
      const { out, error } = await run(HEADER + hostile, size === Infinity ? 1 << 30 : size);
      expect(error, `chunk size ${size}`).toBeInstanceOf(DumpFormatError);
      expect((error as Error).message).toMatch(message);
      // Nothing of the offending statement went on to psql; what did is the clean prefix.
      expect(HEADER.startsWith(out) || out.startsWith(HEADER), out).toBe(true);
      expect(out.slice(HEADER.length)).not.toContain(fragment);
    }
  });

  it('refuses a statement longer than the bound instead of holding it', async () => {
    const big = `COMMENT ON TABLE public.t IS '${'x'.repeat(70_000)}';\n`;
    const { error } = await run(HEADER + big, 4096, 64 * 1024);
    expect(error).toBeInstanceOf(DumpFormatError);
    expect((error as Error).message).toMatch(/longer than/);
    // A line that never ends is bounded too.
    const endless = await run(HEADER + `-- ${'y'.repeat(70_000)}`, 4096, 64 * 1024);
    expect(endless.error).toBeInstanceOf(DumpFormatError);
  });

  it("drops pg_dump's own SET ROLE / SET SESSION AUTHORIZATION instead of running them", async () => {
    const sql = `${HEADER}SET ROLE postgres;\nSET SESSION AUTHORIZATION 'postgres';\nRESET SESSION AUTHORIZATION;\n`;
    for (const size of [1, 1 << 30]) {
      const { out, error } = await run(sql, size);
      expect(error).toBeUndefined();
      expect(out).toBe(HEADER);
    }
  });
});
