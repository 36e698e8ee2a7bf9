import { describe, expect, it } from 'vitest';
import { unlessAborted } from '../../../src/lib/abort.js';

describe('unlessAborted', () => {
  it('passes the work through without a signal or when nothing aborts', async () => {
    await expect(unlessAborted(Promise.resolve(1), undefined)).resolves.toBe(1);
    await expect(unlessAborted(Promise.resolve(2), new AbortController().signal)).resolves.toBe(2);
    await expect(
      unlessAborted(Promise.reject(new Error('boom')), new AbortController().signal),
    ).rejects.toThrow('boom');
  });

  it('rejects with the reason as soon as the signal aborts, before the work settles', async () => {
    const controller = new AbortController();
    const never = new Promise<number>(() => undefined);
    const raced = unlessAborted(never, controller.signal);
    controller.abort(new Error('shutdown'));
    await expect(raced).rejects.toThrow('shutdown');
  });

  it('rejects at once for an already aborted signal', async () => {
    await expect(unlessAborted(Promise.resolve(1), AbortSignal.abort())).rejects.toThrow();
  });
});
