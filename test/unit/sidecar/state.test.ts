import { describe, expect, it } from 'vitest';
import {
  createState,
  decideHealth,
  recordAborted,
  recordFailure,
  recordSkipped,
  recordStarted,
  recordSuccess,
  type HealthProbe,
  type SidecarState,
} from '../../../src/sidecar/state.js';

const t = (iso: string): Date => new Date(`2024-02-10T${iso}Z`);
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

describe('decideHealth', () => {
  const cases: Array<{
    name: string;
    state: SidecarState;
    probe?: HealthProbe;
    due?: string;
    healthy: boolean;
    reason?: RegExp;
  }> = [
    { name: 'fresh start, nothing due yet', state: stateWith(() => undefined), healthy: true },
    {
      name: 'slot due before the process started is not judged',
      state: stateWith(() => undefined, '03:00:00'),
      due: '02:00:00',
      healthy: true,
    },
    {
      name: 'slot due since start without a backup',
      state: stateWith(() => undefined),
      due: '02:00:00',
      healthy: false,
      reason: /no successful backup since the one due at 2024-02-10T02:00:00/,
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
      reason: /no successful backup/,
    },
    {
      name: 'a running backup covers the slot',
      state: stateWith((s) => recordStarted(s, t('02:00:00'), 'scheduled')),
      due: '02:00:00',
      healthy: true,
    },
    {
      name: 'another sidecar holding the lock covers the slot',
      state: stateWith((s) => recordSkipped(s, 'locked', t('02:00:00'))),
      due: '02:00:00',
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
        recordStarted(s, t('02:00:00'), 'scheduled');
      }),
      healthy: false,
    },
    {
      name: 'an aborted run is no outcome',
      state: stateWith((s) => {
        recordSuccess(s, record('02:00:00'));
        recordStarted(s, t('03:00:00'), 'scheduled');
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
      const decision = decideHealth(c.state, c.probe ?? okProbe, c.due ? t(c.due) : undefined);
      expect(decision.healthy).toBe(c.healthy);
      expect(decision.reasons.length === 0).toBe(c.healthy);
      if (c.reason) expect(decision.reasons.join('\n')).toMatch(c.reason);
    });
  }

  it('reports the database once when it is down (no second migration reason)', () => {
    const decision = decideHealth(
      createState(t('00:00:00')),
      { database: { ok: false, error: 'down' }, migrations: { error: 'database unreachable' } },
      undefined,
    );
    expect(decision.reasons).toEqual(['database: down']);
  });
});

describe('state recording', () => {
  it('counts outcomes and skips', () => {
    const state = createState(t('00:00:00'));
    recordStarted(state, t('01:00:00'), 'scheduled');
    expect(state.running).toEqual({ at: t('01:00:00'), reason: 'scheduled' });
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
