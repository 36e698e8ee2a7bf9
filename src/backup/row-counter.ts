/**
 * Rows per table, counted from the COPY blocks of a plain pg_dump stream on its way to gzip: no query,
 * no second read. pg_dump writes each table's data as
 *
 *   COPY public.users (id, name) FROM stdin;
 *   <one line per row: COPY's text format escapes newlines in values as \n>
 *   \.
 *
 * so a block's rows are its data lines, and the block ends on a line that is exactly `\.` (LF or CR LF),
 * the rule psql itself applies (src/lib/copy-scanner.ts, shared with the restore's dump filter). The
 * counts do not depend on how the stream is cut into chunks. Cost: one indexOf per line; the schema
 * lines around the data are skipped with indexOf too, only a line starting with `COPY ` is decoded.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { CopyDataScanner } from '../lib/copy-scanner.js';

const LF = 0x0a;
const COPY_PREFIX = Buffer.from('COPY ');
/** A COPY statement line longer than this is not one pg_dump wrote (its column list is bounded). */
const MAX_STATEMENT_BYTES = 1 << 20;

/** Where the counter is between blocks. */
const enum At {
  /** At the start of a line; `head` holds the first bytes of it seen so far (< 5). */
  LineStart,
  /** Inside a line that is not a COPY statement: skip to its LF. */
  Skip,
  /** Inside a line starting with `COPY `: collect it. */
  Statement,
  /** Inside a COPY block's data. */
  Data,
}

/**
 * The table a `COPY <name> [(<columns>)] FROM stdin;` line names, as pg_dump spelled it (`public.users`,
 * `"My Schema"."T"`), or undefined if the line is not such a statement.
 */
export function copyTarget(line: string): string | undefined {
  const text = line.endsWith('\r') ? line.slice(0, -1) : line;
  if (!text.startsWith('COPY ') || !text.endsWith(' FROM stdin;')) return undefined;
  // A qualified name: identifiers ("quoted" with "" inside, or plain) joined by dots.
  const name = /^COPY ((?:"(?:[^"]|"")+"|[^\s."(]+)(?:\.(?:"(?:[^"]|"")+"|[^\s."(]+))*) /.exec(text);
  if (!name?.[1]) return undefined;
  const rest = text.slice(5 + name[1].length);
  // pg_dump writes the column list, or nothing (a table without columns: two spaces).
  if (rest !== '  FROM stdin;' && !/^ \(.*\) FROM stdin;$/.test(rest)) return undefined;
  return name[1];
}

export class CopyRowCounter extends Transform {
  /** Rows per table (`schema.table` as pg_dump wrote it), in dump order; complete once the stream ended. */
  readonly counts: Record<string, number> = {};
  private at: At = At.LineStart;
  private head: number[] = [];
  private statement: Buffer[] = [];
  private statementBytes = 0;
  private table = '';
  private readonly data = new CopyDataScanner();

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.scan(chunk);
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    this.finish();
    callback();
  }

  /** The input ended. A dump that ends inside a block (pg_dump failed) is refused anyway; count what was seen. */
  finish(): void {
    if (this.at === At.Data) this.finishBlock();
    this.at = At.LineStart;
  }

  /** Scans one chunk; exposed for the unit tests and the benchmark. */
  scan(buf: Buffer): void {
    let pos = 0;
    const n = buf.length;
    while (pos < n) {
      switch (this.at) {
        case At.Data: {
          const end = this.data.scan(buf, pos);
          if (end < 0) return;
          this.finishBlock();
          pos = end;
          this.at = At.LineStart;
          break;
        }
        case At.Skip: {
          const nl = buf.indexOf(LF, pos);
          if (nl < 0) return;
          pos = nl + 1;
          this.at = At.LineStart;
          break;
        }
        case At.LineStart: {
          // Compare the line's first bytes with `COPY ` (they may come in several chunks).
          while (pos < n && this.head.length < COPY_PREFIX.length) {
            const byte = buf[pos] as number;
            if (byte !== COPY_PREFIX[this.head.length]) {
              this.head = [];
              // An LF here ends a short line: the next byte starts another line.
              if (byte === LF) pos++;
              else this.at = At.Skip;
              break;
            }
            this.head.push(byte);
            pos++;
          }
          if (this.head.length === COPY_PREFIX.length) {
            this.head = [];
            this.statement = [COPY_PREFIX];
            this.statementBytes = COPY_PREFIX.length;
            this.at = At.Statement;
          }
          break;
        }
        case At.Statement: {
          const nl = buf.indexOf(LF, pos);
          const piece = buf.subarray(pos, nl < 0 ? n : nl);
          this.statementBytes += piece.length;
          if (this.statementBytes <= MAX_STATEMENT_BYTES) this.statement.push(Buffer.from(piece));
          if (nl < 0) return;
          pos = nl + 1;
          const line =
            this.statementBytes <= MAX_STATEMENT_BYTES ? Buffer.concat(this.statement).toString('utf8') : '';
          this.statement = [];
          const table = copyTarget(line);
          if (table === undefined) {
            this.at = At.LineStart;
          } else {
            this.table = table;
            this.data.reset();
            this.at = At.Data;
          }
          break;
        }
      }
    }
  }

  private finishBlock(): void {
    this.counts[this.table] = (this.counts[this.table] ?? 0) + this.data.rows;
  }
}
