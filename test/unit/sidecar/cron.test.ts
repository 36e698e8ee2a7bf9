import { createTask } from 'node-cron';
import { describe, expect, it } from 'vitest';
import { wallClockInstant } from '../../../src/lib/clock.js';
import { previousRun } from '../../../src/sidecar/cron.js';

function prev(pattern: string, timeZone: string, at: string): string | undefined {
  const task = createTask(pattern, () => undefined, { timezone: timeZone });
  try {
    return previousRun(pattern, task, timeZone, new Date(at))?.toISOString();
  } finally {
    void task.destroy();
  }
}

describe('previousRun', () => {
  const cases: Array<[pattern: string, zone: string, at: string, expected: string | undefined]> = [
    ['0 2 * * *', 'UTC', '2024-02-10T10:00:00Z', '2024-02-10T02:00:00.000Z'],
    ['0 2 * * *', 'UTC', '2024-02-10T02:00:00Z', '2024-02-10T02:00:00.000Z'],
    ['0 2 * * *', 'UTC', '2024-02-10T01:59:59Z', '2024-02-09T02:00:00.000Z'],
    ['0 2 * * *', 'Europe/Berlin', '2024-02-10T10:00:00Z', '2024-02-10T01:00:00.000Z'],
    ['0 2 * * *', 'America/New_York', '2024-07-10T05:00:00Z', '2024-07-09T06:00:00.000Z'],
    // Weekdays only: on a Sunday the previous slot is Friday's.
    ['0 2 * * 1-5', 'UTC', '2024-02-11T12:00:00Z', '2024-02-09T02:00:00.000Z'],
    ['* * * * * *', 'UTC', '2024-02-10T10:00:00.700Z', '2024-02-10T10:00:00.000Z'],
    ['*/15 * * * *', 'UTC', '2024-02-10T10:44:59Z', '2024-02-10T10:30:00.000Z'],
    ['30 4 1 * *', 'UTC', '2024-03-01T04:29:00Z', '2024-02-01T04:30:00.000Z'],
    // Last day of the month.
    ['0 0 L * *', 'UTC', '2024-03-15T00:00:00Z', '2024-02-29T00:00:00.000Z'],
    // 02:30 does not exist in Berlin on 2024-03-31 (spring forward): the previous slot is the day before.
    ['30 2 * * *', 'Europe/Berlin', '2024-03-31T12:00:00Z', '2024-03-30T01:30:00.000Z'],
    // Feb 29: found within the look-back (400 days), not beyond it.
    ['0 0 29 2 *', 'UTC', '2024-06-01T00:00:00Z', '2024-02-29T00:00:00.000Z'],
    ['0 0 29 2 *', 'UTC', '2025-06-01T00:00:00Z', undefined],
  ];
  for (const [pattern, zone, at, expected] of cases) {
    it(`${pattern} in ${zone} before ${at}`, () => {
      expect(prev(pattern, zone, at)).toBe(expected);
    });
  }

  it('agrees with node-cron going forward: the previous run of the next run is itself', () => {
    const patterns = ['0 2 * * *', '*/7 3-5 * * 2,4', '15 10 1,15 * *', '0 0 * * 0'];
    for (const pattern of patterns) {
      const task = createTask(pattern, () => undefined, { timezone: 'Asia/Kolkata' });
      try {
        for (const next of task.getNextRuns(5)) {
          expect(previousRun(pattern, task, 'Asia/Kolkata', next)?.toISOString()).toBe(next.toISOString());
          const before = previousRun(pattern, task, 'Asia/Kolkata', new Date(next.getTime() - 1000));
          expect(before && before.getTime() < next.getTime()).toBe(true);
        }
      } finally {
        void task.destroy();
      }
    }
  });
});

describe('wallClockInstant', () => {
  it('converts wall-clock times, and refuses ones inside a DST gap', () => {
    const base = { year: 2024, month: 3, day: 31, minute: 30, second: 0 };
    expect(wallClockInstant({ ...base, hour: 1 }, 'Europe/Berlin')).toBe(Date.parse('2024-03-31T00:30:00Z'));
    expect(wallClockInstant({ ...base, hour: 2 }, 'Europe/Berlin')).toBeUndefined();
    expect(wallClockInstant({ ...base, hour: 3 }, 'Europe/Berlin')).toBe(Date.parse('2024-03-31T01:30:00Z'));
  });
});
