import { describe, expect, it } from 'vitest';
import {
  defaultBackupName,
  isDefaultName,
  nameProblem,
  validateBackupName,
} from '../../../src/backup/names.js';
import { UsageError } from '../../../src/lib/errors.js';

describe('defaultBackupName', () => {
  it.each([
    ['2024-02-10T02:00:00Z', 'UTC', 'chatflow_backup_20240210_020000'],
    ['2024-02-10T02:00:00Z', 'Europe/Berlin', 'chatflow_backup_20240210_030000'],
    ['2024-07-10T02:00:00Z', 'Europe/Berlin', 'chatflow_backup_20240710_040000'],
    ['2024-02-10T02:00:00Z', 'America/Los_Angeles', 'chatflow_backup_20240209_180000'],
    ['2024-12-31T23:59:59Z', 'Asia/Tokyo', 'chatflow_backup_20250101_085959'],
    ['2024-03-01T00:00:00Z', 'UTC', 'chatflow_backup_20240301_000000'],
  ])('%s in %s -> %s', (iso, zone, expected) => {
    expect(defaultBackupName(new Date(iso), zone)).toBe(expected);
    expect(isDefaultName(expected)).toBe(true);
  });

  it.each([
    ['chatflow', 'chatflow_backup_20240210_020000_chatflow'],
    ['chatflow_prod', 'chatflow_backup_20240210_020000_chatflow_prod'],
    ['Ünï cødé/db', 'chatflow_backup_20240210_020000_-n--c-d--db'],
    ['x'.repeat(70), `chatflow_backup_20240210_020000_${'x'.repeat(63)}`],
  ])('with the database %j -> %s, a valid default name', (database, expected) => {
    const name = defaultBackupName(new Date('2024-02-10T02:00:00Z'), 'UTC', database);
    expect(name).toBe(expected);
    expect(nameProblem(name)).toBeUndefined();
    expect(isDefaultName(name)).toBe(true);
  });

  it('midnight is 00, never 24', () => {
    expect(defaultBackupName(new Date('2024-01-01T23:00:00Z'), 'Europe/Berlin')).toBe(
      'chatflow_backup_20240102_000000',
    );
  });
});

describe('backup name rules', () => {
  it.each([
    ['production_backup_20240210', undefined],
    ['a', undefined],
    ['A.b-c_9', undefined],
    ['x'.repeat(128), undefined],
    ['', 'empty'],
    ['.', 'not a backup name'],
    ['..', 'not a backup name'],
    ['a/b', 'slash'],
    ['../etc', 'slash'],
    ['a\\b', 'slash'],
    ['x'.repeat(129), 'at most 128'],
    ['with space', 'only letters'],
    ['näme', 'only letters'],
    ['semi;colon', 'only letters'],
    ['new\nline', 'only letters'],
  ])('%j -> %s', (name, problem) => {
    if (problem === undefined) {
      expect(nameProblem(name)).toBeUndefined();
      expect(validateBackupName(name)).toBe(name);
    } else {
      expect(nameProblem(name)).toContain(problem);
      expect(() => validateBackupName(name)).toThrow(UsageError);
    }
  });

  it.each([
    ['chatflow_backup_20240210_020000', true],
    ['chatflow_backup_20240210_020000_chatflow', true],
    ['chatflow_backup_20240210_020000_', false],
    ['chatflow_backup_20240210_020000_a/b', false],
    ['chatflow_backup_20240210_0200', false],
    ['chatflow_backup_20240210_020000.x', false],
    ['production_backup_20240210', false],
  ])('isDefaultName(%s) = %s', (name, expected) => {
    expect(isDefaultName(name)).toBe(expected);
  });
});
