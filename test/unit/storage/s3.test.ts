import { describe, expect, it } from 'vitest';
import { MIN_PART_SIZE, partSizeFor } from '../../../src/storage/s3.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const TiB = 1024 * GiB;

describe('partSizeFor', () => {
  it.each([
    [undefined, 5 * MiB],
    [0, 5 * MiB],
    [10 * GiB, 5 * MiB],
    [100 * GiB, 12 * MiB],
    [TiB, 117 * MiB],
    [1000 * TiB, 5 * GiB],
  ])('an estimate of %s bytes -> %s byte parts', (estimate, expected) => {
    expect(partSizeFor(estimate)).toBe(expected);
  });

  it.each([GiB, 50 * GiB, TiB, 3 * TiB])(
    'a stream as large as the estimate (%s) fits in 9,000 parts',
    (estimate) => {
      const size = partSizeFor(estimate);
      expect(size % MiB).toBe(0);
      expect(size).toBeGreaterThanOrEqual(MIN_PART_SIZE);
      expect(Math.ceil(estimate / size)).toBeLessThanOrEqual(9000);
    },
  );
});
