import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { DumpFilter, DumpFormatError } from '../../../src/restore/dump-filter.js';
import { wallClockStamp } from '../../../src/lib/clock.js';
import { restoreNames } from '../../../src/restore/database-names.js';

async function filter(
  sql: string,
  chunkSize = 7,
  knownRoles = ['app'],
): Promise<{ out: string; filter: DumpFilter }> {
  const f = new DumpFilter({ owner: 'owner', knownRoles: new Set(knownRoles) });
  const buf = Buffer.from(sql);
  const chunks: Buffer[] = [];
  for (let i = 0; i < buf.length; i += chunkSize) chunks.push(buf.subarray(i, i + chunkSize));
  const out: Buffer[] = [];
  for await (const chunk of Readable.from(chunks).pipe(f)) out.push(chunk as Buffer);
  return { out: Buffer.concat(out).toString(), filter: f };
}

const COPY = 'COPY public.t (id, v) FROM stdin;\n1\tALTER TABLE x OWNER TO y;\n2\t\\\\.\n\\.\n';

describe('DumpFilter', () => {
  it.each([
    ['ALTER TABLE public.t OWNER TO someone;\n', ''],
    ['ALTER FUNCTION public.f() OWNER TO "Some One";\n', ''],
    ['ALTER SCHEMA public OWNER TO pg_database_owner;\n', ''],
    ['SET SESSION AUTHORIZATION x;\nRESET SESSION AUTHORIZATION;\n', ''],
    ['GRANT SELECT ON TABLE public.t TO ghost;\n', ''],
    ['REVOKE ALL ON TABLE public.t FROM "Ghost";\n', ''],
    ['GRANT SELECT ON TABLE public.t TO app;\n', 'GRANT SELECT ON TABLE public.t TO app;\n'],
    ['GRANT USAGE ON SCHEMA public TO PUBLIC;\n', 'GRANT USAGE ON SCHEMA public TO PUBLIC;\n'],
    ['ALTER DEFAULT PRIVILEGES FOR ROLE ghost IN SCHEMA public GRANT SELECT ON TABLES TO app;\n', ''],
    [
      'ALTER DEFAULT PRIVILEGES FOR ROLE owner IN SCHEMA public GRANT SELECT ON TABLES TO app;\n',
      'ALTER DEFAULT PRIVILEGES FOR ROLE owner IN SCHEMA public GRANT SELECT ON TABLES TO app;\n',
    ],
    [
      'ALTER TABLE ONLY public.t\n    ADD CONSTRAINT t_pkey PRIMARY KEY (id);\n',
      'ALTER TABLE ONLY public.t\n    ADD CONSTRAINT t_pkey PRIMARY KEY (id);\n',
    ],
    [
      '\\restrict abc123\nSET lock_timeout = 0;\n\\unrestrict abc123\n',
      '\\restrict abc123\nSET lock_timeout = 0;\n\\unrestrict abc123\n',
    ],
  ])('%j -> %j', async (input, expected) => {
    for (const size of [1, 5, 4096]) expect((await filter(input, size)).out).toBe(expected);
  });

  it('passes COPY data and function bodies through untouched, at every chunk size', async () => {
    const body =
      "CREATE FUNCTION f() RETURNS text LANGUAGE sql AS $f$\nSELECT '\nALTER TABLE t OWNER TO x;\n'\n$f$;\n";
    const quoted = "COMMENT ON TABLE t IS E'it\\'s\nGRANT ALL ON t TO ghost;\n';\n";
    const sql = `${body}${quoted}${COPY}ALTER TABLE t OWNER TO x;\n-- PostgreSQL database dump complete\n`;
    const expected = `${body}${quoted}${COPY}-- PostgreSQL database dump complete\n`;
    for (const size of [1, 2, 3, 7, 64, 100_000]) {
      const { out, filter: f } = await filter(sql, size);
      expect(out).toBe(expected);
      expect(f.stats.complete).toBe(true);
      expect(f.stats.sqlBytes).toBe(Buffer.byteLength(expected));
    }
  });

  it('notes a missing "dump complete" line', async () => {
    expect((await filter(`SET lock_timeout = 0;\n${COPY}`)).filter.stats.complete).toBe(false);
  });

  it.each(['\\! rm -rf /\n', '\\connect other\n', 'SELECT 1 \\g /tmp/x\n'])(
    'refuses meta-command %j',
    async (sql) => {
      await expect(filter(sql)).rejects.toBeInstanceOf(DumpFormatError);
    },
  );

  it('records roles whose grants were dropped', async () => {
    const { filter: f } = await filter(
      'GRANT SELECT ON TABLE t TO ghost;\nGRANT SELECT ON TABLE t TO app;\n',
    );
    expect([...f.stats.unknownRoles]).toEqual(['ghost']);
  });
});

describe('restoreNames', () => {
  const at = new Date('2024-02-10T02:03:04Z');
  it('names both databases after the target and the time in TZ', () => {
    expect(wallClockStamp(at, 'UTC')).toBe('20240210_020304');
    expect(wallClockStamp(at, 'Europe/Berlin')).toBe('20240210_030304');
    expect(restoreNames('chatflow', at, 'UTC')).toEqual({
      incoming: 'chatflow_restore_20240210_020304',
      previous: 'chatflow_before_restore_20240210_020304',
    });
  });
  it('shortens the prefix so a name never exceeds 63 bytes', () => {
    const names = restoreNames('x'.repeat(63), at, 'UTC');
    expect(Buffer.byteLength(names.previous)).toBe(63);
    expect(names.previous.endsWith('_before_restore_20240210_020304')).toBe(true);
  });
  it.each(['postgres', 'template0', 'template1', ''])('refuses %j as a target', (target) => {
    expect(() => restoreNames(target, at, 'UTC')).toThrow();
  });
});
