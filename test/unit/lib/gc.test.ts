import { describe, expect, it } from 'vitest';
import { fullGc, minorGc, v8FlagsFrozen } from '../../../src/lib/gc.js';

describe('explicit GC', () => {
  it.each([
    [['--freeze-flags-after-init'], true],
    [['--freeze_flags_after_init'], true],
    [['--max-old-space-size=100'], false],
    [[], false],
  ])('flags frozen for %j: %s', (argv, frozen) => {
    expect(v8FlagsFrozen(argv)).toBe(frozen);
  });

  it('minorGc never throws, with or without a gc', () => {
    expect(() => minorGc()).not.toThrow();
  });

  it('fullGc collects an object nothing refers to any more', async () => {
    const nextTask = () => new Promise((resolve) => setTimeout(resolve, 0));
    let ref: WeakRef<object> | undefined;
    // A WeakRef's target is kept until the task that created it ends, hence the separate tasks.
    await new Promise<void>((resolve) =>
      setTimeout(() => {
        ref = new WeakRef({ payload: new Array(1000).fill('x') });
        resolve();
      }, 0),
    );
    await nextTask();
    fullGc();
    expect(ref?.deref()).toBeUndefined();
  });
});
