import { describe, expect, it } from 'vitest';
import { parseDrillRecord } from '../../../src/drill/record.js';
import { SCRATCH_PATTERN, scratchNames } from '../../../src/drill/scratch.js';

describe('drill scratch database names', () => {
  it('are recognisable, in TZ, and all three share the locked base name', () => {
    const names = scratchNames(new Date('2024-02-10T01:30:05Z'), 'Europe/Berlin', 'a1b2c3');
    expect(names).toEqual({
      target: 'chatflow_drill_20240210_023005_a1b2c3',
      reference: 'chatflow_drill_20240210_023005_a1b2c3_ref',
      roundTrip: 'chatflow_drill_20240210_023005_a1b2c3_rt',
    });
    for (const name of [names.target, names.reference, names.roundTrip]) {
      expect(SCRATCH_PATTERN.exec(name)?.[1]).toBe(names.target);
      expect(Buffer.byteLength(name)).toBeLessThanOrEqual(63);
    }
  });

  it.each([
    'chatflow',
    'chatflow_drill',
    'chatflow_drill_prod',
    'chatflow_drill_20240210_023005',
    'chatflow_drill_20240210_023005_A1B2C3',
    'chatflow_drill_20240210_023005_a1b2c3_ref_copy',
    'chatflow_drill_20240210_023005_a1b2c3x',
    'my_chatflow_drill_20240210_023005_a1b2c3',
  ])('never takes %s for a scratch database', (name) => {
    expect(SCRATCH_PATTERN.test(name)).toBe(false);
  });
});

describe('parseDrillRecord', () => {
  const good = {
    format: 'chatflow-db-drill/1',
    backup: 'nightly',
    database: 'chatflow',
    startedAt: '2024-02-10T02:00:00.000Z',
    finishedAt: '2024-02-10T02:01:00.000Z',
    ok: true,
    restoreSeconds: 40,
    totalSeconds: 60,
    checks: [{ name: 'restore', ok: true, detail: 'ok', seconds: 40 }],
    versions: { chatflowDb: '0.1.0', server: '15.5', pgDump: 'pg_dump (PostgreSQL) 15.5' },
    target: 'chatflow_drill_20240210_020000_a1b2c3',
    server: 'configured',
  };

  it('reads the agreed format', () => {
    expect(parseDrillRecord(JSON.stringify(good))).toEqual(good);
  });

  it.each([
    ['another format', { ...good, format: 'chatflow-db-backup/1' }],
    ['no result', { ...good, ok: undefined }],
    ['no checks', { ...good, checks: undefined }],
    ['not an object', null],
  ])('refuses %s', (_what, value) => {
    expect(() => parseDrillRecord(JSON.stringify(value))).toThrow();
  });
});
