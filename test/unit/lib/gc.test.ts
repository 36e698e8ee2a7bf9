import { describe, expect, it } from 'vitest';
import { minorGc, v8FlagsFrozen } from '../../../src/lib/gc.js';

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
});
