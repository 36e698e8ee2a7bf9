import { describe, expect, it } from 'vitest';
import pino from 'pino';
import type { DrillRecord } from '../../../src/drill/record.js';
import { createDrillLoop, createDrillState, type DrillLoopDeps } from '../../../src/sidecar/drill-loop.js';
import type { NotifyPayload } from '../../../src/sidecar/notify.js';

const NEVER = '0 0 1 1 *';

function record(ok: boolean): DrillRecord {
  return {
    format: 'chatflow-db-drill/1',
    backup: 'nightly',
    database: 'chatflow',
    startedAt: '2024-02-10T02:00:00.000Z',
    finishedAt: '2024-02-10T02:01:00.000Z',
    ok,
    restoreSeconds: 40,
    totalSeconds: 60,
    checks: [
      { name: 'restore', ok: true, detail: 'ok', seconds: 40 },
      {
        name: 'row-counts',
        ok,
        detail: ok ? 'ok' : 'public.users: 1 rows restored, the manifest counted 2',
        seconds: 1,
      },
    ],
    versions: { chatflowDb: '0.1.0', server: '15', pgDump: '15' },
    target: 'chatflow_drill_20240210_020000_a1b2c3',
    server: 'configured',
  };
}

function setUp(overrides: Partial<DrillLoopDeps> = {}) {
  const sent: Omit<NotifyPayload, 'source' | 'host' | 'at'>[] = [];
  let released = 0;
  const state = createDrillState();
  const deps: DrillLoopDeps = {
    logger: pino({ level: 'silent' }),
    now: () => new Date('2024-02-10T02:01:00.000Z'),
    state,
    notifier: { notify: (payload) => void sent.push(payload), close: () => Promise.resolve() },
    database: 'chatflow',
    drill: () => Promise.resolve(record(true)),
    backupRunning: () => false,
    tryLock: () => Promise.resolve({ release: () => Promise.resolve(void released++) }),
    ...overrides,
  };
  const loop = createDrillLoop({ schedule: NEVER, timeZone: 'UTC' }, deps);
  return { loop, state, sent, released: () => released };
}

describe('drill loop', () => {
  it('records a passed drill and releases the lock', async () => {
    const { loop, state, sent, released } = setUp();
    expect(await loop.runNow()).toBe('passed');
    expect(state.lastSuccessAt?.toISOString()).toBe('2024-02-10T02:01:00.000Z');
    expect(state.failuresTotal).toBe(0);
    expect(state.lastDurationSeconds).toBe(60);
    expect(sent).toEqual([]);
    expect(released()).toBe(1);
    await loop.stop(100);
  });

  it('counts and notifies a failed drill with the failed checks', async () => {
    const { loop, state, sent } = setUp({ drill: () => Promise.resolve(record(false)) });
    expect(await loop.runNow()).toBe('failed');
    expect(state.failuresTotal).toBe(1);
    expect(state.drills.at(-1)?.failedChecks).toEqual(['row-counts']);
    expect(sent[0]?.event).toBe('drill.failed');
    expect(sent[0]?.error).toContain('public.users');
    await loop.stop(100);
  });

  it('is skipped while another sidecar holds the backup lock', async () => {
    let drilled = false;
    const { loop } = setUp({
      tryLock: () => Promise.resolve(undefined),
      drill: () => ((drilled = true), Promise.resolve(record(true))),
    });
    expect(await loop.runNow()).toBe('skipped');
    expect(drilled).toBe(false);
    await loop.stop(100);
  });

  it('waits for a backup of this sidecar to finish before it starts', async () => {
    let backingUp = true;
    let startedWhileBackingUp = false;
    const { loop } = setUp({
      backupRunning: () => backingUp,
      drill: () => {
        startedWhileBackingUp = backingUp;
        return Promise.resolve(record(true));
      },
    });
    const outcome = loop.runNow();
    setTimeout(() => (backingUp = false), 700);
    expect(await outcome).toBe('passed');
    expect(startedWhileBackingUp).toBe(false);
    await loop.stop(100);
  });

  it('a backup interrupts a drill in flight: no verdict, no failure, lock released', async () => {
    const { loop, state, sent, released } = setUp({
      drill: (signal) =>
        new Promise((_resolve, reject) =>
          signal.addEventListener('abort', () => reject(new Error('interrupted')), { once: true }),
        ),
    });
    const outcome = loop.runNow();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(state.running).toBe(true);
    await loop.interrupt();
    expect(await outcome).toBe('interrupted');
    expect(state.running).toBe(false);
    expect(state.failuresTotal).toBe(0);
    expect(sent).toEqual([]);
    expect(released()).toBe(1);
    await loop.stop(100);
  });
});
