import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ParallelGzip } from '../../../src/backup/gzip.js';

async function compress(
  input: Buffer[],
  options: ConstructorParameters<typeof ParallelGzip>[0],
): Promise<Buffer> {
  const out: Buffer[] = [];
  await pipeline(Readable.from(input), new ParallelGzip(options), async (source: AsyncIterable<Buffer>) => {
    for await (const chunk of source) out.push(chunk);
  });
  return Buffer.concat(out);
}

describe('ParallelGzip', () => {
  it.each([
    ['empty input', [] as Buffer[]],
    ['one byte', [Buffer.from('x')]],
    ['exactly one chunk', [Buffer.alloc(64 * 1024, 'a')]],
    [
      'many uneven pieces',
      Array.from({ length: 50 }, (_, i) => Buffer.from(`row ${i} ${'text '.repeat(i * 37)}\n`)),
    ],
    ['random data over many chunks', [randomBytes(300_000), randomBytes(5), randomBytes(200_000)]],
  ])('%s: concatenated members inflate to the input, in order', async (_title, input) => {
    const gz = await compress(input, { level: 6, threads: 3, chunkSize: 64 * 1024, maxInFlight: 2 });
    expect(gunzipSync(gz).equals(Buffer.concat(input))).toBe(true);
  });

  it('is deterministic for a given chunk size and level', async () => {
    const input = [Buffer.from('abc'.repeat(100_000))];
    const a = await compress(input, { level: 1, threads: 2, chunkSize: 32 * 1024 });
    const b = await compress(input, { level: 1, threads: 4, chunkSize: 32 * 1024 });
    expect(a.equals(b)).toBe(true);
  });
});
