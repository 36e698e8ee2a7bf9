/**
 * Progress through a restore's post-data phase: after the last COPY, psql builds the indexes and adds the
 * constraints and triggers, which can take half the restore. The stream cannot tell how far psql is (the
 * whole post-data section, a few KiB, sits in psql's pipe at once), so:
 *
 * - `tap`, a pass-through after the dump filter, lists the post-data objects in dump order from pg_dump's
 *   `-- Name: <name>; Type: INDEX; ...` headers. When the data has been sent, the list is complete: its
 *   length is the total.
 * - From then on, the server is asked what the restore's psql is running (pg_stat_activity, by database):
 *   the object whose name is in that statement is the current one, and the objects before it are done.
 */
import { Transform, type TransformCallback } from 'node:stream';
import type { Client } from '../lib/db.js';
import type { ProgressPhase } from '../lib/progress.js';

/** pg_dump's post-data object types (plain format headers). */
const POST_DATA_TYPES = new Set([
  'INDEX',
  'CONSTRAINT',
  'FK CONSTRAINT',
  'TRIGGER',
  'RULE',
  'POLICY',
  'INDEX ATTACH',
  'EVENT TRIGGER',
  'PUBLICATION TABLE',
]);
const HEADER = Buffer.from('\n-- Name: ');
/**
 * How often the server is asked what psql builds: often enough that an index built in under a second is
 * still named in the next progress line; the query reads one row of pg_stat_activity.
 */
const POLL_MS = 250;
/** A line longer than this is data, not a header: it is not carried over to the next chunk. */
const MAX_HEADER_BYTES = 1024;

export interface PostDataObject {
  type: string;
  /** The object's own name (the last word of pg_dump's `Name:`, which prefixes the table for constraints). */
  name: string;
}

/** The post-data object of a `-- Name: ...; Type: ...;` header line, or undefined. */
export function parseHeader(line: string): PostDataObject | undefined {
  const match = /^-- Name: (.*?); Type: ([A-Z ]+); /.exec(line);
  if (!match || !POST_DATA_TYPES.has(match[2] as string)) return undefined;
  const name = (match[1] as string).split(' ').pop() ?? '';
  return { type: (match[2] as string).toLowerCase(), name };
}

export class PostDataWatch {
  readonly objects: PostDataObject[] = [];
  readonly tap: Transform;
  private carry = Buffer.alloc(0);
  private sent = false;
  private done = 0;
  private current: PostDataObject | undefined;
  private timer: NodeJS.Timeout | undefined;
  private client: Promise<Client | undefined> | undefined;
  private polling: Promise<void> | undefined;

  /**
   * `connect` opens a connection for the pg_stat_activity queries; `database` is the one psql fills.
   * Polls every `intervalMs` or POLL_MS, whichever is shorter.
   */
  constructor(
    private readonly connect: () => Promise<Client>,
    private readonly database: string,
    private readonly intervalMs: number,
  ) {
    this.tap = new Transform({
      transform: (chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) => {
        this.scan(chunk);
        callback(null, chunk);
      },
    });
  }

  private scan(chunk: Buffer): void {
    const text = this.carry.length > 0 ? Buffer.concat([this.carry, chunk]) : chunk;
    let at = text.indexOf(HEADER);
    while (at !== -1) {
      const end = text.indexOf(10, at + 1);
      if (end === -1) break;
      const object = parseHeader(text.toString('utf8', at + 1, end));
      if (object) this.objects.push(object);
      at = text.indexOf(HEADER, end);
    }
    // The unfinished last line (from its newline on, so a header split across chunks is found next time).
    const lastNewline = text.lastIndexOf(10);
    const tail = lastNewline === -1 ? text : text.subarray(lastNewline);
    this.carry = tail.length <= MAX_HEADER_BYTES ? Buffer.from(tail) : Buffer.alloc(0);
  }

  /** The data went to psql: from now on it builds the post-data objects; start asking the server. */
  dataSent(): void {
    if (this.sent || this.objects.length === 0) return;
    this.sent = true;
    this.client = this.connect().catch(() => undefined);
    this.timer = setInterval(
      () => {
        this.polling ??= this.poll().finally(() => (this.polling = undefined));
      },
      Math.min(this.intervalMs, POLL_MS),
    );
    this.timer.unref();
  }

  private async poll(): Promise<void> {
    const client = await this.client;
    if (!client) return;
    try {
      const { rows } = await client.query<{ query: string }>(
        `SELECT query FROM pg_stat_activity
          WHERE datname = $1 AND state = 'active' AND pid <> pg_backend_pid()`,
        [this.database],
      );
      for (const { query } of rows) {
        const index = this.objects.findIndex((o, i) => i >= this.done && query.includes(o.name));
        if (index !== -1) {
          this.done = index;
          this.current = this.objects[index];
        }
      }
    } catch {
      // Progress is a courtesy: a failed look never fails the restore.
    }
  }

  /** The phase for the progress reporter, once the data was sent. */
  report(): ProgressPhase | undefined {
    if (!this.sent) return undefined;
    const total = this.objects.length;
    const current = this.current ? `${this.current.type} ${this.current.name}` : undefined;
    return {
      fields: {
        phase: 'post-data',
        statementsDone: this.done,
        statementsTotal: total,
        currentObject: current,
      },
      text:
        `building indexes and constraints: ${this.done} of ${total} done` +
        (current ? `, now ${current}` : ''),
    };
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.polling;
    const client = await this.client;
    await client?.end().catch(() => undefined);
  }
}
