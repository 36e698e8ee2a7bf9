import { describe, expect, it } from 'vitest';
import {
  createState,
  decideHealth,
  healthGraceMs,
  recordAborted,
  recordFailure,
  recordSkipped,
  recordStarted,
  recordSuccess,
  type HealthProbe,
  type SidecarState,
} from '../../../src/sidecar/state.js';

const t = (iso: string): Date => new Date(iso.includes('T') ? `${iso}Z` : `2024-02-10T${iso}Z`);
const okProbe: HealthProbe = { database: { ok: true }, migrations: { pending: 0 } };
const record = (at: string, extra: { error?: string } = {}) => ({
  at: t(at),
  finishedAt: t(at),
  durationMs: 1000,
  name: 'chatflow_backup_x',
  size: 10,
  ...extra,
});

function stateWith(setup: (state: SidecarState) => void, startedAt = '00:00:00'): SidecarState {
  const state = createState(t(startedAt));
  setup(state);
  return state;
}

const HOUR = 3_600_000;
/** BACKUP_TIMEOUT of the table: 3 h. */
const TIMEOUT = 3 * HOUR;

/** What the stores hold: the newest complete scheduled backup of this database (created at `at`). */
const stored = (at: string | undefined, error?: string) => ({
  newest:
    at === undefined ? undefined : { name: 'chatflow_backup_s', createdAt: t(at), location: '/backups' },
  checkedAt: t('00:00:00'),
  errors: error === undefined ? [] : [error],
});

describe('decideHealth', () => {
  const cases: Array<{
    name: string;
    state: SidecarState;
    probe?: HealthProbe;
    due?: string;
    now?: string;
    healthy: boolean;
    reason?: RegExp;
  }> = [
    { name: 'nothing due yet', state: stateWith(() => undefined), healthy: true },
    {
      name: 'a slot due before the process started is judged from the stores: none there',
      state: stateWith((s) => (s.stored = stored(undefined)), '03:00:00'),
      due: '02:00:00',
      healthy: false,
      reason: /no complete scheduled backup of this database in the stores/,
    },
    {
      name: 'a slot due before the process started, covered by a backup in the stores (made before a restart)',
      state: stateWith((s) => (s.stored = stored('02:00:01')), '03:00:00'),
      due: '02:00:00',
      healthy: true,
    },
    {
      name: 'the stores hold only an older backup (the last run before a restart failed or was killed)',
      state: stateWith((s) => (s.stored = stored('2024-02-09T02:00:01')), '03:00:00'),
      due: '02:00:00',
      healthy: false,
      reason: /no successful backup since the one due at 2024-02-10T02:00:00.000Z/,
    },
    {
      name: 'stores unreadable and nothing known: unhealthy, saying why',
      state: stateWith((s) => (s.stored = stored(undefined, 's3://b: ECONNREFUSED')), '03:00:00'),
      due: '02:00:00',
      healthy: false,
      reason: /stores could not be read: s3:\/\/b: ECONNREFUSED/,
    },
    {
      name: 'slot due since start without a backup',
      state: stateWith(() => undefined),
      due: '02:00:00',
      healthy: false,
      reason: /no complete scheduled backup of this database/,
    },
    {
      name: 'success covers the due slot',
      state: stateWith((s) => recordSuccess(s, record('02:00:00'))),
      due: '02:00:00',
      healthy: true,
    },
    {
      name: 'success older than the due slot',
      state: stateWith((s) => recordSuccess(s, record('01:00:00'))),
      due: '02:00:00',
      healthy: false,
      reason: /no successful backup since the one due at/,
    },
    {
      name: 'a backup running for the due slot, within BACKUP_TIMEOUT, covers it',
      state: stateWith((s) => recordStarted(s, t('02:00:00'), 'scheduled', t('02:00:00'))),
      due: '02:00:00',
      now: '02:30:00',
      healthy: true,
    },
    {
      name: 'a backup still running when the next slot is due is red (it ran past its slot)',
      state: stateWith((s) => {
        recordSuccess(s, record('01:00:00'));
        recordStarted(s, t('02:00:00'), 'scheduled', t('02:00:00'));
      }),
      due: '03:00:00',
      now: '03:01:00',
      healthy: false,
      reason:
        /the backup due at 2024-02-10T02:00:00.000Z is still running past the slot due at 2024-02-10T03:00:00.000Z/,
    },
    {
      name: 'a backup running for an older slot does not cover the due one, even with a success before it',
      state: stateWith((s) => {
        recordSuccess(s, record('00:00:00'));
        recordStarted(s, t('01:00:00'), 'scheduled', t('01:00:00'));
      }),
      due: '02:00:00',
      now: '02:01:00',
      healthy: false,
      reason: /still running past the slot/,
    },
    {
      name: 'a backup running longer than BACKUP_TIMEOUT is red, even before the next slot',
      state: stateWith((s) => recordStarted(s, t('02:00:00'), 'scheduled', t('02:00:00'))),
      due: '02:00:00',
      now: '05:00:01',
      healthy: false,
      reason: /running for 3 h 0 min, longer than BACKUP_TIMEOUT \(3 h\)/,
    },
    {
      name: 'another sidecar holding the lock covers the slot',
      state: stateWith((s) => recordSkipped(s, 'locked', t('02:00:00'))),
      due: '02:00:00',
      now: '02:10:00',
      healthy: true,
    },
    {
      name: 'a lock held by another sidecar covers the slot for BACKUP_TIMEOUT only (its backup never arrived)',
      state: stateWith((s) => recordSkipped(s, 'locked', t('02:00:00'))),
      due: '02:00:00',
      now: '05:00:01',
      healthy: false,
      reason: /no complete scheduled backup/,
    },
    {
      name: "another sidecar's backup in the stores covers the slot",
      state: stateWith((s) => {
        recordSkipped(s, 'locked', t('02:00:00'));
        s.stored = stored('02:00:00');
      }),
      due: '02:00:00',
      now: '05:00:01',
      healthy: true,
    },
    {
      name: 'an overlap skip does not cover the slot',
      state: stateWith((s) => recordSkipped(s, 'overlap', t('02:00:00'))),
      due: '02:00:00',
      healthy: false,
    },
    {
      name: 'last backup failed',
      state: stateWith((s) => {
        recordSuccess(s, record('01:00:00'));
        recordFailure(s, record('02:00:00', { error: 'S3 unreachable' }));
      }),
      healthy: false,
      reason: /the last backup \(due 2024-02-10T02:00:00.000Z\) failed: S3 unreachable/,
    },
    {
      name: 'a failure, then a backup of a later slot in the stores (another replica) is healthy',
      state: stateWith((s) => {
        recordFailure(s, record('01:00:00', { error: 'x' }));
        s.stored = stored('02:00:01');
      }),
      due: '02:00:00',
      healthy: true,
    },
    {
      name: 'failure followed by a success',
      state: stateWith((s) => {
        recordFailure(s, record('01:00:00', { error: 'x' }));
        recordSuccess(s, record('02:00:00'));
      }),
      due: '02:00:00',
      healthy: true,
    },
    {
      name: 'failure even while the next backup runs',
      state: stateWith((s) => {
        recordFailure(s, record('01:00:00', { error: 'x' }));
        recordStarted(s, t('02:00:00'), 'scheduled', t('02:00:00'));
      }),
      due: '02:00:00',
      healthy: false,
      reason: /failed: x/,
    },
    {
      name: 'an aborted run is no outcome',
      state: stateWith((s) => {
        recordSuccess(s, record('02:00:00'));
        recordStarted(s, t('03:00:00'), 'scheduled', t('03:00:00'));
        recordAborted(s);
      }),
      due: '02:00:00',
      healthy: true,
    },
    {
      name: 'database down',
      state: stateWith(() => undefined),
      probe: {
        database: { ok: false, error: 'ECONNREFUSED' },
        migrations: { error: 'database unreachable' },
      },
      healthy: false,
      reason: /^database: ECONNREFUSED$/,
    },
    {
      name: 'pending migrations',
      state: stateWith(() => undefined),
      probe: { database: { ok: true }, migrations: { pending: 2 } },
      healthy: false,
      reason: /2 pending/,
    },
    {
      name: 'migration status unknown',
      state: stateWith(() => undefined),
      probe: { database: { ok: true }, migrations: { error: 'boom' } },
      healthy: false,
      reason: /status unknown \(boom\)/,
    },
  ];

  for (const c of cases) {
    it(c.name, () => {
      const now = c.now ? t(c.now) : c.due ? new Date(t(c.due).getTime() + 60_000) : t('01:00:00');
      const decision = decideHealth(c.state, c.probe ?? okProbe, {
        now,
        due: c.due ? t(c.due) : undefined,
        timeoutMs: TIMEOUT,
      });
      expect(decision.healthy, decision.reasons.join('\n')).toBe(c.healthy);
      expect(decision.reasons.length === 0).toBe(c.healthy);
      if (c.reason) expect(decision.reasons.join('\n')).toMatch(c.reason);
    });
  }

  it('reports the database once when it is down (no second migration reason)', () => {
    const decision = decideHealth(
      createState(t('00:00:00')),
      { database: { ok: false, error: 'down' }, migrations: { error: 'database unreachable' } },
      { now: t('01:00:00'), due: undefined, timeoutMs: TIMEOUT },
    );
    expect(decision.reasons).toEqual(['database: down']);
  });
});

describe('healthGraceMs', () => {
  it('is 60 s, or half the interval of a schedule that fires more often than every 2 min', () => {
    const runs = (...iso: string[]) => iso.map(t);
    expect(healthGraceMs(runs('02:00:00', '03:00:00'))).toBe(60_000);
    expect(healthGraceMs(runs('02:00:00', '02:00:01'))).toBe(500);
    expect(healthGraceMs(runs('02:00:00', '02:00:03'))).toBe(1500);
    expect(healthGraceMs(runs('02:00:00'))).toBe(60_000);
  });
});

describe('state recording', () => {
  it('counts outcomes and skips', () => {
    const state = createState(t('00:00:00'));
    recordStarted(state, t('01:00:00'), 'scheduled', t('01:00:05'));
    expect(state.running).toEqual({ at: t('01:00:00'), reason: 'scheduled', startedAt: t('01:00:05') });
    recordSuccess(state, record('01:00:00'));
    recordFailure(state, record('02:00:00', { error: 'x' }));
    recordSkipped(state, 'overlap', t('03:00:00'));
    recordSkipped(state, 'locked', t('04:00:00'));
    expect(state).toMatchObject({
      running: undefined,
      backupsTotal: 1,
      failuresTotal: 1,
      skippedTotal: { overlap: 1, locked: 1 },
      lastLockedAt: t('04:00:00'),
    });
  });
});
