import { describe, expect, it } from 'vitest';
import { CopyDataScanner } from '../../../src/lib/copy-scanner.js';

/** Feeds `data` cut at `cuts`; returns the absolute offset where the block ended (or -1) and the rows. */
function scanCut(data: Buffer, cuts: number[]): { end: number; rows: number } {
  const scanner = new CopyDataScanner();
  const bounds = [0, ...cuts, data.length];
  for (let k = 0; k < bounds.length - 1; k++) {
    const from = bounds[k] as number;
    const piece = data.subarray(from, bounds[k + 1]);
    const end = scanner.scan(piece);
    if (end >= 0) return { end: from + end, rows: scanner.rows };
  }
  return { end: -1, rows: scanner.rows };
}

// [data after the COPY statement's line, where the block ends (-1: not in it), rows before the end]
const CASES: [string, number, number][] = [
  ['\\.\n', 3, 0],
  ['\\.\r\nSELECT 1;\n', 4, 0],
  ['1\ta\n2\tb\n\\.\nrest', 11, 2],
  ['1\ta\r\n\\.\r\n\\! id\n', 9, 1],
  ['x\\.\n\\.\n', 7, 1],
  ['\\.x\n\\.\n', 7, 1],
  ['\\.\r\r\n\\.\n', 8, 1],
  ['\\\n\\.\n', 5, 1],
  ['\\\\.\n\\.\n', 7, 1],
  ['\n\n\\.\n', 5, 2],
  ['1\ta\n', -1, 1],
  ['1\ta\n\\.', -1, 1],
  ['1\ta\n\\.\r', -1, 1],
];

describe('CopyDataScanner (psql: a line that is exactly \\. with LF or CR LF)', () => {
  it.each(CASES)('%j ends at %i after %i rows, at every cut', (text, end, rows) => {
    const data = Buffer.from(text);
    expect(scanCut(data, [])).toEqual({ end, rows });
    for (let a = 1; a < data.length; a++) {
      expect(scanCut(data, [a]), `cut at ${a}`).toEqual({ end, rows });
      for (let b = a + 1; b < data.length; b++) expect(scanCut(data, [a, b])).toEqual({ end, rows });
    }
    const bytes = Array.from({ length: data.length - 1 }, (_, i) => i + 1);
    expect(scanCut(data, bytes), '1-byte chunks').toEqual({ end, rows });
  });

  it('counts rows per block after reset', () => {
    const scanner = new CopyDataScanner();
    expect(scanner.scan(Buffer.from('a\nb\n\\.\n'))).toBe(7);
    expect(scanner.rows).toBe(2);
    scanner.reset();
    expect(scanner.scan(Buffer.from('c\n'))).toBe(-1);
    expect(scanner.rows).toBe(1);
    expect(scanner.midLine).toBe(false);
    expect(scanner.scan(Buffer.from('d'))).toBe(-1);
    expect(scanner.midLine).toBe(true);
  });
});
