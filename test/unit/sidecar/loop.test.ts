import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/lib/logger.js';
import {
  createBackupLoop,
  type BackupLoop,
  type BackupSummary,
  type LoopDeps,
} from '../../../src/sidecar/loop.js';
import type { Notifier, NotifyPayload } from '../../../src/sidecar/notify.js';
import { createState } from '../../../src/sidecar/state.js';

type Sent = Omit<NotifyPayload, 'source' | 'host' | 'at'>;

function deferred<T>(): { promise: Promise<T>; resolve(value: T): void; reject(error: unknown): void } {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const summary: BackupSummary = {
  name: 'chatflow_backup_20240210_020000',
  size: 123,
  durationMs: 45,
  locations: ['s3://b'],
};

function setup(overrides: Partial<LoopDeps> = {}) {
  const sent: Sent[] = [];
  const notifier: Notifier = { notify: (payload) => sent.push(payload), close: () => Promise.resolve() };
  const events: string[] = [];
  const state = createState(new Date('2024-02-10T00:00:00Z'));
  const deps: LoopDeps = {
    logger: silentLogger,
    now: () => new Date('2024-02-10T02:00:00Z'),
    state,
    notifier,
    database: 'chatflow',
    backup: () => {
      events.push('backup');
      return Promise.resolve(summary);
    },
    prune: () => {
      events.push('prune');
      return Promise.resolve();
    },
    tryLock: () => {
      events.push('lock');
      return Promise.resolve({
        release: () => {
          events.push('unlock');
          return Promise.resolve();
        },
      });
    },
    ...overrides,
  };
  const loop = createBackupLoop({ schedule: '0 2 * * *', timeZone: 'UTC' }, deps);
  loops.push(loop);
  return { loop, state, sent, events };
}

const loops: BackupLoop[] = [];
afterEach(async () => {
  for (const loop of loops.splice(0)) await loop.stop(100);
});

describe('backup loop', () => {
  it('locks, backs up, prunes, unlocks, records and notifies success only when asked (notifier decides)', async () => {
    const { loop, state, sent, events } = setup();
    expect(await loop.runNow('scheduled', new Date('2024-02-10T02:00:00Z'))).toBe('succeeded');
    expect(events).toEqual(['lock', 'backup', 'prune', 'unlock']);
    expect(state).toMatchObject({ backupsTotal: 1, failuresTotal: 0, running: undefined });
    expect(state.lastSuccess).toMatchObject({
      name: summary.name,
      size: 123,
      durationMs: 45,
      at: new Date('2024-02-10T02:00:00Z'),
    });
    expect(sent).toMatchObject([{ event: 'backup.succeeded', status: 'success', backup: summary }]);
  });

  it('records a failure, notifies it, and does not prune', async () => {
    const { loop, state, sent, events } = setup({
      backup: () => Promise.reject(new Error('S3 said no', { cause: new Error('ECONNREFUSED') })),
    });
    expect(await loop.runNow('scheduled')).toBe('failed');
    expect(events).toEqual(['lock', 'unlock']);
    expect(state).toMatchObject({ backupsTotal: 0, failuresTotal: 1 });
    expect(state.lastFailure?.error).toBe('S3 said no');
    expect(sent).toMatchObject([
      { event: 'backup.failed', status: 'failure', error: 'S3 said no\ncaused by: ECONNREFUSED' },
    ]);
  });

  it('a database that cannot be locked is a failed backup', async () => {
    const { loop, state } = setup({ tryLock: () => Promise.reject(new Error('Cannot connect')) });
    expect(await loop.runNow('scheduled')).toBe('failed');
    expect(state.failuresTotal).toBe(1);
  });

  it('skips while another sidecar holds the lock', async () => {
    const { loop, state, events } = setup({ tryLock: () => Promise.resolve(undefined) });
    expect(await loop.runNow('scheduled')).toBe('skipped-locked');
    expect(events).toEqual([]);
    expect(state).toMatchObject({
      backupsTotal: 0,
      failuresTotal: 0,
      skippedTotal: { locked: 1, overlap: 0 },
      running: undefined,
    });
  });

  it('skips a run that would overlap the one in flight', async () => {
    const gate = deferred<BackupSummary>();
    const { loop, state } = setup({ backup: () => gate.promise });
    const first = loop.runNow('start');
    expect(await loop.runNow('scheduled')).toBe('skipped-overlap');
    expect(state.skippedTotal.overlap).toBe(1);
    gate.resolve(summary);
    expect(await first).toBe('succeeded');
    expect(await loop.runNow('scheduled')).toBe('succeeded');
  });

  it('a failed prune is reported but the backup still counts', async () => {
    const { loop, state, sent } = setup({ prune: () => Promise.reject(new Error('no delete permission')) });
    expect(await loop.runNow('scheduled')).toBe('succeeded');
    expect(state).toMatchObject({ backupsTotal: 1, pruneFailuresTotal: 1 });
    expect(sent.map((s) => s.event)).toEqual(['backup.succeeded', 'prune.failed']);
  });

  it('stop() aborts the backup in flight: no failure, no notification, lock released', async () => {
    let seen: AbortSignal | undefined;
    const { loop, state, sent, events } = setup({
      backup: (signal) => {
        seen = signal;
        return new Promise((_, reject) =>
          signal.addEventListener('abort', () => reject(new Error('aborted'))),
        );
      },
    });
    const run = loop.runNow('scheduled');
    await new Promise((resolve) => setTimeout(resolve, 10));
    await loop.stop(1000);
    expect(seen?.aborted).toBe(true);
    expect(await run).toBe('aborted');
    expect(state).toMatchObject({ failuresTotal: 0, backupsTotal: 0, running: undefined });
    expect(sent).toEqual([]);
    expect(events).toEqual(['lock', 'unlock']);
    expect(await loop.runNow('scheduled')).toBe('stopped');
  });

  it('stop() gives up waiting after its timeout', async () => {
    const { loop } = setup({ backup: () => new Promise(() => undefined) });
    void loop.runNow('scheduled');
    const began = Date.now();
    await loop.stop(50);
    expect(Date.now() - began).toBeLessThan(1000);
  });

  it('knows the previous and next slots of its schedule', () => {
    const { loop } = setup();
    expect(loop.previousRun(new Date('2024-02-10T12:00:00Z'))?.toISOString()).toBe(
      '2024-02-10T02:00:00.000Z',
    );
    expect(loop.nextRun()?.getUTCHours()).toBe(2);
  });
});
