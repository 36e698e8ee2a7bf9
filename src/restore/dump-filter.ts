/**
 * A streaming filter between gunzip and psql that makes a plain pg_dump archive restorable as the owner
 * role on any cluster:
 * - `ALTER … OWNER TO x;` is dropped, so every object belongs to the role that runs the restore (the
 *   owner role), whatever the role was called on the cluster the dump came from;
 * - `GRANT`/`REVOKE` (and `ALTER DEFAULT PRIVILEGES`) naming a role that does not exist here is dropped
 *   (the application role's privileges are re-applied afterwards); `SET SESSION AUTHORIZATION` too;
 * - psql meta-commands other than pg_dump's `\restrict`/`\unrestrict` are refused (an archive must not run
 *   `\!` or `\connect` to another database);
 * - it notes whether pg_dump's closing "dump complete" comment went by: a gzip stream cut at a member
 *   boundary is valid gzip, so this is how an archive without a manifest still proves it is whole.
 *
 * COPY data (the bulk of a dump) is passed through as buffers, scanning only for the `\.` terminator;
 * only the schema part is decoded and lexed line by line, with enough of a SQL lexer (strings, quoted
 * identifiers, dollar quotes, comments) that a line inside a function body is never taken for a statement.
 */
import { Transform, type TransformCallback } from 'node:stream';

export interface DumpFilterOptions {
  /** The role the restore runs as: owner of everything restored. */
  owner: string;
  /** Roles that exist on this cluster; GRANT/REVOKE to any other role is dropped. */
  knownRoles: ReadonlySet<string>;
}

export interface DumpFilterStats {
  /** pg_dump's final "-- PostgreSQL database dump complete" line was seen. */
  complete: boolean;
  /** Bytes of SQL handed on to psql. */
  sqlBytes: number;
  ownerStatementsDropped: number;
  /** Roles whose GRANT/REVOKE lines were dropped because they do not exist here. */
  unknownRoles: Set<string>;
}

/** The archive is not something this tool will feed to psql. */
export class DumpFormatError extends Error {}

export const DUMP_COMPLETE_LINE = '-- PostgreSQL database dump complete';

const IDENT = String.raw`(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)`;
const OWNER_TO = new RegExp(String.raw`^ALTER [A-Z][A-Z ]* .* OWNER TO ${IDENT};$`);
const GRANT = new RegExp(
  String.raw`^(?:GRANT|REVOKE|ALTER DEFAULT PRIVILEGES) .* (?:TO|FROM) (${IDENT})(?: WITH GRANT OPTION)?(?: GRANTED BY (${IDENT}))?;$`,
);
const DEFAULT_PRIVILEGES = new RegExp(String.raw`^ALTER DEFAULT PRIVILEGES FOR ROLE (${IDENT}) `);
const SESSION_AUTHORIZATION = /^(?:RESET SESSION AUTHORIZATION|SET SESSION AUTHORIZATION .*);$/;
const COPY_FROM_STDIN = /^COPY .* FROM stdin;$/;
const ALLOWED_META = /^\\(?:restrict|unrestrict) [A-Za-z0-9]+$/;
const DOLLAR_TAG = /\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$/y;

const NL = 0x0a;
const COPY_END = Buffer.from('\n\\.\n');

/** Unquotes a role name as pg_dump writes it. */
export function unquoteIdent(ident: string): string {
  return ident.startsWith('"') ? ident.slice(1, -1).replace(/""/g, '"') : ident;
}

interface LexState {
  mode: 'normal' | 'single' | 'double' | 'dollar' | 'block';
  /** Inside an E'' string, where backslash escapes a quote. */
  escape: boolean;
  tag: string;
  depth: number;
  /** A statement has started and its `;` has not been seen. */
  open: boolean;
  /** A backslash outside quotes: a psql meta-command. */
  meta: boolean;
}

/** Advances the lexer over one line (without its newline). */
function scan(line: string, s: LexState): void {
  const n = line.length;
  let i = 0;
  while (i < n) {
    const c = line[i];
    if (s.mode === 'single') {
      if (c === '\\' && s.escape) i += 2;
      else if (c === "'") {
        if (line[i + 1] === "'") i += 2;
        else {
          s.mode = 'normal';
          i++;
        }
      } else i++;
    } else if (s.mode === 'double') {
      if (c === '"') s.mode = 'normal';
      i++;
    } else if (s.mode === 'dollar') {
      const end = line.indexOf(s.tag, i);
      if (end < 0) return;
      s.mode = 'normal';
      i = end + s.tag.length;
    } else if (s.mode === 'block') {
      if (c === '/' && line[i + 1] === '*') {
        s.depth++;
        i += 2;
      } else if (c === '*' && line[i + 1] === '/') {
        if (--s.depth === 0) s.mode = 'normal';
        i += 2;
      } else i++;
    } else {
      if (c === '-' && line[i + 1] === '-') return;
      if (c === '/' && line[i + 1] === '*') {
        s.mode = 'block';
        s.depth = 1;
        i += 2;
        continue;
      }
      if (c === "'") {
        const prev = line[i - 1] ?? '';
        s.escape = (prev === 'E' || prev === 'e') && !/[\w$]/.test(line[i - 2] ?? '');
        s.mode = 'single';
        s.open = true;
      } else if (c === '"') {
        s.mode = 'double';
        s.open = true;
      } else if (c === '$' && !/[\w$]/.test(line[i - 1] ?? '')) {
        DOLLAR_TAG.lastIndex = i;
        const match = DOLLAR_TAG.exec(line);
        if (match) {
          s.mode = 'dollar';
          s.tag = match[0];
          s.open = true;
          i += match[0].length;
          continue;
        }
        s.open = true;
      } else if (c === ';') s.open = false;
      else if (c === '\\') s.meta = true;
      else if (c !== ' ' && c !== '\t' && c !== '\r') s.open = true;
      i++;
    }
  }
}

export class DumpFilter extends Transform {
  readonly stats: DumpFilterStats = {
    complete: false,
    sqlBytes: 0,
    ownerStatementsDropped: 0,
    unknownRoles: new Set(),
  };
  private readonly options: DumpFilterOptions;
  private readonly lex: LexState = {
    mode: 'normal',
    escape: false,
    tag: '',
    depth: 0,
    open: false,
    meta: false,
  };
  private copy = false;
  /** In COPY data, the current line started in an earlier chunk. */
  private midLine = false;
  private carry: Buffer | undefined;
  private lineNo = 0;

  constructor(options: DumpFilterOptions) {
    super();
    this.options = options;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.process(this.carry ? Buffer.concat([this.carry, chunk]) : chunk, false);
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    try {
      const rest = this.carry;
      this.carry = undefined;
      if (rest && rest.length > 0) this.process(rest, true);
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }

  private out(buf: Buffer): void {
    if (buf.length === 0) return;
    this.stats.sqlBytes += buf.length;
    this.push(buf);
  }

  private process(buf: Buffer, last: boolean): void {
    this.carry = undefined;
    let pos = 0;
    const sql: string[] = [];
    const flushSql = () => {
      if (sql.length > 0) this.out(Buffer.from(sql.join(''), 'utf8'));
      sql.length = 0;
    };
    while (pos < buf.length) {
      if (this.copy) {
        if (this.midLine) {
          const nl = buf.indexOf(NL, pos);
          if (nl < 0) {
            this.out(buf.subarray(pos));
            return;
          }
          this.out(buf.subarray(pos, nl + 1));
          pos = nl + 1;
          this.midLine = false;
          continue;
        }
        const end = copyEnd(buf, pos);
        if (end >= 0) {
          this.out(buf.subarray(pos, end));
          pos = end;
          this.copy = false;
          continue;
        }
        // No terminator in this chunk; the unfinished last line may be the start of one.
        const lastNl = buf.lastIndexOf(NL);
        const tailStart = lastNl >= pos ? lastNl + 1 : pos;
        const tail = buf.subarray(tailStart);
        if (!last && tail.length <= 2 && tail[0] === 0x5c && (tail.length === 1 || tail[1] === 0x2e)) {
          this.out(buf.subarray(pos, tailStart));
          this.carry = Buffer.from(tail);
        } else {
          this.out(buf.subarray(pos));
          this.midLine = tail.length > 0;
        }
        return;
      }
      const nl = buf.indexOf(NL, pos);
      if (nl < 0 && !last) {
        flushSql();
        this.carry = Buffer.from(buf.subarray(pos));
        return;
      }
      const lineEnd = nl < 0 ? buf.length : nl;
      const line = buf.toString('utf8', pos, lineEnd);
      pos = nl < 0 ? buf.length : nl + 1;
      this.lineNo++;
      if (this.keep(line)) sql.push(nl < 0 ? line : `${line}\n`);
      if (this.copy) flushSql();
    }
    flushSql();
  }

  /** Decides one line of the schema part; updates the lexer and the COPY state. */
  private keep(line: string): boolean {
    const atStart = this.lex.mode === 'normal' && !this.lex.open;
    if (atStart) {
      if (line.startsWith('\\')) {
        if (!ALLOWED_META.test(line)) throw this.metaError(line);
        return true;
      }
      if (line === DUMP_COMPLETE_LINE) this.stats.complete = true;
      if (!this.keepStatement(line)) return false;
    }
    this.lex.meta = false;
    scan(line, this.lex);
    if (this.lex.meta) throw this.metaError(line);
    if (atStart && COPY_FROM_STDIN.test(line) && this.lex.mode === 'normal' && !this.lex.open) {
      this.copy = true;
      this.midLine = false;
    }
    return true;
  }

  private keepStatement(line: string): boolean {
    const first = line.charCodeAt(0);
    // Only statements starting with A, G, R or S can be dropped: a cheap test before any regex.
    if (first !== 0x41 && first !== 0x47 && first !== 0x52 && first !== 0x53) return true;
    if (OWNER_TO.test(line)) {
      this.stats.ownerStatementsDropped++;
      return false;
    }
    if (SESSION_AUTHORIZATION.test(line)) return false;
    const grant = GRANT.exec(line);
    if (grant) {
      const roles = [grant[1], grant[2]].filter((r): r is string => r !== undefined).map(unquoteIdent);
      const forRole = DEFAULT_PRIVILEGES.exec(line)?.[1];
      if (forRole !== undefined) roles.push(unquoteIdent(forRole));
      const unknown = roles.filter((role) => !this.isKnown(role));
      for (const role of unknown) this.stats.unknownRoles.add(role);
      return unknown.length === 0;
    }
    return true;
  }

  private isKnown(role: string): boolean {
    return role === 'PUBLIC' || role === this.options.owner || this.options.knownRoles.has(role);
  }

  private metaError(line: string): DumpFormatError {
    return new DumpFormatError(
      `the archive contains a psql meta-command on line ${this.lineNo} (${line.slice(0, 60)}); only pg_dump's \\restrict/\\unrestrict are accepted, so this archive is refused`,
    );
  }
}

/** Offset just past the `\.` line that ends COPY data, scanning from a line start; -1 if not in `buf`. */
function copyEnd(buf: Buffer, pos: number): number {
  if (buf[pos] === 0x5c && buf[pos + 1] === 0x2e && buf[pos + 2] === NL) return pos + 3;
  const at = buf.indexOf(COPY_END, pos);
  return at < 0 ? -1 : at + COPY_END.length;
}
