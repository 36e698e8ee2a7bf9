import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { TRACKING_DDL } from '../../../src/migrations/tracking.js';
import { migrationChecksum } from '../../../src/migrations/checksum.js';
import { migrationFiles } from '../../../src/migrations/folder.js';
import { firstDifference } from '../../../src/migrations/schema-fingerprint.js';
import { currentStamp, readMigrations, replaceStamp, stampBlock } from '../../../scripts/schema-stamp.js';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const initSql = readFileSync(`${root}/initdb/init-complete.sql`, 'utf8');
const migrations = readMigrations(`${root}/migrations`);

/** The exact text of the shared trigger function: SCHEMA.md wants it byte-identical on both paths. */
const TRIGGER_FUNCTION = `CREATE OR REPLACE FUNCTION public.update_updated_at_column()
RETURNS trigger
LANGUAGE plpgsql
AS $function$
BEGIN
    NEW.updated_at = now();
    RETURN NEW;
END;
$function$;`;

describe('schema files', () => {
  it('init-complete.sql stamps exactly the current migrations (run `npm run schema:stamp` if this fails)', () => {
    expect(currentStamp(initSql)).toBe(stampBlock(migrations));
  });

  it('init-complete.sql creates the tracking table exactly as TRACKING_DDL', () => {
    expect(initSql).toContain(TRACKING_DDL);
  });

  it('SCHEMA.md names the first five migrations', () => {
    expect(migrations.map((m) => m.name).slice(0, 5)).toEqual([
      '001_initial_schema.sql',
      '002_add_contacts.sql',
      '003_broadcasts.sql',
      '004_auto_reply_schema.sql',
      '005_auto_reply_phone_numbers.sql',
    ]);
    expect(new Set(migrations.map((m) => m.name.slice(0, 3))).size).toBe(migrations.length);
  });

  const files: [string, string][] = [
    ['init-complete.sql', initSql],
    ...migrations.map((m): [string, string] => [m.name, m.text]),
  ];
  it.each(files)('%s is one transaction', (_name, text) => {
    const statements = text.replace(/^--.*$/gm, '').trim();
    expect(statements.startsWith('BEGIN;')).toBe(true);
    expect(statements.endsWith('COMMIT;')).toBe(true);
  });

  it('the trigger function has the same text in init-complete.sql, 001 and the converging migration', () => {
    const defining = migrations.filter((m) =>
      m.text.includes('CREATE OR REPLACE FUNCTION public.update_updated_at_column'),
    );
    expect(defining.map((m) => m.name)).toEqual(['001_initial_schema.sql', '007_converge_schema.sql']);
    for (const text of [initSql, ...defining.map((m) => m.text)]) expect(text).toContain(TRIGGER_FUNCTION);
  });

  it('migration files sort in numeric order and list only NNN_name.sql', () => {
    const files = migrationFiles(`${root}/migrations`).map((f) => basename(f));
    expect(files).toEqual([...files].sort());
    expect(files.every((f) => /^\d{3}_[a-z0-9_]+\.sql$/.test(f))).toBe(true);
  });
});

describe('stamp block', () => {
  it('records version, file name and checksum of each migration', () => {
    const block = stampBlock([
      { name: '001_a.sql', text: 'select 1;\n' },
      { name: '010_b.sql', text: 'select 2;\r\n' },
    ]);
    expect(block).toBe(
      'INSERT INTO chatflow_db.schema_migrations (version, name, checksum, duration_ms) VALUES\n' +
        `    ('001', '001_a.sql', '${migrationChecksum('select 1;\n')}', 0),\n` +
        `    ('010', '010_b.sql', '${migrationChecksum('select 2;\n')}', 0);\n`,
    );
  });

  it('replaces only the text between the markers', () => {
    const sql = 'a\n-- chatflow-db:stamp:begin\nold\n-- chatflow-db:stamp:end\nCOMMIT;\n';
    expect(replaceStamp(sql, 'new\n')).toBe(
      'a\n-- chatflow-db:stamp:begin\nnew\n-- chatflow-db:stamp:end\nCOMMIT;\n',
    );
    expect(replaceStamp(replaceStamp(sql, 'new\n'), 'new\n')).toBe(replaceStamp(sql, 'new\n'));
  });

  it('refuses a file without markers', () => {
    expect(() => replaceStamp('BEGIN; COMMIT;', 'x')).toThrow(/chatflow-db:stamp:begin/);
  });
});

describe('firstDifference', () => {
  it('names the first differing line and its section', () => {
    expect(firstDifference('-- columns\na\nb\n', '-- columns\na\nc\n', ['init', 'chain'])).toBe(
      'first difference at line 3 (columns)\n  init: b\n  chain: c',
    );
    expect(firstDifference('same', 'same')).toBeUndefined();
  });
});
