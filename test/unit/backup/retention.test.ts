import { describe, expect, it } from 'vitest';
import type { RetentionConfig } from '../../../src/config/load.js';
import { isoWeekKey, planRetention, type RetentionBackup } from '../../../src/backup/retention.js';
import { defaultBackupName } from '../../../src/backup/names.js';

const NOW = new Date('2024-06-30T12:00:00Z');
const OFF: RetentionConfig = { keepLast: 0, keepDays: 0, keepDaily: 0, keepWeekly: 0, keepMonthly: 0 };

/** An automatic backup of `db` taken `hoursAgo` before NOW. */
function auto(hoursAgo: number, db = 'chatflow'): RetentionBackup {
  const createdAt = new Date(NOW.getTime() - hoursAgo * 3_600_000);
  return { name: defaultBackupName(createdAt, 'UTC'), createdAt, automatic: true, database: db };
}
const daily = (days: number): RetentionBackup[] => Array.from({ length: days }, (_, i) => auto(i * 24 + 10));

function deleted(backups: RetentionBackup[], rules: Partial<RetentionConfig>, timeZone = 'UTC'): string[] {
  return planRetention(
    backups,
    { ...OFF, ...rules },
    { now: NOW, timeZone, database: 'chatflow' },
  ).delete.map((d) => d.name);
}
const names = (backups: RetentionBackup[]): string[] => backups.map((b) => b.name);

describe('planRetention', () => {
  const ten = daily(10); // newest first: 10 h, 34 h, ... ago

  it.each<[string, Partial<RetentionConfig>, number[]]>([
    ['all rules off keeps everything', {}, []],
    ['keepLast 3', { keepLast: 3 }, [3, 4, 5, 6, 7, 8, 9]],
    ['keepLast larger than the count', { keepLast: 50 }, []],
    ['keepDays 4 (younger than 4 days)', { keepDays: 4 }, [4, 5, 6, 7, 8, 9]],
    ['keepDaily 2', { keepDaily: 2 }, [2, 3, 4, 5, 6, 7, 8, 9]],
    ['keepLast 1 + keepDays 2: union', { keepLast: 1, keepDays: 2 }, [2, 3, 4, 5, 6, 7, 8, 9]],
    ['only keepMonthly 1: newest of June', { keepMonthly: 1 }, [1, 2, 3, 4, 5, 6, 7, 8, 9]],
  ])('%s', (_title, rules, deletedIndexes) => {
    expect(deleted(ten, rules)).toEqual(deletedIndexes.map((i) => ten[i]!.name));
  });

  it('weekly keeps the newest of each ISO week', () => {
    // NOW is Sunday 2024-06-30; backups daily back to 2024-06-21 (Fri).
    const kept = planRetention(
      ten,
      { ...OFF, keepWeekly: 2 },
      { now: NOW, timeZone: 'UTC', database: 'chatflow' },
    ).keep;
    expect(kept.map((k) => k.name)).toEqual([ten[0]!.name, ten[7]!.name]); // Sun 30th (W26), Sun 23rd (W25)
  });

  it('monthly keeps the newest of each month, across a month boundary', () => {
    const backups = daily(70); // back to 2024-04-22
    const kept = planRetention(
      backups,
      { ...OFF, keepMonthly: 3 },
      { now: NOW, timeZone: 'UTC', database: 'chatflow' },
    ).keep;
    expect(kept.map((k) => k.name)).toEqual([
      'chatflow_backup_20240630_020000',
      'chatflow_backup_20240531_020000',
      'chatflow_backup_20240430_020000',
    ]);
  });

  it('daily counts days that have backups, so a pause does not age old ones out', () => {
    const sparse = [auto(10), auto(10 + 24 * 20), auto(10 + 24 * 40)];
    expect(deleted(sparse, { keepDaily: 3 })).toEqual([]);
  });

  it('days are calendar days in the configured time zone', () => {
    // 23:30 UTC on the 29th is already the 30th in Berlin: two backups share a day there.
    const a = {
      ...auto(0),
      createdAt: new Date('2024-06-29T23:30:00Z'),
      name: 'chatflow_backup_20240629_233000',
    };
    const b = {
      ...auto(0),
      createdAt: new Date('2024-06-29T22:30:00Z'),
      name: 'chatflow_backup_20240629_223000',
    };
    expect(deleted([a, b], { keepDaily: 1 }, 'UTC')).toEqual([b.name]);
    expect(deleted([a, b], { keepDaily: 1 }, 'Europe/Berlin')).toEqual([b.name]);
    const c = { ...b, createdAt: new Date('2024-06-29T21:30:00Z'), name: 'chatflow_backup_20240629_213000' };
    expect(deleted([a, c], { keepDaily: 2 }, 'Europe/Berlin')).toEqual([]); // 30th and 29th in Berlin
    expect(deleted([a, c], { keepDaily: 1 }, 'Europe/Berlin')).toEqual([c.name]);
  });

  it('never deletes named backups, other databases or non-automatic ones', () => {
    const named = { ...auto(500), name: 'before_migration_42', automatic: false };
    const manualDefaultShaped = { ...auto(600), automatic: false };
    const otherDb = auto(700, 'other');
    const old = auto(800);
    expect(deleted([auto(1), named, manualDefaultShaped, otherDb, old], { keepLast: 1 })).toEqual([old.name]);
  });

  it('never deletes the newest candidate, even if a rule would', () => {
    const future = { ...auto(-1000) };
    const backups = [future, auto(5)];
    // keepDays keeps nothing older than 1 day; the newest survives anyway.
    const plan = planRetention(
      backups,
      { ...OFF, keepDays: 1 },
      { now: NOW, timeZone: 'UTC', database: 'chatflow' },
    );
    expect(plan.keep.map((k) => k.name)).toContain(future.name);
    const onlyOld = [auto(24 * 30)];
    expect(deleted(onlyOld, { keepDays: 1 })).toEqual([]);
  });

  it('ignores input order', () => {
    const shuffled = [...ten].reverse();
    expect(deleted(shuffled, { keepLast: 3 })).toEqual(names(ten.slice(3)));
  });

  it('reports why each backup is kept', () => {
    const plan = planRetention(
      ten,
      { ...OFF, keepLast: 1, keepDaily: 1 },
      { now: NOW, timeZone: 'UTC', database: 'chatflow' },
    );
    expect(plan.keep).toEqual([{ name: ten[0]!.name, reasons: ['newest', 'last', 'daily'] }]);
  });
});

describe('isoWeekKey', () => {
  it.each([
    ['2024-01-01T12:00:00Z', '2024-W01'],
    ['2021-01-03T12:00:00Z', '2020-W53'],
    ['2024-12-30T12:00:00Z', '2025-W01'],
    ['2024-06-30T12:00:00Z', '2024-W26'],
    ['2024-07-01T12:00:00Z', '2024-W27'],
  ])('%s -> %s', (iso, week) => {
    expect(isoWeekKey(new Date(iso), 'UTC')).toBe(week);
  });
});
