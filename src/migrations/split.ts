/**
 * Splits a migration file into statements the way psql does, so that files written for `psql -f` run the
 * same under the runner: semicolons inside quotes, quoted identifiers, dollar-quoted bodies, comments and
 * SQL-standard function bodies (`BEGIN ATOMIC ... END`) do not end a statement.
 */

export interface Statement {
  /** The statement as sent to the server: from its first token to its terminating semicolon. */
  text: string;
  /** Offset of `text` in the source. */
  start: number;
  /** 1-based line of `start`. */
  line: number;
  /** Its first (up to four) words, upper-cased: enough to recognise BEGIN, COMMIT and friends. */
  words: string[];
  /** Offset in `text` where the first dollar-quoted body begins (after its opening tag), if any. */
  bodyOffset: number | undefined;
}

/** A file the splitter cannot make sense of; `line` is 1-based. */
export class SplitError extends Error {
  readonly line: number;
  constructor(message: string, line: number) {
    super(message);
    this.name = 'SplitError';
    this.line = line;
  }
}

// Character classes by code (the splitter looks at every character of every file on each run).
const isSpace = (code: number) => code === 32 || (code >= 9 && code <= 13);
const isIdentStart = (code: number) =>
  (code >= 97 && code <= 122) || (code >= 65 && code <= 90) || code === 95 || code >= 0x80;
const isIdentPart = (code: number) => isIdentStart(code) || (code >= 48 && code <= 57) || code === 36;
const DOLLAR_TAG = /\$(?:[A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/y;

/** 1-based line number of `offset` in `text`. */
export function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) line++;
  return line;
}

/** PostgreSQL reports error positions in characters (code points); JavaScript indexes UTF-16 units. */
export function codeUnitOffset(text: string, codePoints: number): number {
  let units = 0;
  for (let seen = 0; seen < codePoints && units < text.length; seen++) {
    units += (text.codePointAt(units) ?? 0) > 0xffff ? 2 : 1;
  }
  return units;
}

export function splitStatements(text: string): Statement[] {
  const statements: Statement[] = [];
  let start = -1;
  let words: string[] = [];
  let bodyOffset: number | undefined;
  let parenDepth = 0;
  let beginDepth = 0;
  let escapeString = false;

  const finish = (end: number) => {
    if (start >= 0) {
      const stmt = text.slice(start, end);
      statements.push({ text: stmt, start, line: lineAt(text, start), words, bodyOffset });
    }
    start = -1;
    words = [];
    bodyOffset = undefined;
    parenDepth = 0;
    beginDepth = 0;
  };
  const fail = (message: string, at: number): never => {
    throw new SplitError(message, lineAt(text, at));
  };

  let i = 0;
  while (i < text.length) {
    const c = text[i] as string;
    const next = text[i + 1];
    const code = text.charCodeAt(i);
    if (isSpace(code)) {
      i++;
      continue;
    }
    if (c === '-' && next === '-') {
      const end = text.indexOf('\n', i);
      i = end === -1 ? text.length : end + 1;
      continue;
    }
    if (c === '/' && next === '*') {
      i = skipBlockComment(text, i, fail);
      continue;
    }
    if (start < 0) {
      start = i;
      if (c === '\\') fail('psql meta-commands (lines starting with a backslash) cannot run outside psql', i);
    }
    // As in psql, a semicolon inside parentheses (a multi-action CREATE RULE) does not end the statement.
    if (c === ';' && beginDepth === 0 && parenDepth === 0) {
      finish(i + 1);
      i++;
      continue;
    }
    const useEscapes = escapeString;
    escapeString = false;
    if (c === "'") {
      i = skipQuoted(text, i, "'", useEscapes, fail);
    } else if (c === '"') {
      i = skipQuoted(text, i, '"', false, fail);
    } else if (c === '$' && dollarTagAt(text, i) !== undefined) {
      const tag = dollarTagAt(text, i) as string;
      const close = text.indexOf(tag, i + tag.length);
      if (close === -1) fail(`unterminated dollar-quoted string (opened by ${tag})`, i);
      bodyOffset ??= i + tag.length - start;
      i = close + tag.length;
    } else if (isIdentStart(code)) {
      let end = i + 1;
      while (end < text.length && isIdentPart(text.charCodeAt(end))) end++;
      const word = text.slice(i, end).toUpperCase();
      if (words.length < 4) words.push(word);
      // psql's rule for SQL-standard bodies: inside CREATE [OR REPLACE] FUNCTION/PROCEDURE, BEGIN and CASE
      // open a block that END closes, and semicolons inside it do not end the statement.
      if ((word === 'BEGIN' || word === 'CASE') && parenDepth === 0 && createsRoutine(words)) beginDepth++;
      else if (word === 'END' && beginDepth > 0) beginDepth--;
      escapeString = word === 'E' && text[end] === "'";
      i = end;
    } else {
      if (c === '(') parenDepth++;
      else if (c === ')') parenDepth = Math.max(0, parenDepth - 1);
      i++;
    }
  }
  finish(text.length);
  return statements;
}

function dollarTagAt(text: string, at: number): string | undefined {
  DOLLAR_TAG.lastIndex = at;
  return DOLLAR_TAG.exec(text)?.[0];
}

function createsRoutine(words: string[]): boolean {
  if (words[0] !== 'CREATE') return false;
  const kind = words[1] === 'OR' && words[2] === 'REPLACE' ? words[3] : words[1];
  return kind === 'FUNCTION' || kind === 'PROCEDURE';
}

function skipBlockComment(text: string, from: number, fail: (m: string, at: number) => never): number {
  let depth = 0;
  for (let i = from; i < text.length - 1; i++) {
    if (text[i] === '/' && text[i + 1] === '*') {
      depth++;
      i++;
    } else if (text[i] === '*' && text[i + 1] === '/') {
      depth--;
      i++;
      if (depth === 0) return i + 1;
    }
  }
  return fail('unterminated /* comment', from);
}

/** Skips a quoted string or identifier opened at `from`; a doubled quote is an escaped one. */
function skipQuoted(
  text: string,
  from: number,
  quote: string,
  backslashEscapes: boolean,
  fail: (m: string, at: number) => never,
): number {
  for (let i = from + 1; i < text.length; i++) {
    const c = text[i];
    if (backslashEscapes && c === '\\') i++;
    else if (c === quote) {
      if (text[i + 1] === quote) i++;
      else return i + 1;
    }
  }
  return fail(quote === "'" ? 'unterminated quoted string' : 'unterminated quoted identifier', from);
}
