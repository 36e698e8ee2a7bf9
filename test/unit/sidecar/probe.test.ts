import { describe, expect, it } from 'vitest';
import { createProbe, withTimeout } from '../../../src/sidecar/probe.js';

describe('health probe', () => {
  it('reports the pending count, reuses a result for cacheMs and shares one probe between concurrent callers', async () => {
    let now = 0;
    let pings = 0;
    const seen: number[] = [];
    const probe = createProbe(
      {
        ping: () => {
          pings += 1;
          return Promise.resolve({ ok: true as const });
        },
        pending: () => Promise.resolve(2),
        now: () => now,
      },
      2000,
      (count) => seen.push(count),
    );
    const [a, b] = await Promise.all([probe(), probe()]);
    expect(a).toEqual({ database: { ok: true }, migrations: { pending: 2 } });
    expect(b).toBe(a);
    now = 1500;
    await probe();
    expect(pings).toBe(1);
    now = 5000;
    await probe();
    expect(pings).toBe(2);
    expect(seen).toEqual([2, 2]);
  });

  it('does not ask for migrations when the database is down, and reports a failing status', async () => {
    let asked = false;
    const down = createProbe({
      ping: () => Promise.resolve({ ok: false as const, error: 'ECONNREFUSED' }),
      pending: () => {
        asked = true;
        return Promise.resolve(0);
      },
    });
    expect(await down()).toEqual({
      database: { ok: false, error: 'ECONNREFUSED' },
      migrations: { error: 'database unreachable' },
    });
    expect(asked).toBe(false);

    const broken = createProbe({
      ping: () => Promise.resolve({ ok: true as const }),
      pending: () => Promise.reject(new Error('tracking table unreadable')),
    });
    expect(await broken()).toEqual({
      database: { ok: true },
      migrations: { error: 'tracking table unreadable' },
    });
  });

  it('withTimeout rejects a slow promise with a message naming it', async () => {
    await expect(withTimeout(new Promise(() => undefined), 10, 'the migration status')).rejects.toThrow(
      'the migration status took longer than 10 ms',
    );
    await expect(withTimeout(Promise.resolve(7), 1000, 'x')).resolves.toBe(7);
  });
});
