/** The cut-over mark: recognised only in the shape chatflow-db writes, and the operator's comment survives it. */
import { describe, expect, it } from 'vitest';
import { markComment, parseMark } from '../../../src/restore/cutover-mark.js';

describe('cut-over mark', () => {
  const at = new Date('2026-11-30T08:00:00Z');
  it.each([null, "the operator's comment", 'two\nlines'])(
    'round-trips the previous comment %j',
    (previous) => {
      expect(parseMark(markComment('app', at, previous))).toEqual({
        target: 'app',
        at: '2026-11-30T08:00:00.000Z',
        previousComment: previous,
      });
    },
  );

  it.each([
    null,
    '',
    'chatflow-db',
    'chatflow-db cut-over not json',
    'chatflow-db cut-over {"target":1}',
    'a comment',
  ])('is not a mark: %j', (comment) => {
    expect(parseMark(comment)).toBeUndefined();
  });
});
