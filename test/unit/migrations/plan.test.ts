import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../src/lib/errors.js';
import {
  classifyDatabase,
  describeObjects,
  unknownDatabaseMessage,
  type Inventory,
} from '../../../src/migrations/adoption.js';
import {
  duplicateVersions,
  planMigrations,
  type AppliedRow,
  type PlanOptions,
} from '../../../src/migrations/plan.js';
import { nextMigrationFileName } from '../../../src/migrations/template.js';

const file = (version: string, checksum = `sum${version}`) => ({
  version,
  fileName: `${version}_m${version}.sql`,
  checksum,
});
const row = (version: string, checksum = `sum${version}`): AppliedRow => ({
  version,
  name: `${version}_m${version}.sql`,
  checksum,
  appliedAt: new Date('2024-01-02T03:04:05Z'),
  durationMs: 5,
  appliedBy: 'postgres',
});
const names = (files: { fileName: string }[]) => files.map((f) => f.fileName);

describe('planMigrations', () => {
  it.each<[string, ReturnType<typeof file>[], AppliedRow[], PlanOptions, string[], number]>([
    [
      'fresh database: everything pending',
      [file('001'), file('002')],
      [],
      {},
      ['001_m001.sql', '002_m002.sql'],
      0,
    ],
    ['fully applied', [file('001'), file('002')], [row('001'), row('002')], {}, [], 0],
    [
      'one new file on top',
      [file('001'), file('002'), file('003')],
      [row('001'), row('002')],
      {},
      ['003_m003.sql'],
      0,
    ],
    [
      'files sorted numerically',
      [file('10'), file('9'), file('011')],
      [],
      {},
      ['9_m9.sql', '10_m10.sql', '011_m011.sql'],
      0,
    ],
    [
      'stamped versions without zero-padding match',
      [file('001'), file('002')],
      [row('1', 'sum001'), row('2', 'sum002')],
      {},
      [],
      0,
    ],
    [
      'changed checksum refused',
      [file('001', 'new'), file('002')],
      [row('001', 'old')],
      {},
      ['002_m002.sql'],
      1,
    ],
    [
      'changed checksum allowed',
      [file('001', 'new'), file('002')],
      [row('001', 'old')],
      { allowChanged: true },
      ['002_m002.sql'],
      0,
    ],
    ['missing file refused', [file('002')], [row('001'), row('002')], {}, [], 1],
    [
      'missing file allowed',
      [file('002'), file('003')],
      [row('001'), row('002')],
      { allowMissing: true },
      ['003_m003.sql'],
      0,
    ],
    [
      'out of order refused',
      [file('001'), file('002'), file('003')],
      [row('001'), row('003')],
      {},
      ['002_m002.sql'],
      1,
    ],
    [
      'out of order allowed',
      [file('001'), file('002'), file('003'), file('004')],
      [row('001'), row('003')],
      { allowOutOfOrder: true },
      ['002_m002.sql', '004_m004.sql'],
      0,
    ],
    [
      'every problem at once',
      [file('001', 'x'), file('002'), file('004')],
      [row('001'), row('003')],
      {},
      ['002_m002.sql', '004_m004.sql'],
      3,
    ],
  ])('%s', (_name, files, rows, options, pending, refusals) => {
    const plan = planMigrations(files, rows, options);
    expect(names(plan.pending)).toEqual(pending);
    expect(plan.refusals).toHaveLength(refusals);
  });

  it('names the file and both hashes of an edited migration', () => {
    const [refusal] = planMigrations([file('001', 'a'.repeat(64))], [row('001', 'b'.repeat(64))]).refusals;
    expect(refusal).toContain('001_m001.sql');
    expect(refusal).toContain('a'.repeat(64));
    expect(refusal).toContain('b'.repeat(64));
    expect(refusal).toContain('--allow-changed');
  });

  it('accepts an earlier shipped revision of a file: no refusal, its checksum is to be re-recorded', () => {
    const revisions = new Map([['001_m001.sql', ['b'.repeat(64)]]]);
    const plan = planMigrations([file('001', 'a'.repeat(64))], [row('001', 'b'.repeat(64))], {
      earlierRevisions: revisions,
    });
    expect(plan.refusals).toEqual([]);
    expect(plan.changed).toEqual([]);
    expect(plan.revised.map(({ file }) => file.fileName)).toEqual(['001_m001.sql']);
    // Any other edit is still refused.
    const edited = planMigrations([file('001', 'a'.repeat(64))], [row('001', 'c'.repeat(64))], {
      earlierRevisions: revisions,
    });
    expect(edited.refusals).toHaveLength(1);
    expect(edited.revised).toEqual([]);
  });

  it('names the missing and the out-of-order files with their overrides', () => {
    const { refusals } = planMigrations([file('002'), file('004')], [row('001'), row('003')]);
    expect(refusals.join('\n')).toMatch(
      /001_m001\.sql \(version 001\) was applied at 2024-01-02T03:04:05.000Z.*--allow-missing/,
    );
    expect(refusals.join('\n')).toMatch(
      /002_m002\.sql is new but numbered below 003_m003\.sql.*--allow-out-of-order/,
    );
    expect(refusals.join('\n')).not.toContain('004_m004.sql');
  });

  it('lists changed, missing and out-of-order files even when allowed', () => {
    const plan = planMigrations([file('001', 'x'), file('002'), file('004')], [row('001'), row('003')], {
      allowChanged: true,
      allowMissing: true,
      allowOutOfOrder: true,
    });
    expect(names(plan.changed.map((c) => c.file))).toEqual(['001_m001.sql']);
    expect(plan.missing.map((r) => r.version)).toEqual(['003']);
    expect(names(plan.outOfOrder)).toEqual(['002_m002.sql']);
    expect(plan.refusals).toEqual([]);
  });

  it.each([
    ['003', ['001_m001.sql', '002_m002.sql', '003_m003.sql'], ['004_m004.sql']],
    ['3', ['001_m001.sql', '002_m002.sql', '003_m003.sql'], ['004_m004.sql']],
    ['004', ['001_m001.sql', '002_m002.sql', '003_m003.sql', '004_m004.sql'], []],
  ])('--baseline %s records up to it and runs the rest', (version, baseline, pending) => {
    const plan = planMigrations([file('001'), file('002'), file('003'), file('004')], [], {
      baseline: version,
    });
    expect(names(plan.baseline)).toEqual(baseline);
    expect(names(plan.pending)).toEqual(pending);
  });

  it.each([
    ['an unknown version', [], '009', /names no migration file \(versions: 001, 002\)/],
    ['not a version', [], 'latest', /needs a migration version/],
    ['a tracked database', [row('001')], '002', /without recorded migrations; this one has 1/],
  ])('--baseline refuses %s', (_name, rows, version, message) => {
    expect(() => planMigrations([file('001'), file('002')], rows, { baseline: version })).toThrow(UsageError);
    expect(() => planMigrations([file('001'), file('002')], rows, { baseline: version })).toThrow(message);
  });

  it('finds files sharing a version', () => {
    expect(duplicateVersions([file('001'), { ...file('1'), fileName: '1_other.sql' }, file('002')])).toEqual([
      '001_m001.sql and 1_other.sql share a version number; renumber one of them',
    ]);
  });
});

describe('classifyDatabase', () => {
  const base: Inventory = { tracked: false, objects: [], columns: {} };
  const legacyColumns = {
    users: ['id', 'username', 'email', 'password_hash', 'api_key', 'jwt_secret'],
    phoneNumbers: ['id', 'user_id', 'phone_number', 'token'],
  };
  const table = (name: string) => ({ schema: 'public', name, kind: 'table' });
  it.each<[string, Inventory, string]>([
    ['tracked wins over anything', { tracked: true, objects: [table('orders')], columns: {} }, 'tracked'],
    ['nothing at all', base, 'empty'],
    [
      'ChatFlow legacy tables',
      { ...base, objects: [table('users'), table('phone_numbers')], columns: legacyColumns },
      'legacy',
    ],
    [
      'legacy with extra operator tables',
      { ...base, objects: [table('users'), table('audit')], columns: legacyColumns },
      'legacy',
    ],
    [
      "someone else's users table",
      { ...base, objects: [table('users')], columns: { users: ['id', 'login'] } },
      'unknown',
    ],
    [
      'users without phone_numbers',
      { ...base, objects: [table('users')], columns: { users: legacyColumns.users } },
      'unknown',
    ],
    ['another application', { ...base, objects: [table('orders')] }, 'unknown'],
    [
      'an empty extra schema',
      { ...base, objects: [{ schema: 'billing', name: 'billing', kind: 'schema' }] },
      'unknown',
    ],
  ])('%s', (_name, inventory, kind) => {
    expect(classifyDatabase(inventory)).toBe(kind);
  });

  it('says what it found and how to proceed', () => {
    const objects = Array.from({ length: 10 }, (_, i) => table(`t${i}`));
    expect(describeObjects(objects, 2)).toBe('public.t0 (table), public.t1 (table) and 8 more');
    const message = unknownDatabaseMessage('shop', { ...base, objects, columns: { users: ['id'] } });
    expect(message).toMatch(/Refusing to migrate database "shop"/);
    expect(message).toMatch(/public\.t0 \(table\)/);
    expect(message).toMatch(/public\.users, but not with ChatFlow's columns/);
    expect(message).toMatch(/migrate --baseline <version>/);
  });
});

describe('nextMigrationFileName', () => {
  it.each([
    [[], 'init', '001_init.sql'],
    [['001_a.sql', '002_b.sql', 'README.md'], 'add_index', '003_add_index.sql'],
    [['0009_a.sql'], 'b', '0010_b.sql'],
    [['999_a.sql'], 'b', '1000_b.sql'],
    [['1_a.sql', '2_b.sql'], 'c', '003_c.sql'],
  ])('after %j, %s -> %s', (existing, name, expected) => {
    expect(nextMigrationFileName(existing, name)).toBe(expected);
  });

  it.each([
    ['Add Index', /try "add_index"/],
    ['1st', /starting with a letter/],
    ['', /lower-case letters/],
    ['a/../b', /try "a_b"/],
    ['a', /exists already: 004_a\.sql/],
  ])('refuses %j', (name, message) => {
    expect(() => nextMigrationFileName(['004_a.sql'], name)).toThrow(message);
  });
});
