/** `<name>.drill.json` as the status page reads it: tolerant, never an error, only usable records count. */
import { describe, expect, it } from 'vitest';
import { drilledBackup, parseDrillRecord } from '../../../src/sidecar/drill-record.js';

const record = (fields: Record<string, unknown> = {}): string =>
  JSON.stringify({
    format: 'chatflow-db-drill/1',
    backup: 'nightly',
    database: 'chatflow',
    startedAt: '2026-11-30T03:00:00Z',
    finishedAt: '2026-11-30T03:01:30Z',
    ok: true,
    restoreSeconds: 61.5,
    totalSeconds: 90,
    checks: [{ name: 'restore', ok: true, detail: '', seconds: 61.5 }],
    ...fields,
  });

describe('drill records', () => {
  it('names: only <backup>.drill.json is a record', () => {
    expect(drilledBackup('nightly.drill.json')).toBe('nightly');
    expect(drilledBackup('.drill.json')).toBeUndefined();
    expect(drilledBackup('nightly.manifest.json')).toBeUndefined();
    expect(drilledBackup('nightly.sql.gz')).toBeUndefined();
  });

  it('a passed drill: finished time, restore seconds', () => {
    expect(parseDrillRecord(record(), 'nightly', 'chatflow')).toEqual({
      at: new Date('2026-11-30T03:01:30Z'),
      ok: true,
      durationMs: 61_500,
      failedChecks: [],
    });
  });

  it('a failed drill names its failed checks', () => {
    const text = record({
      ok: false,
      checks: [
        { name: 'restore', ok: true },
        { name: 'row-counts', ok: false, detail: 'users: 3 != 4' },
        { name: 'schema', ok: false },
        'junk',
        { ok: false },
      ],
    });
    expect(parseDrillRecord(text, 'nightly')?.failedChecks).toEqual(['row-counts', 'schema']);
  });

  it('falls back to startedAt and totalSeconds when the others are missing', () => {
    const facts = parseDrillRecord(record({ finishedAt: undefined, restoreSeconds: 'x' }), 'nightly');
    expect(facts).toMatchObject({ at: new Date('2026-11-30T03:00:00Z'), durationMs: 90_000 });
  });

  it.each([
    ['not JSON', '{"format": "chatflow-db-drill/1", '],
    ['an array', '[]'],
    ['null', 'null'],
    ['another format', record({ format: 'chatflow-db-drill/2' })],
    ['about another backup', record({ backup: 'other' })],
    ['of another database', record({ database: 'other' })],
    ['without ok', record({ ok: 'yes' })],
    ['without a time', record({ startedAt: 'soon', finishedAt: undefined })],
    ['without a duration', record({ restoreSeconds: -1, totalSeconds: undefined })],
  ])('%s: no drill information', (_, text) => {
    expect(parseDrillRecord(text, 'nightly', 'chatflow')).toBeUndefined();
  });
});
