import { createTask } from 'node-cron';
import { describe, expect, it } from 'vitest';
import { previousRun } from '../../../src/sidecar/cron.js';
import { createState, decideHealth, recordFailure } from '../../../src/sidecar/state.js';
import {
  buildStatus,
  MAX_SLOTS,
  parsePage,
  storeLabel,
  trackSince,
  type Status,
} from '../../../src/sidecar/status-model.js';
import { DAY, NOW, daily, dailyAt2, drill, inputs, slotOfDay } from '../../helpers/status.js';

const roundTrip = (status: Status): unknown => JSON.parse(JSON.stringify(status));

describe('buildStatus: backups', () => {
  it('empty history: no rows, one page, nothing missed, and fine', () => {
    const status = buildStatus(inputs([]));
    expect(status.backups).toEqual({ total: 0, page: 1, pageSize: 50, pages: 1, items: [] });
    expect(status.trend.backups).toEqual([]);
    // Before the first backup there is no history to miss.
    expect(status.trend.missedSlots).toEqual([]);
    expect(status.verdict).toEqual({ ok: true, problems: [], lastBackupAt: null, lastDrill: null });
    expect(status.trend.from).toBe(new Date(NOW.getTime() - 90 * DAY).toISOString());
    // The expected interval is known from the schedule before there is any history.
    expect(status.trend.intervalSeconds).toBe(86_400);
  });

  it('one backup: every field, and the model survives JSON unchanged', () => {
    const status = buildStatus(inputs([{ daysAgo: 0, size: 123_456, durationMs: 2500 }]));
    expect(status.backups.items).toEqual([
      {
        name: 'chatflow_backup_20261130_020005',
        createdAt: '2026-11-30T02:00:05.000Z',
        size: 123_456,
        durationSeconds: 2.5,
        stores: ['local'],
        complete: true,
        verified: { result: 'not-run', at: null, detail: 'sizes match the manifest; checksum not re-read' },
        drill: null,
        encrypted: false,
      },
    ]);
    expect(status.verdict.lastBackupAt).toBe('2026-11-30T02:00:05.000Z');
    expect(status.schedule).toEqual({
      backupCron: '0 2 * * *',
      nextBackup: '2026-12-01T02:00:00.000Z',
      nextPrune: '2026-12-01T02:00:00.000Z',
      drillCron: null,
      nextDrill: null,
    });
    expect(roundTrip(status)).toEqual(status);
  });

  it('a backup in two stores is one row naming both, by bucket only', () => {
    const status = buildStatus(inputs([{ daysAgo: 1, stores: ['local', 's3'], encrypted: true }]));
    expect(status.backups.total).toBe(1);
    expect(status.backups.items[0]?.stores).toEqual(['local', 's3:chatflow-backups']);
    expect(status.backups.items[0]?.encrypted).toBe(true);
    const json = JSON.stringify(status);
    expect(json).not.toContain('s3://');
    expect(json).not.toContain('prod/');
    expect(json).not.toContain('/backups');
  });

  it('400 daily backups: pages of 50 newest first, page clamped, plots cover 90 days', () => {
    const first = buildStatus(inputs(daily(400)));
    expect(first.backups).toMatchObject({ total: 400, page: 1, pages: 8 });
    expect(first.backups.items).toHaveLength(50);
    expect(first.backups.items[0]?.createdAt).toBe(new Date(slotOfDay(0).getTime() + 5000).toISOString());
    const times = first.backups.items.map((item) => item.createdAt);
    expect([...times].sort().reverse()).toEqual(times);

    const third = buildStatus(inputs(daily(400), { page: 3 }));
    expect(third.backups.items[0]?.createdAt).toBe(new Date(slotOfDay(100).getTime() + 5000).toISOString());
    expect(buildStatus(inputs(daily(400), { page: 99 })).backups.page).toBe(8);
    expect(buildStatus(inputs(daily(400), { page: 0 })).backups.page).toBe(1);

    // Slot 90 days ago (02:00) is before the window's start (07:30 then): days 0..89 are in.
    expect(first.trend.backups).toHaveLength(90);
    expect(first.trend.backups[0]?.at).toBe(new Date(slotOfDay(89).getTime() + 5000).toISOString());
    expect(first.trend.missedSlots).toEqual([]);
    expect(new Set(first.trend.backups.map((point) => point.segment))).toEqual(new Set([0]));
    expect(first.trend.intervalSeconds).toBe(86_400);
  });

  it('an archive without a manifest is incomplete and not the last backup', () => {
    const status = buildStatus(inputs([{ daysAgo: 0, complete: false }, { daysAgo: 1 }]));
    expect(status.backups.items[0]).toMatchObject({ complete: false, durationSeconds: null });
    expect(status.backups.items[0]?.verified.result).toBe('failed');
    expect(status.verdict.lastBackupAt).toBe(new Date(slotOfDay(1).getTime() + 5000).toISOString());
  });

  it('a store holding a different size than the manifest fails verification, naming the store', () => {
    const base = inputs([{ daysAgo: 0, stores: ['local', 's3'] }]);
    const entries = base.entries.map((entry) =>
      entry.store === 's3' ? { ...entry, size: entry.size - 1 } : entry,
    );
    const status = buildStatus({ ...base, entries });
    expect(status.backups.items[0]?.verified).toMatchObject({ result: 'failed' });
    expect(status.backups.items[0]?.verified.detail).toMatch(/^s3:chatflow-backups holds \d+ bytes/);
  });

  it('a complete backup whose manifest was not read: catalog time and size, no duration, not judged', () => {
    const base = inputs([{ daysAgo: 0 }, { daysAgo: 1 }]);
    const status = buildStatus({ ...base, manifests: new Map() });
    expect(status.backups.items.map((item) => item.complete)).toEqual([true, true]);
    expect(status.backups.items[0]).toMatchObject({
      durationSeconds: null,
      verified: { result: 'not-run', at: null, detail: 'manifest not read' },
    });
    expect(status.verdict.lastBackupAt).toBe(status.backups.items[0]?.createdAt);
    expect(status.trend.missedSlots).toEqual([]);
  });

  it('a copy without its manifest in one store fails verification, naming that store', () => {
    const base = inputs([{ daysAgo: 0, stores: ['local', 's3'] }]);
    const entries = base.entries.map((entry) =>
      entry.store === 's3' ? { ...entry, complete: false } : entry,
    );
    const item = buildStatus({ ...base, entries }).backups.items[0];
    expect(item?.complete).toBe(true);
    expect(item?.verified).toEqual({
      result: 'failed',
      at: null,
      detail: 's3:chatflow-backups holds the archive without its manifest',
    });
  });

  it('a recorded verification wins over the listing', () => {
    const base = inputs([{ daysAgo: 0, name: 'before-upgrade' }]);
    const at = new Date(NOW.getTime() - 60_000);
    const status = buildStatus({ ...base, verifications: new Map([['before-upgrade', { at, ok: true }]]) });
    expect(status.backups.items[0]?.verified).toEqual({
      result: 'passed',
      at: at.toISOString(),
      detail: 'checksum and gzip stream verified',
    });
  });
});

describe('buildStatus: missed slots', () => {
  const withHoles = daily(20).filter((b) => ![3, 4, 10].includes(b.daysAgo));

  it('lists each scheduled slot no backup covers, oldest first', () => {
    const status = buildStatus(inputs(withHoles));
    expect(status.trend.slotsChecked).toBe(true);
    expect(status.trend.missedSlots).toEqual([10, 4, 3].map((d) => slotOfDay(d).toISOString()));
  });

  it('breaks the line at each gap: three segments for two holes', () => {
    const points = buildStatus(inputs(withHoles)).trend.backups;
    const segmentOf = (daysAgo: number): number | undefined =>
      points.find((p) => p.at === new Date(slotOfDay(daysAgo).getTime() + 5000).toISOString())?.segment;
    expect(segmentOf(19)).toBe(0);
    expect(segmentOf(11)).toBe(0);
    expect(segmentOf(9)).toBe(1);
    expect(segmentOf(5)).toBe(1);
    expect(segmentOf(2)).toBe(2);
    expect(segmentOf(0)).toBe(2);
  });

  it("today's slot is missed once due, not while it is still within the tolerance", () => {
    const late = buildStatus(inputs(daily(5).slice(1)));
    expect(late.trend.missedSlots).toEqual([slotOfDay(0).toISOString()]);
    const justNow = new Date(slotOfDay(0).getTime() + 30_000);
    const early = buildStatus(
      inputs(
        daily(5)
          .slice(1)
          .map((b) => ({ daysAgo: b.daysAgo })),
        {},
        justNow,
      ),
    );
    expect(early.trend.missedSlots).toEqual([]);
  });

  it('a manual backup between slots does not hide a missing scheduled one before it', () => {
    const base = inputs([{ daysAgo: 2 }, { daysAgo: 0 }]);
    const status = buildStatus(base);
    expect(status.trend.missedSlots).toEqual([slotOfDay(1).toISOString()]);
  });

  it('a schedule too dense to check gives up on gaps instead of walking forever', () => {
    const everyMinute = (at: Date): Date => new Date(Math.floor(at.getTime() / 60_000) * 60_000);
    const base = inputs(daily(10));
    const status = buildStatus({ ...base, schedule: { ...base.schedule, previousBackupSlot: everyMinute } });
    expect(MAX_SLOTS).toBeLessThan(10 * 1440);
    expect(status.trend.slotsChecked).toBe(false);
    expect(status.trend.missedSlots).toEqual([]);
    expect(status.trend.backups).toHaveLength(10);
  });
});

describe('buildStatus: verdict', () => {
  it('carries the health reasons with since-when by area', () => {
    const since = new Date(NOW.getTime() - 3 * 3_600_000);
    const status = buildStatus(
      inputs(daily(3), {
        health: {
          reasons: ['database: connection refused', 'migrations: 2 pending (run `chatflow-db migrate`)'],
          since: new Map([['database', since]]),
        },
      }),
    );
    expect(status.verdict.ok).toBe(false);
    expect(status.verdict.problems).toEqual([
      { area: 'database', message: 'database: connection refused', since: since.toISOString() },
      { area: 'migrations', message: 'migrations: 2 pending (run `chatflow-db migrate`)', since: null },
    ]);
  });

  it('is the same truth as /healthz: decideHealth reasons become the problems, in order', () => {
    const state = createState(new Date(NOW.getTime() - 2 * DAY));
    const due = slotOfDay(0);
    recordFailure(state, { at: due, finishedAt: due, durationMs: 10, error: 'pg_dump exited with code 1' });
    const decision = decideHealth(
      state,
      { database: { ok: true }, migrations: { pending: 1 } },
      {
        now: NOW,
        due,
        timeoutMs: 6 * 3_600_000,
      },
    );
    expect(decision.healthy).toBe(false);
    const since = trackSince(new Map(), decision.reasons, NOW);
    const status = buildStatus(inputs(daily(3).slice(1), { health: { reasons: decision.reasons, since } }));
    expect(status.verdict.ok).toBe(decision.healthy);
    expect(status.verdict.problems.map((p) => p.message)).toEqual(decision.reasons);
    expect(status.verdict.problems.map((p) => p.area)).toEqual(['migrations', 'backup']);
    expect(status.verdict.problems.every((p) => p.since === NOW.toISOString())).toBe(true);
  });

  it('a failed drill makes it a problem, since the first failure of the run, naming the checks', () => {
    const base = inputs(daily(10));
    const name = base.entries[0]!.name;
    const drills = new Map([
      [
        name,
        [
          drill(new Date(NOW.getTime() - 3 * DAY), true),
          drill(new Date(NOW.getTime() - 2 * DAY), false, 9000, ['row counts']),
          drill(new Date(NOW.getTime() - DAY), false, 9500, ['row counts', 'schema fingerprint']),
        ],
      ],
    ]);
    const status = buildStatus({ ...base, drills });
    expect(status.verdict.ok).toBe(false);
    expect(status.verdict.problems).toHaveLength(1);
    expect(status.verdict.problems[0]).toEqual({
      area: 'drill',
      message: `drill: the last drill of ${name} at ${new Date(NOW.getTime() - DAY).toISOString()} failed (row counts, schema fingerprint)`,
      since: new Date(NOW.getTime() - 2 * DAY).toISOString(),
    });
    expect(status.verdict.lastDrill).toEqual({ at: new Date(NOW.getTime() - DAY).toISOString(), ok: false });
    expect(status.backups.items[0]?.drill).toEqual({
      at: new Date(NOW.getTime() - DAY).toISOString(),
      ok: false,
      durationSeconds: 9.5,
      failedChecks: ['row counts', 'schema fingerprint'],
    });
    expect(status.trend.drills.map((d) => d.ok)).toEqual([true, false, false]);
  });

  it('a drill problem already reported by health is not reported twice', () => {
    const base = inputs(daily(2));
    const drills = new Map([[base.entries[0]!.name, [drill(NOW, false, 1, ['psql'])]]]);
    const status = buildStatus({ ...base, drills, health: { reasons: ['drill: the last drill failed'] } });
    expect(status.verdict.problems.map((p) => p.message)).toEqual(['drill: the last drill failed']);
  });

  it('with weekly drills: none successful within two weeks is a problem; a recent one is fine', () => {
    const weekly = (at: Date): Date => new Date(Math.floor(at.getTime() / (7 * DAY)) * 7 * DAY);
    const base = inputs(daily(30));
    const schedule = {
      ...base.schedule,
      drill: { cron: '0 4 * * 0', next: new Date(weekly(NOW).getTime() + 7 * DAY), previousSlot: weekly },
    };
    const none = buildStatus({ ...base, schedule });
    expect(none.verdict.problems.map((p) => p.area)).toEqual(['drill']);
    expect(none.verdict.problems[0]?.message).toContain('no successful drill yet');

    const drills = new Map([[base.entries[0]!.name, [drill(new Date(NOW.getTime() - 3 * DAY), true)]]]);
    expect(buildStatus({ ...base, schedule, drills }).verdict.ok).toBe(true);

    // A young installation (first backup 3 days ago) is not blamed for drills it could not have had.
    const young = inputs(daily(3));
    expect(buildStatus({ ...young, schedule }).verdict.ok).toBe(true);
  });
});

describe('helpers', () => {
  it('trackSince keeps the first time of a still failing area and forgets recovered ones', () => {
    const t0 = new Date('2026-11-30T01:00:00Z');
    const t1 = new Date('2026-11-30T02:00:00Z');
    const first = trackSince(new Map(), ['database: down', 'backup: failed'], t0);
    const second = trackSince(first, ['database: still down'], t1);
    expect([...second]).toEqual([['database', t0]]);
    const third = trackSince(second, ['backup: failed again', 'database: down'], t1);
    expect(third.get('backup')).toEqual(t1);
    expect(third.get('database')).toEqual(t0);
  });

  it.each([
    [undefined, 1],
    ['', 1],
    ['2', 2],
    ['0', 1],
    ['-3', 1],
    ['1e3', 1],
    ['2abc', 1],
    ['9999999', 1],
  ])('parsePage(%j) = %d', (value, page) => {
    expect(parsePage(value)).toBe(page);
  });

  it('storeLabel shows the bucket and never the prefix or endpoint', () => {
    expect(storeLabel({ store: 's3', location: 's3://my-bucket/some/prefix/' })).toBe('s3:my-bucket');
    expect(storeLabel({ store: 'local', location: '/backups' })).toBe('local');
  });

  it('dailyAt2 (the test schedule) is the latest 02:00 at or before a moment', () => {
    expect(dailyAt2(new Date('2026-11-30T01:59:59Z')).toISOString()).toBe('2026-11-29T02:00:00.000Z');
    expect(dailyAt2(new Date('2026-11-30T02:00:00Z')).toISOString()).toBe('2026-11-30T02:00:00.000Z');
  });
});

describe('buildStatus with the real cron schedule (node-cron, TZ)', () => {
  function withCron<T>(
    pattern: string,
    timeZone: string,
    use: (slot: (at: Date) => Date | undefined) => T,
  ): T {
    const task = createTask(pattern, () => undefined, { timezone: timeZone });
    try {
      return use((at) => previousRun(pattern, task, timeZone, at));
    } finally {
      void task.destroy();
    }
  }

  it('daily at 02:00 Berlin across the end of summer time: a backup each local day misses nothing', () => {
    withCron('0 2 * * *', 'Europe/Berlin', (slot) => {
      // Backups 5 s after each Berlin 02:00 slot of the last 100 days (01:00Z in winter, 00:00Z in summer).
      const slots: Date[] = [];
      for (let s = slot(NOW); s && slots.length < 100; s = slot(new Date(s.getTime() - 1000))) slots.push(s);
      const base = inputs([]);
      const entries = slots.map((s) => ({
        name: `b${s.getTime()}`,
        store: 'local' as const,
        location: '/backups',
        size: 1000,
        modifiedAt: new Date(s.getTime() + 5000),
        complete: true,
        defaultNamed: false,
      }));
      const manifests = new Map(
        entries.map((e) => [e.name, { createdAt: e.modifiedAt.toISOString(), size: 1000, durationMs: 1000 }]),
      );
      const started = performance.now();
      const status = buildStatus({
        ...base,
        entries,
        manifests,
        schedule: { ...base.schedule, previousBackupSlot: slot },
      });
      expect(performance.now() - started).toBeLessThan(2000);
      expect(slots.map((s) => s.toISOString())).toContain('2026-10-25T01:00:00.000Z');
      expect(status.trend.slotsChecked).toBe(true);
      expect(status.trend.missedSlots).toEqual([]);
      expect(status.trend.intervalSeconds).toBe(86_400);

      // Drop the backup of the day summer time ended: exactly that slot is missed.
      const without = entries.filter((e) => !e.modifiedAt.toISOString().startsWith('2026-10-25'));
      const gap = buildStatus({
        ...base,
        entries: without,
        manifests,
        schedule: { ...base.schedule, previousBackupSlot: slot },
      });
      expect(gap.trend.missedSlots).toEqual(['2026-10-25T01:00:00.000Z']);
    });
  });

  it('hourly is checked slot by slot; every 5 minutes gives up at once', () => {
    const base = inputs(daily(100));
    withCron('0 * * * *', 'UTC', (slot) => {
      const status = buildStatus({ ...base, schedule: { ...base.schedule, previousBackupSlot: slot } });
      expect(status.trend.slotsChecked).toBe(true);
      // One backup a day against hourly slots: 23 of 24 slots a day are missed (~90 days).
      expect(status.trend.missedSlots.length).toBeGreaterThan(23 * 89);
    });
    withCron('*/5 * * * *', 'UTC', (slot) => {
      let calls = 0;
      const counted = (at: Date): Date | undefined => {
        calls += 1;
        return slot(at);
      };
      const status = buildStatus({ ...base, schedule: { ...base.schedule, previousBackupSlot: counted } });
      expect(status.trend.slotsChecked).toBe(false);
      expect(calls).toBeLessThan(10);
    });
  });

  it('an incomplete archive does not cover its slot', () => {
    const status = buildStatus(inputs([{ daysAgo: 0 }, { daysAgo: 1, complete: false }, { daysAgo: 2 }]));
    expect(status.trend.missedSlots).toEqual([slotOfDay(1).toISOString()]);
  });
});
