import { describe, expect, it } from 'vitest';
import { concurrentIndex } from '../../../src/migrations/concurrent.js';
import { errorLine } from '../../../src/migrations/execute.js';
import {
  compareVersions,
  MigrationFileError,
  parseDuration,
  parseFileName,
  parseMigration,
  transactionControl,
} from '../../../src/migrations/file.js';
import { codeUnitOffset, lineAt, splitStatements, SplitError } from '../../../src/migrations/split.js';

const texts = (sql: string) => splitStatements(sql).map((s) => s.text);

describe('splitStatements', () => {
  it.each([
    ['plain statements', 'SELECT 1; SELECT 2;', ['SELECT 1;', 'SELECT 2;']],
    ['a last statement without a semicolon', 'SELECT 1;\nSELECT 2\n', ['SELECT 1;', 'SELECT 2\n']],
    ['semicolons in strings', "SELECT 'a;b', 'it''s;'; SELECT 2;", ["SELECT 'a;b', 'it''s;';", 'SELECT 2;']],
    ['E strings with backslash escapes', "SELECT E'\\';x'; SELECT 2;", ["SELECT E'\\';x';", 'SELECT 2;']],
    ['a backslash in a standard string', "SELECT 'C:\\'; SELECT 2;", ["SELECT 'C:\\';", 'SELECT 2;']],
    ['quoted identifiers', 'SELECT 1 AS "a;""b"; SELECT 2;', ['SELECT 1 AS "a;""b";', 'SELECT 2;']],
    [
      'dollar quotes',
      'DO $$ BEGIN PERFORM 1; END $$; SELECT 2;',
      ['DO $$ BEGIN PERFORM 1; END $$;', 'SELECT 2;'],
    ],
    [
      'tagged dollar quotes containing $$',
      'CREATE FUNCTION f() RETURNS text AS $fn$ SELECT $$;$$ $fn$ LANGUAGE sql; SELECT 2;',
      ['CREATE FUNCTION f() RETURNS text AS $fn$ SELECT $$;$$ $fn$ LANGUAGE sql;', 'SELECT 2;'],
    ],
    [
      'positional parameters are not dollar quotes',
      'PREPARE p AS SELECT $1; SELECT 2;',
      ['PREPARE p AS SELECT $1;', 'SELECT 2;'],
    ],
    [
      'dollar signs inside identifiers',
      'SELECT a$b$ FROM t; SELECT 2;',
      ['SELECT a$b$ FROM t;', 'SELECT 2;'],
    ],
    ['line comments', '-- a; b\nSELECT 1; -- c; d\nSELECT 2;', ['SELECT 1;', 'SELECT 2;']],
    [
      'nested block comments',
      '/* a /* b; */ c; */ SELECT 1; SELECT /* ; */ 2;',
      ['SELECT 1;', 'SELECT /* ; */ 2;'],
    ],
    ['comments only', '-- nothing\n/* here */\n', []],
    [
      'SQL-standard function bodies',
      'CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT CASE WHEN true THEN 2 END; END; SELECT 3;',
      [
        'CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT CASE WHEN true THEN 2 END; END;',
        'SELECT 3;',
      ],
    ],
    [
      'semicolons inside parentheses (multi-action rules)',
      'CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO a VALUES (1); INSERT INTO b VALUES (2)); SELECT 2;',
      [
        'CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO a VALUES (1); INSERT INTO b VALUES (2));',
        'SELECT 2;',
      ],
    ],
    [
      'CASE outside a routine',
      'SELECT CASE WHEN true THEN 1 END; SELECT 2;',
      ['SELECT CASE WHEN true THEN 1 END;', 'SELECT 2;'],
    ],
  ])('%s', (_name, sql, expected) => {
    expect(texts(sql)).toEqual(expected);
  });

  it('gives each statement its offset, line, first words and dollar body', () => {
    const sql = 'BEGIN;\n\n-- note\nDO $x$\nBEGIN\nEND $x$;\ncommit;';
    const statements = splitStatements(sql);
    expect(statements.map((s) => [s.line, s.words.join(' ')])).toEqual([
      [1, 'BEGIN'],
      [4, 'DO'],
      [7, 'COMMIT'],
    ]);
    expect(sql.slice(statements[1]!.start, statements[1]!.start + 2)).toBe('DO');
    expect(statements[1]!.bodyOffset).toBe('DO $x$'.length);
  });

  it.each([
    ["SELECT 'open;", 1, /unterminated quoted string/],
    ['SELECT 1;\nSELECT "open', 2, /unterminated quoted identifier/],
    ['SELECT 1;\n\nDO $$ BEGIN', 3, /unterminated dollar-quoted string/],
    ['/* open', 1, /unterminated \/\* comment/],
    ['SELECT 1;\n\\set x 1\n', 2, /psql meta-commands/],
  ])('refuses %j at line %i', (sql, line, message) => {
    try {
      splitStatements(sql);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(SplitError);
      expect((error as SplitError).line).toBe(line);
      expect((error as SplitError).message).toMatch(message);
    }
  });
});

describe('positions', () => {
  it('maps offsets to lines and code points to code units', () => {
    expect(lineAt('a\nb\nc', 0)).toBe(1);
    expect(lineAt('a\nb\nc', 2)).toBe(2);
    expect(lineAt('a\nb\nc', 4)).toBe(3);
    expect(codeUnitOffset('a😀b', 2)).toBe(3);
    expect(codeUnitOffset('abc', 2)).toBe(2);
  });

  const file = parseMigration(
    '003_x.sql',
    "BEGIN;\nCREATE TABLE a (id int);\n\nSELECT 'é',\n  nope FROM a;\nDO $$\nBEGIN\n  RAISE EXCEPTION 'x';\nEND $$;\nCOMMIT;\n",
  );
  const [, select, block] = file.body;
  it.each([
    ['PostgreSQL position inside the statement', select!, { position: String("SELECT 'é',\n  n".length) }, 5],
    [
      'a DO block line from the context',
      block!,
      { where: 'PL/pgSQL function inline_code_block line 3 at RAISE' },
      8,
    ],
    ['the statement line when there is neither', select!, {}, 4],
  ])('%s', (_name, statement, error, line) => {
    expect(errorLine(file, statement, error)).toBe(line);
  });
});

describe('parseMigration', () => {
  it('normalises the text, keeps the checksum of the normalised text and strips BEGIN/COMMIT', () => {
    const lf = parseMigration('001_init.sql', 'BEGIN;\nCREATE TABLE t (id int);\nCOMMIT;\n');
    const crlf = parseMigration('001_init.sql', '\uFEFFBEGIN;\r\nCREATE TABLE t (id int);\r\nCOMMIT;\r\n');
    expect(crlf.checksum).toBe(lf.checksum);
    expect(crlf.text).toBe(lf.text);
    expect(lf).toMatchObject({ version: '001', name: 'init', transaction: true });
    expect(lf.begin?.text).toBe('BEGIN;');
    expect(lf.body.map((s) => s.text)).toEqual(['CREATE TABLE t (id int);']);
  });

  it('keeps a file without BEGIN/COMMIT as it is', () => {
    expect(parseMigration('2_x.sql', 'SELECT 1;').body).toHaveLength(1);
  });

  it.each([
    ['-- chatflow-db: no-transaction\nCREATE INDEX CONCURRENTLY i ON t (a);', { transaction: false }],
    [
      '-- header\n--chatflow-db: lock-timeout=30s, statement-timeout=2h\n\nSELECT 1;',
      { lockTimeoutMs: 30_000, statementTimeoutMs: 7_200_000 },
    ],
    ['-- chatflow-db: no-transaction lock-timeout=0\nSELECT 1;', { transaction: false, lockTimeoutMs: 0 }],
    ['SELECT 1;', { transaction: true, lockTimeoutMs: undefined, statementTimeoutMs: undefined }],
  ])('reads header directives: %j', (sql, expected) => {
    expect(parseMigration('004_x.sql', sql)).toMatchObject(expected);
  });

  it.each([
    ['bad name', 'x.sql', 'SELECT 1;', undefined, /named NNN_name.sql/],
    [
      'unknown directive',
      '005_a.sql',
      '-- chatflow-db: no-transactoin\nSELECT 1;',
      1,
      /unknown directive "no-transactoin"/,
    ],
    ['bad duration', '005_a.sql', '-- chatflow-db: lock-timeout=soon\nSELECT 1;', 1, /needs a duration/],
    [
      'directive below SQL',
      '005_a.sql',
      'SELECT 1;\n-- chatflow-db: no-transaction\n',
      2,
      /belong in the comment header/,
    ],
    ['BEGIN without COMMIT', '005_a.sql', 'BEGIN;\nSELECT 1;\n', 1, /does not end with COMMIT/],
    [
      'COMMIT in the middle',
      '005_a.sql',
      'BEGIN;\nSELECT 1;\nCOMMIT;\nSELECT 2;\nCOMMIT;',
      3,
      /COMMIT inside the file/,
    ],
    ['ROLLBACK', '005_a.sql', 'SELECT 1;\nROLLBACK;', 2, /ROLLBACK inside the file/],
    [
      'BEGIN in a no-transaction file',
      '005_a.sql',
      '-- chatflow-db: no-transaction\nBEGIN;\nSELECT 1;\nCOMMIT;',
      2,
      /no-transaction file/,
    ],
    ['a split error', '005_a.sql', "SELECT 1;\nSELECT 'x", 2, /unterminated/],
  ])('refuses %s', (_name, fileName, sql, line, message) => {
    try {
      parseMigration(fileName, sql);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(MigrationFileError);
      expect((error as MigrationFileError).line).toBe(line);
      expect((error as Error).message).toMatch(message);
      expect((error as Error).message.startsWith(fileName)).toBe(true);
    }
  });
});

describe('small parsers', () => {
  it.each([
    ['001_initial_schema.sql', { version: '001', name: 'initial_schema' }],
    ['12_add-index.sql', { version: '12', name: 'add-index' }],
    ['001_initial_schema.SQL', undefined],
    ['initial.sql', undefined],
    ['001_.sql', undefined],
  ])('parseFileName(%j)', (name, expected) => {
    expect(parseFileName(name)).toEqual(expected);
  });

  it.each([
    ['500ms', 500],
    ['30s', 30_000],
    ['5min', 300_000],
    ['2h', 7_200_000],
    ['0', 0],
    ['30', undefined],
    ['-1s', undefined],
    ['1000h', undefined],
  ])('parseDuration(%j) = %j', (value, ms) => {
    expect(parseDuration(value)).toBe(ms);
  });

  it.each([
    [['BEGIN'], 'begin'],
    [['START', 'TRANSACTION'], 'begin'],
    [['COMMIT'], 'commit'],
    [['END'], 'commit'],
    [['COMMIT', 'PREPARED'], undefined],
    [['ROLLBACK'], 'rollback'],
    [['ROLLBACK', 'TO', 'SAVEPOINT'], undefined],
    [['SAVEPOINT', 'A'], undefined],
    [['CREATE', 'TABLE'], undefined],
  ])('transactionControl(%j) = %j', (words, control) => {
    expect(transactionControl(words)).toBe(control);
  });

  it('orders versions numerically', () => {
    expect(['010', '9', '002', '1'].sort(compareVersions)).toEqual(['1', '002', '9', '010']);
    expect(compareVersions('001', '1')).toBe(0);
  });
});

describe('concurrentIndex', () => {
  it.each([
    ['CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_a ON public.t (a);', { index: 'idx_a', table: 'public.t' }],
    ['create unique index concurrently Idx_B on ONLY t using btree (b);', { index: 'idx_b', table: 't' }],
    [
      'CREATE INDEX CONCURRENTLY "Odd ""name""" ON "My Schema" . "T" (c);',
      { index: 'Odd "name"', table: '"My Schema"."T"' },
    ],
    ['CREATE INDEX idx_c ON t (c);', undefined],
    ['CREATE INDEX CONCURRENTLY ON t (c);', undefined],
    ['DROP INDEX CONCURRENTLY idx_a;', undefined],
  ])('%s', (statement, expected) => {
    expect(concurrentIndex(statement)).toEqual(expected);
  });
});
