/**
 * Where the data of a `COPY ... FROM stdin` block ends in a plain-SQL stream, by psql's own rule
 * (src/bin/psql/copy.c, handleCopyIn): the data ends at a line that is exactly `\.` followed by LF or by
 * CR LF, and only at the start of a line (a `\.` inside a line, or `\.x`, is data). Lines are split on LF
 * only, as psql's fgets does. End of input ends the data too (the caller sees that).
 *
 * The scanner keeps its state between calls, so the answer does not depend on how the input is cut into
 * chunks: feed it every byte of the COPY data exactly once, in order, and it reports the offset just past
 * the end-marker line in the chunk where the marker completes. It also counts the data lines (in COPY's
 * text format, one line per row), so a reader of a backup stream can count rows per table.
 */

const LF = 0x0a;
const CR = 0x0d;
const BACKSLASH = 0x5c;
const DOT = 0x2e;

/** How much of the end marker the current line has matched so far. */
const enum Marker {
  /** At the start of a line. */
  LineStart,
  /** The line so far is `\`. */
  Backslash,
  /** The line so far is `\.`. */
  Dot,
  /** The line so far is `\.` CR. */
  DotCr,
  /** The line cannot be the marker; data until the next LF. */
  Data,
}

export class CopyDataScanner {
  private state: Marker = Marker.LineStart;
  /** Complete data lines (rows) seen in this block. */
  rows = 0;

  /** A new COPY block starts (its first byte is at a line start). */
  reset(): void {
    this.state = Marker.LineStart;
    this.rows = 0;
  }

  /** The block has bytes of an unfinished line (input ending here would leave a partial row). */
  get midLine(): boolean {
    return this.state !== Marker.LineStart;
  }

  /**
   * Scans `buf` from `start`. Returns the offset just past the end-marker line if the block ends in
   * this chunk (the bytes after it are no longer COPY data), or -1 if every byte from `start` is data.
   */
  scan(buf: Uint8Array, start = 0): number {
    let pos = start;
    const n = buf.length;
    while (pos < n) {
      if (this.state === Marker.Data) {
        const nl = buf.indexOf(LF, pos);
        if (nl < 0) return -1;
        this.rows++;
        this.state = Marker.LineStart;
        pos = nl + 1;
        continue;
      }
      const byte = buf[pos] as number;
      switch (this.state) {
        case Marker.LineStart:
          if (byte === BACKSLASH) {
            this.state = Marker.Backslash;
            pos++;
            continue;
          }
          break;
        case Marker.Backslash:
          if (byte === DOT) {
            this.state = Marker.Dot;
            pos++;
            continue;
          }
          break;
        case Marker.Dot:
          if (byte === LF) {
            this.state = Marker.LineStart;
            return pos + 1;
          }
          if (byte === CR) {
            this.state = Marker.DotCr;
            pos++;
            continue;
          }
          break;
        case Marker.DotCr:
          if (byte === LF) {
            this.state = Marker.LineStart;
            return pos + 1;
          }
          break;
      }
      // Not the marker: this byte (which may itself be the LF ending the line) is ordinary data.
      this.state = Marker.Data;
    }
    return -1;
  }
}
