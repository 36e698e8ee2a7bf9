/**
 * A streaming filter between gunzip and psql that passes on only what a plain pg_dump archive (made without
 * `-C`) of one database may contain, and makes it restorable as the owner role on any cluster:
 * - every statement is held until its `;` and judged whole (src/restore/dump-statements.ts) before a byte
 *   of it reaches psql: one that reaches outside the database being restored (another database, a role,
 *   server settings, server files, a program, role membership, a COPY other than `FROM stdin`, a statement
 *   pg_dump never writes) makes the whole archive refused. psql runs a statement only when its `;` arrives
 *   (and an unfinished one at end of input), so nothing of a refused statement was ever run;
 * - a statement is held in memory only up to MAX_STATEMENT_BYTES (generous: function bodies are large);
 *   past that the archive is refused;
 * - `ALTER … OWNER TO x;` is dropped, so every object belongs to the role that runs the restore (the
 *   owner role), whatever the role was called on the cluster the dump came from;
 * - `GRANT`/`REVOKE` (and `ALTER DEFAULT PRIVILEGES`) naming a role that does not exist here is dropped
 *   (the application role's privileges are re-applied afterwards); `SET SESSION AUTHORIZATION` and
 *   `SET ROLE` as pg_dump writes them are dropped too;
 * - psql meta-commands other than pg_dump's `\restrict`/`\unrestrict` are refused (an archive must not run
 *   `\!` or `\connect` to another database);
 * - COPY data ends where psql ends it (src/lib/copy-scanner.ts: a line that is exactly `\.`, LF or CR LF),
 *   whatever the chunking;
 * - it notes whether pg_dump's closing "dump complete" comment went by: a gzip stream cut at a member
 *   boundary is valid gzip, so this is how an archive without a manifest still proves it is whole.
 *
 * COPY data (the bulk of a dump) is passed through as buffers; only the schema part is decoded and lexed
 * line by line, with enough of psql's lexer (strings, quoted identifiers, dollar quotes, comments) that
 * a `;` or a line inside a function body is never taken for the end of a statement.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { CopyDataScanner } from '../lib/copy-scanner.js';
import { classifyStatement, isIdentChar } from './dump-statements.js';

export interface DumpFilterOptions {
  /** The role the restore runs as: owner of everything restored. */
  owner: string;
  /** Roles that exist on this cluster; GRANT/REVOKE to any other role is dropped. */
  knownRoles: ReadonlySet<string>;
  /** Longest statement held before judging it; defaults to MAX_STATEMENT_BYTES. */
  maxStatementBytes?: number;
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

/** 64 MiB: far above any statement pg_dump writes for a ChatFlow database, small enough to hold. */
export const MAX_STATEMENT_BYTES = 64 * 1024 * 1024;

const IDENT = String.raw`(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)`;
const GRANT = new RegExp(
  String.raw`^(?:GRANT|REVOKE|ALTER DEFAULT PRIVILEGES) .* (?:TO|FROM) (${IDENT})(?: WITH GRANT OPTION)?(?: GRANTED BY (${IDENT}))?;$`,
);
const DEFAULT_PRIVILEGES = new RegExp(String.raw`^ALTER DEFAULT PRIVILEGES FOR ROLE (${IDENT}) `);
const ALLOWED_META = /^\\(?:restrict|unrestrict) [A-Za-z0-9]+\r?$/;
const DOLLAR_TAG = /\$(?:[A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/y;

const NL = 0x0a;

/** A character that starts an unquoted identifier or keyword (psql: [A-Za-z\200-\377_]). */
function isIdentStart(c: string | undefined): boolean {
  return c !== undefined && isIdentChar(c) && c !== '$' && !(c >= '0' && c <= '9');
}

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
  /** psql's lexer: a `;` inside parentheses, or inside the BEGIN … END of a function body, ends nothing. */
  parens: number;
  begins: number;
  /** The statement's identifiers so far, and the first letters of create/or/replace/function/procedure. */
  identifiers: number;
  letters: string;
}

/** The lexer state at the start of a statement (psql resets its identifier count at each `;`). */
function resetStatement(s: LexState): void {
  s.parens = 0;
  s.begins = 0;
  s.identifiers = 0;
  s.letters = '';
}

const FUNCTION_WORDS = new Set(['create', 'or', 'replace', 'function', 'procedure']);

/**
 * psql's heuristic (fe_utils/psqlscan.l) for SQL-standard function bodies: in CREATE [OR REPLACE]
 * FUNCTION|PROCEDURE, outside parentheses, BEGIN opens a block that END closes (CASE too, inside one).
 */
function countIdentifier(word: string, s: LexState): void {
  const lower = word.toLowerCase();
  if (s.identifiers < 4) s.letters += FUNCTION_WORDS.has(lower) ? lower[0] : ' ';
  s.identifiers++;
  const l = s.letters;
  const routine =
    l[0] === 'c' &&
    (l[1] === 'f' || l[1] === 'p' || (l[1] === 'o' && l[2] === 'r' && (l[3] === 'f' || l[3] === 'p')));
  if (!routine || s.parens !== 0) return;
  if (lower === 'begin') s.begins++;
  else if (lower === 'case') {
    if (s.begins >= 1) s.begins++;
  } else if (lower === 'end' && s.begins > 0) s.begins--;
}

/**
 * Variables psql sets itself. psql replaces `:NAME`, `:'NAME'`, `:"NAME"` outside quotes with the value and
 * lexes the value as SQL (VERSION holds parentheses), so a reference would make psql read the text around
 * it differently from this filter. pg_dump never writes one.
 */
const PSQL_VARIABLES = new Set(
  (
    'AUTOCOMMIT COMP_KEYWORD_CASE DBNAME ECHO ECHO_HIDDEN ENCODING ERROR FETCH_COUNT HIDE_TABLEAM ' +
    'HIDE_TOAST_COMPRESSION HISTCONTROL HISTFILE HISTSIZE HOST IGNOREEOF LASTOID LAST_ERROR_MESSAGE ' +
    'LAST_ERROR_SQLSTATE ON_ERROR_ROLLBACK ON_ERROR_STOP PORT PROMPT1 PROMPT2 PROMPT3 QUIET ROW_COUNT ' +
    'SERVER_VERSION_NAME SERVER_VERSION_NUM SHELL_ERROR SHELL_EXIT_CODE SHOW_ALL_RESULTS SHOW_CONTEXT ' +
    'SINGLELINE SINGLESTEP SQLSTATE USER VERBOSITY VERSION VERSION_NAME VERSION_NUM WATCH_INTERVAL'
  ).split(' '),
);
const VARIABLE_REFERENCE =
  /:(?:'([A-Za-z0-9_\u0080-\uffff]+)'|"([A-Za-z0-9_\u0080-\uffff]+)"|\{\?([A-Za-z0-9_\u0080-\uffff]+)\}|([A-Za-z0-9_\u0080-\uffff]+))/y;

/**
 * Advances the lexer over `line` from `i` until a top-level `;` (returns its index) or the end of the line
 * (returns -1). A backslash outside quotes and comments is a psql meta-command: returns -2 at it; a
 * reference to one of psql's own variables returns -3.
 */
function scanStatement(line: string, start: number, s: LexState): number {
  const n = line.length;
  let i = start;
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
      if (end < 0) return -1;
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
      if (c === '-' && line[i + 1] === '-') return -1;
      if (c === '/' && line[i + 1] === '*') {
        s.mode = 'block';
        s.depth = 1;
        i += 2;
        continue;
      }
      if ((c === 'E' || c === 'e') && line[i + 1] === "'") {
        // psql's xestart: E'…' is an escape string (an identifier ending in E was consumed whole below).
        s.escape = true;
        s.mode = 'single';
        i += 2;
        continue;
      }
      if (isIdentStart(c)) {
        let j = i + 1;
        while (j < n && isIdentChar(line[j])) j++;
        countIdentifier(line.slice(i, j), s);
        i = j;
        continue;
      }
      if (c === "'") {
        s.escape = false;
        s.mode = 'single';
      } else if (c === '(') s.parens++;
      else if (c === ')') {
        if (s.parens > 0) s.parens--;
      } else if (c === '"') {
        s.mode = 'double';
      } else if (c !== undefined && c >= '0' && c <= '9') {
        // A number, and (psql 15's integer_junk) an identifier glued to it: one token, like psql reads it.
        let j = i + 1;
        while (j < n && (line[j] as string) >= '0' && (line[j] as string) <= '9') j++;
        if (isIdentStart(line[j])) while (j < n && isIdentChar(line[j])) j++;
        i = j;
        continue;
      } else if (c === '$') {
        // Identifiers and numbers are consumed whole above, so a `$` here is never inside one.
        DOLLAR_TAG.lastIndex = i;
        const match = DOLLAR_TAG.exec(line);
        if (match) {
          s.mode = 'dollar';
          s.tag = match[0];
          i += match[0].length;
          continue;
        }
      } else if (c === ';') {
        if (s.parens === 0 && s.begins === 0) return i;
      } else if (c === ':') {
        if (line[i + 1] === ':') {
          i += 2;
          continue;
        }
        VARIABLE_REFERENCE.lastIndex = i;
        const ref = VARIABLE_REFERENCE.exec(line);
        const name = ref?.[1] ?? ref?.[2] ?? ref?.[3] ?? ref?.[4];
        if (name !== undefined && PSQL_VARIABLES.has(name)) return -3;
      } else if (c === '\\') return -2;
      i++;
    }
  }
  return -1;
}

/** Skips whitespace and comments between statements; returns the index of the next token or line.length. */
function skipInert(line: string, start: number, s: LexState): number {
  const n = line.length;
  let i = start;
  while (i < n) {
    if (s.mode === 'block') {
      const c = line[i];
      if (c === '/' && line[i + 1] === '*') {
        s.depth++;
        i += 2;
      } else if (c === '*' && line[i + 1] === '/') {
        if (--s.depth === 0) s.mode = 'normal';
        i += 2;
      } else i++;
      continue;
    }
    const c = line[i];
    if (c === ' ' || c === '\t' || c === '\r' || c === '\f' || c === '\v') i++;
    else if (c === '-' && line[i + 1] === '-') return n;
    else if (c === '/' && line[i + 1] === '*') {
      s.mode = 'block';
      s.depth = 1;
      i += 2;
    } else return i;
  }
  return n;
}

export class DumpFilter extends Transform {
  readonly stats: DumpFilterStats = {
    complete: false,
    sqlBytes: 0,
    ownerStatementsDropped: 0,
    unknownRoles: new Set(),
  };
  private readonly options: DumpFilterOptions;
  private readonly maxStatement: number;
  private readonly lex: LexState = {
    mode: 'normal',
    escape: false,
    tag: '',
    depth: 0,
    parens: 0,
    begins: 0,
    identifiers: 0,
    letters: '',
  };
  private readonly copyData = new CopyDataScanner();
  private copy = false;
  /** The statement being read: from its first token on, held until its `;`. */
  private statement: string[] = [];
  private statementLength = 0;
  private statementLine = 0;
  private inStatement = false;
  /** An unfinished line of the schema part. */
  private carry: Buffer | undefined;
  private lineNo = 0;
  /** Text on its way to psql, pushed once per chunk. */
  private readonly pending: string[] = [];

  constructor(options: DumpFilterOptions) {
    super();
    this.options = options;
    this.maxStatement = options.maxStatementBytes ?? MAX_STATEMENT_BYTES;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.process(chunk, false);
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    try {
      this.process(Buffer.alloc(0), true);
      if (this.inStatement) {
        throw new DumpFormatError(
          `the archive ends inside a statement that starts on line ${this.statementLine} (${this.preview()}); it is cut short or was not made by pg_dump, so it is refused`,
        );
      }
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

  private flushText(): void {
    if (this.pending.length === 0) return;
    this.out(Buffer.from(this.pending.join(''), 'utf8'));
    this.pending.length = 0;
  }

  private process(buf: Buffer, last: boolean): void {
    let pos = 0;
    while (pos < buf.length) {
      if (this.copy) {
        const end = this.copyData.scan(buf, pos);
        this.out(buf.subarray(pos, end < 0 ? buf.length : end));
        if (end < 0) return;
        pos = end;
        this.copy = false;
        continue;
      }
      const nl = buf.indexOf(NL, pos);
      if (nl < 0) {
        const carried = (this.carry?.length ?? 0) + buf.length - pos;
        if (carried > this.maxStatement) throw this.tooLong();
        const rest = buf.subarray(pos);
        this.carry = this.carry ? Buffer.concat([this.carry, rest]) : Buffer.from(rest);
        break;
      }
      const bytes = this.carry ? Buffer.concat([this.carry, buf.subarray(pos, nl)]) : buf.subarray(pos, nl);
      this.carry = undefined;
      pos = nl + 1;
      this.schemaLine(bytes.toString('utf8'), '\n');
    }
    if (last && this.carry) {
      const bytes = this.carry;
      this.carry = undefined;
      this.schemaLine(bytes.toString('utf8'), '');
    }
    this.flushText();
  }

  private schemaLine(line: string, eol: string): void {
    this.lineNo++;
    this.line(line, eol);
    if (this.copy) {
      this.flushText();
      this.copyData.reset();
    }
  }

  /** One complete line of the schema part (without its newline, which is `eol`). */
  private line(line: string, eol: string): void {
    let i = 0;
    for (;;) {
      if (!this.inStatement) {
        const at = skipInert(line, i, this.lex);
        if (at >= line.length) {
          if (i === 0 && line === DUMP_COMPLETE_LINE) this.stats.complete = true;
          this.pending.push(line.slice(i), eol);
          return;
        }
        this.pending.push(line.slice(i, at));
        if (line[at] === '\\') {
          // A psql meta-command takes the rest of the line.
          const meta = line.slice(at);
          if (at !== 0 || !ALLOWED_META.test(meta)) throw this.metaError(meta);
          this.pending.push(meta, eol);
          return;
        }
        this.inStatement = true;
        this.statementLine = this.lineNo;
        resetStatement(this.lex);
        i = at;
      }
      const end = scanStatement(line, i, this.lex);
      if (end === -2) throw this.metaError(line.slice(i));
      if (end === -3) {
        throw new DumpFormatError(
          `the archive refers to a psql variable on line ${this.lineNo} (${preview(line.slice(i))}); pg_dump never writes one, so the archive is refused`,
        );
      }
      if (end < 0) {
        this.hold(line.slice(i) + eol);
        return;
      }
      const rest = line.slice(end + 1);
      const restInert = /^[ \t\r]*$/.test(rest);
      this.hold(restInert ? line.slice(i) + eol : line.slice(i, end + 1));
      this.inStatement = false;
      this.judge();
      if (this.copy) {
        if (!restInert) {
          throw new DumpFormatError(
            `the archive has text after a COPY statement on line ${this.lineNo}; pg_dump starts the data on the next line, so this archive is refused`,
          );
        }
        return;
      }
      if (restInert) return;
      i = end + 1;
    }
  }

  private hold(text: string): void {
    this.statementLength += text.length;
    if (this.statementLength > this.maxStatement) throw this.tooLong();
    this.statement.push(text);
  }

  /** Decides the statement just completed: on to psql, left out, or the whole archive refused. */
  private judge(): void {
    const text = this.statement.join('');
    this.statement = [];
    this.statementLength = 0;
    const verdict = classifyStatement(text);
    switch (verdict.action) {
      case 'refuse':
        throw new DumpFormatError(
          `the archive contains ${verdict.reason} on line ${this.statementLine} (${preview(text)}); a plain pg_dump of one database never writes this, so the archive is refused and nothing of that statement was run`,
        );
      case 'drop':
        if (verdict.reason === 'owner') this.stats.ownerStatementsDropped++;
        return;
      case 'copy':
        this.pending.push(text);
        this.copy = true;
        return;
      case 'keep':
        if (this.keepGrant(text)) this.pending.push(text);
        return;
    }
  }

  /** GRANT/REVOKE to a role that does not exist here is left out (the statement would fail). */
  private keepGrant(text: string): boolean {
    const first = text.charCodeAt(0);
    if (first !== 0x41 && first !== 0x47 && first !== 0x52) return true;
    const grant = GRANT.exec(text.trimEnd());
    if (!grant) return true;
    const roles = [grant[1], grant[2]].filter((r): r is string => r !== undefined).map(unquoteIdent);
    const forRole = DEFAULT_PRIVILEGES.exec(text)?.[1];
    if (forRole !== undefined) roles.push(unquoteIdent(forRole));
    const unknown = roles.filter((role) => !this.isKnown(role));
    for (const role of unknown) this.stats.unknownRoles.add(role);
    return unknown.length === 0;
  }

  private isKnown(role: string): boolean {
    return role === 'PUBLIC' || role === this.options.owner || this.options.knownRoles.has(role);
  }

  private preview(): string {
    return preview(this.statement.join('').slice(0, 200));
  }

  private tooLong(): DumpFormatError {
    return new DumpFormatError(
      `the archive has a statement or line longer than ${Math.round(this.maxStatement / 1048576)} MiB starting on line ${this.statementLine || this.lineNo + 1}; pg_dump writes nothing like it, so the archive is refused`,
    );
  }

  private metaError(line: string): DumpFormatError {
    return new DumpFormatError(
      `the archive contains a psql meta-command on line ${this.lineNo} (${preview(line)}); only pg_dump's \\restrict/\\unrestrict are accepted, so this archive is refused`,
    );
  }
}

function preview(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 60 ? `${flat.slice(0, 60)}…` : flat;
}
