/**
 * What the restore lets through to psql, one complete SQL statement at a time: only the kinds of statement
 * that a plain `pg_dump` (without `-C`) of one database writes. Pure: the dump filter hands in the text of
 * a statement (from its first token through its `;`) and gets back a verdict.
 *
 * This is the second line of defence. The first is privileges: a function that a default, a check or an
 * index expression calls runs during the restore with the session's rights, whatever the text looks like.
 * The filter makes sure that what an archive says outright cannot leave the database being restored:
 * no other database, no role, no server setting, no server file, no program, no connection elsewhere.
 */

export type Verdict =
  | { action: 'keep' }
  /** `COPY ... FROM stdin`: kept, and its data follows on the next line. */
  | { action: 'copy' }
  /** Written by pg_dump but not applicable here (ownership, session authorization): left out. */
  | { action: 'drop'; reason: 'owner' | 'session' | 'grant' }
  | { action: 'refuse'; reason: string };

interface Token {
  kind: 'word' | 'ident' | 'string' | 'number' | 'punct';
  /** Words upper-cased; quoted identifiers unquoted; strings without their quotes (escapes untouched). */
  text: string;
}

/** A Unicode or ASCII identifier character, as PostgreSQL's lexer sees one (bytes >= 0x80 included). */
export function isIdentChar(ch: string | undefined): boolean {
  if (ch === undefined) return false;
  const code = ch.charCodeAt(0);
  return (
    code >= 0x80 ||
    (code >= 0x30 && code <= 0x39) ||
    (code >= 0x41 && code <= 0x5a) ||
    (code >= 0x61 && code <= 0x7a) ||
    code === 0x5f ||
    code === 0x24
  );
}

const DOLLAR_TAG = /\$(?:[A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/y;

/** Tokens of one statement, comments and whitespace skipped; stops after `limit` tokens. */
export function tokenize(sql: string, limit = Infinity): Token[] {
  const tokens: Token[] = [];
  const n = sql.length;
  let i = 0;
  while (i < n && tokens.length < limit) {
    const c = sql[i] as string;
    const next = sql[i + 1];
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f' || c === '\v') {
      i++;
    } else if (c === '-' && next === '-') {
      const nl = sql.indexOf('\n', i);
      i = nl < 0 ? n : nl + 1;
    } else if (c === '/' && next === '*') {
      let depth = 1;
      i += 2;
      while (i < n && depth > 0) {
        if (sql[i] === '/' && sql[i + 1] === '*') {
          depth++;
          i += 2;
        } else if (sql[i] === '*' && sql[i + 1] === '/') {
          depth--;
          i += 2;
        } else i++;
      }
    } else if (c === "'" || ((c === 'E' || c === 'e') && next === "'")) {
      // Identifiers and numbers are consumed whole, so an E here starts a token: psql's xestart.
      const escape = c !== "'";
      let j = escape ? i + 2 : i + 1;
      let text = '';
      while (j < n) {
        const d = sql[j] as string;
        if (escape && d === '\\') {
          text += sql.slice(j, j + 2);
          j += 2;
        } else if (d === "'") {
          if (sql[j + 1] === "'") {
            text += "''";
            j += 2;
          } else break;
        } else {
          text += d;
          j++;
        }
      }
      tokens.push({ kind: 'string', text });
      i = j + 1;
    } else if (c === '"') {
      let j = i + 1;
      let text = '';
      while (j < n) {
        if (sql[j] === '"') {
          if (sql[j + 1] === '"') {
            text += '"';
            j += 2;
          } else break;
        } else text += sql[j++];
      }
      tokens.push({ kind: 'ident', text });
      i = j + 1;
    } else if (c === '$') {
      DOLLAR_TAG.lastIndex = i;
      const tag = DOLLAR_TAG.exec(sql)?.[0];
      if (tag === undefined) {
        tokens.push({ kind: 'punct', text: '$' });
        i++;
        continue;
      }
      const end = sql.indexOf(tag, i + tag.length);
      const stop = end < 0 ? n : end;
      tokens.push({ kind: 'string', text: sql.slice(i + tag.length, stop) });
      i = end < 0 ? n : end + tag.length;
    } else if (isIdentChar(c) && !(c >= '0' && c <= '9') && c !== '$') {
      let j = i + 1;
      while (j < n && isIdentChar(sql[j])) j++;
      tokens.push({ kind: 'word', text: sql.slice(i, j).toUpperCase() });
      i = j;
    } else if (c >= '0' && c <= '9') {
      let j = i + 1;
      while (j < n && /[0-9.]/.test(sql[j] as string)) j++;
      // An exponent, or (psql 15's integer_junk) an identifier glued to the number: one token.
      if (/[A-Za-z_\u0080-\uffff]/.test(sql[j] ?? '')) while (j < n && isIdentChar(sql[j])) j++;
      tokens.push({ kind: 'number', text: sql.slice(i, j) });
      i = j;
    } else {
      tokens.push({ kind: 'punct', text: c });
      i++;
    }
  }
  return tokens;
}

/** Parameters pg_dump sets at the top of a dump (and harmless ones of other versions). */
const SET_PARAMETERS = new Set([
  'STATEMENT_TIMEOUT',
  'LOCK_TIMEOUT',
  'IDLE_IN_TRANSACTION_SESSION_TIMEOUT',
  'TRANSACTION_TIMEOUT',
  'CLIENT_ENCODING',
  'STANDARD_CONFORMING_STRINGS',
  'CHECK_FUNCTION_BODIES',
  'XMLOPTION',
  'CLIENT_MIN_MESSAGES',
  'ROW_SECURITY',
  'DEFAULT_TABLESPACE',
  'DEFAULT_TABLE_ACCESS_METHOD',
  'DEFAULT_TOAST_COMPRESSION',
  'SEARCH_PATH',
  'DEFAULT_WITH_OIDS',
  'ESCAPE_STRING_WARNING',
]);

/** Objects outside the database being restored, or the server itself. */
const CLUSTER_OBJECTS = new Set([
  'DATABASE',
  'ROLE',
  'USER',
  'GROUP',
  'TABLESPACE',
  'SYSTEM',
  'SUBSCRIPTION',
]);

/** Functions pg_dump calls with SELECT, and the argument kinds it gives them. */
const SELECT_CALLS: Record<string, readonly ('string' | 'number' | 'bool')[]> = {
  SET_CONFIG: ['string', 'string', 'bool'],
  SETVAL: ['string', 'number', 'bool'],
  LO_CREATE: ['string'],
  LO_OPEN: ['string', 'number'],
  LOWRITE: ['number', 'string'],
  LO_CLOSE: ['number'],
};

const refuse = (reason: string): Verdict => ({ action: 'refuse', reason });

function word(t: Token | undefined): string | undefined {
  return t?.kind === 'word' ? t.text : undefined;
}

function isName(t: Token | undefined): boolean {
  return t?.kind === 'word' || t?.kind === 'ident';
}

/** Index after a possibly schema-qualified name starting at `i`, or -1. */
function skipQualifiedName(tokens: readonly Token[], i: number): number {
  if (!isName(tokens[i])) return -1;
  let j = i + 1;
  while (tokens[j]?.text === '.' && tokens[j]?.kind === 'punct' && isName(tokens[j + 1])) j += 2;
  return j;
}

function isEnd(tokens: readonly Token[], i: number): boolean {
  return tokens.length === i || (tokens.length === i + 1 && tokens[i]?.text === ';');
}

/** `SELECT pg_catalog.f(literal, ...);` with one of pg_dump's functions and literal arguments only. */
function checkSelect(tokens: readonly Token[]): Verdict {
  const shown = 'a SELECT other than the pg_catalog calls pg_dump writes (set_config, setval, large objects)';
  if (word(tokens[1]) !== 'PG_CATALOG' || tokens[2]?.text !== '.' || tokens[4]?.text !== '(')
    return refuse(shown);
  const fn = word(tokens[3]) ?? '';
  if (fn === 'LO_UNLINK') {
    // SELECT pg_catalog.lo_unlink(oid) FROM pg_catalog.pg_largeobject_metadata WHERE oid = '123';
    const rest = tokens
      .slice(5)
      .map((t) => (t.kind === 'string' ? `'${t.text}'` : t.text))
      .join(' ');
    return /^OID \) FROM PG_CATALOG \. PG_LARGEOBJECT_METADATA WHERE OID = '\d+'( ;)?$/.test(rest)
      ? { action: 'keep' }
      : refuse(shown);
  }
  const kinds = SELECT_CALLS[fn];
  if (!kinds) return refuse(shown);
  let i = 5;
  for (const [k, kind] of kinds.entries()) {
    if (k > 0) {
      if (tokens[i]?.text !== ',') return refuse(shown);
      i++;
    }
    if (kind === 'number' && tokens[i]?.text === '-') i++;
    const t = tokens[i];
    const ok =
      kind === 'bool'
        ? word(t) === 'TRUE' || word(t) === 'FALSE'
        : kind === 'number'
          ? t?.kind === 'number'
          : t?.kind === 'string';
    if (!ok) return refuse(shown);
    i++;
  }
  if (tokens[i]?.text !== ')' || !isEnd(tokens, i + 1)) return refuse(shown);
  if (fn === 'SET_CONFIG' && tokens[5]?.text !== 'search_path')
    return refuse('set_config of a setting other than search_path');
  return { action: 'keep' };
}

function checkSet(tokens: readonly Token[]): Verdict {
  const w1 = word(tokens[1]);
  // pg_dump --use-set-session-authorization and --role: this restore runs as its own role.
  if (w1 === 'SESSION' && word(tokens[2]) === 'AUTHORIZATION' && tokens.length <= 5)
    return { action: 'drop', reason: 'session' };
  if (w1 === 'ROLE' && tokens.length <= 4) return { action: 'drop', reason: 'session' };
  if (w1 === undefined || !SET_PARAMETERS.has(w1))
    return refuse(`SET ${tokens[1]?.text ?? ''}: pg_dump sets only its session parameters`);
  if (tokens[2]?.text !== '=' && word(tokens[2]) !== 'TO') return refuse(`SET ${w1} without a value`);
  if (w1 === 'STANDARD_CONFORMING_STRINGS' && (word(tokens[3]) ?? tokens[3]?.text) !== 'ON')
    return refuse('standard_conforming_strings other than on');
  return { action: 'keep' };
}

/** GRANT/REVOKE: privileges on objects of this database only, never role membership. */
function checkGrant(tokens: readonly Token[]): Verdict {
  let on = -1;
  for (const [i, t] of tokens.entries()) {
    const w = word(t);
    if (w === 'TO' || w === 'FROM') break;
    if (w === 'ON') {
      on = i;
      break;
    }
  }
  if (on < 0) return refuse('GRANT/REVOKE of role membership');
  const target = word(tokens[on + 1]);
  if (target === 'DATABASE' || target === 'TABLESPACE' || target === 'PARAMETER')
    return refuse(`GRANT/REVOKE on ${target.toLowerCase()}`);
  return { action: 'keep' };
}

/** COPY name [(columns)] FROM stdin; and nothing else (no file, no program, no TO). */
function checkCopy(tokens: readonly Token[]): Verdict {
  const shown = 'COPY other than "COPY table (columns) FROM stdin;"';
  let i = skipQualifiedName(tokens, 1);
  if (i < 0) return refuse(shown);
  if (tokens[i]?.text === '(') {
    i++;
    while (isName(tokens[i])) {
      i++;
      if (tokens[i]?.text === ',') i++;
      else break;
    }
    if (tokens[i]?.text !== ')') return refuse(shown);
    i++;
  }
  if (word(tokens[i]) !== 'FROM' || word(tokens[i + 1]) !== 'STDIN' || !isEnd(tokens, i + 2))
    return refuse(shown);
  return { action: 'copy' };
}

const ALLOWED_FIRST = new Set(['CREATE', 'ALTER', 'DROP', 'COMMENT', 'SECURITY', 'REFRESH']);

/** The verdict on one complete statement (its text from the first token through the `;`). */
export function classifyStatement(sql: string): Verdict {
  const tokens = tokenize(sql, 64);
  const first = word(tokens[0]);
  switch (first) {
    case 'SET':
      return checkSet(tokenize(sql, 8));
    case 'RESET':
      return word(tokens[1]) === 'SESSION' && word(tokens[2]) === 'AUTHORIZATION' && isEnd(tokens, 3)
        ? { action: 'drop', reason: 'session' }
        : refuse(`RESET ${tokens[1]?.text ?? ''}`);
    case 'SELECT':
      return checkSelect(tokenize(sql, 40));
    case 'COPY':
      return checkCopy(tokenize(sql));
    case 'GRANT':
    case 'REVOKE':
      return checkGrant(tokens);
    case 'BEGIN':
    case 'COMMIT':
      // pg_dump wraps each large object's lo_open/lowrite/lo_close in a transaction.
      return isEnd(tokens, 1) ? { action: 'keep' } : refuse(`${first} with options`);
    default:
      break;
  }
  if (first === undefined || !ALLOWED_FIRST.has(first))
    return refuse(`a statement that pg_dump does not write (${first ?? tokens[0]?.text ?? 'empty'})`);
  // CREATE [OR REPLACE] [UNIQUE|TRUSTED|PROCEDURAL|...] <kind>, ALTER <kind>, DROP <kind>, COMMENT ON <kind>,
  // SECURITY LABEL [FOR provider] ON <kind>.
  let i = 1;
  if (first === 'COMMENT' || first === 'SECURITY') {
    while (i < tokens.length && word(tokens[i]) !== 'ON') i++;
    i++;
  }
  const kind = word(tokens[i]);
  if (first === 'DROP' && kind === 'OWNED') return refuse('DROP OWNED');
  // CREATE/ALTER/DROP USER MAPPING belongs to a foreign server of this database, not to a role.
  const userMapping = kind === 'USER' && word(tokens[i + 1]) === 'MAPPING';
  if (kind !== undefined && CLUSTER_OBJECTS.has(kind) && !userMapping)
    return refuse(`${first} ${kind}: outside the database being restored`);
  if (first === 'ALTER' && kind === 'DEFAULT') return checkGrant(tokens.slice(3));
  if (first === 'ALTER') {
    const all = tokenize(sql);
    const end = all.at(-1)?.text === ';' ? all.length - 1 : all.length;
    if (word(all[end - 3]) === 'OWNER' && word(all[end - 2]) === 'TO' && isName(all[end - 1]))
      return { action: 'drop', reason: 'owner' };
  }
  if (first === 'CREATE') return checkCreate(sql, tokens);
  return { action: 'keep' };
}

/**
 * Extensions and languages that reach outside the database: other servers (dblink, postgres_fdw), server
 * files or programs (file_fdw, adminpack, the untrusted procedural languages). A dump of this schema has
 * none; a database that needs one gets it from an administrator, not from an archive.
 */
const OUTSIDE_EXTENSIONS = new Set([
  'DBLINK',
  'POSTGRES_FDW',
  'FILE_FDW',
  'ADMINPACK',
  'PLPYTHON3U',
  'PLPYTHONU',
  'PLPYTHON2U',
  'PLPERLU',
  'PLTCLU',
]);
const OUTSIDE_LANGUAGES = new Set(['C', 'INTERNAL', ...OUTSIDE_EXTENSIONS]);

function nameText(t: Token | undefined): string | undefined {
  return t === undefined || t.kind === 'punct' || t.kind === 'number' ? undefined : t.text.toUpperCase();
}

function checkCreate(sql: string, tokens: readonly Token[]): Verdict {
  let i = 1;
  if (word(tokens[1]) === 'OR' && word(tokens[2]) === 'REPLACE') i = 3;
  while (word(tokens[i]) === 'TRUSTED' || word(tokens[i]) === 'PROCEDURAL') i++;
  const kind = word(tokens[i]);
  if (kind === 'EXTENSION') {
    let j = i + 1;
    if (word(tokens[j]) === 'IF' && word(tokens[j + 1]) === 'NOT' && word(tokens[j + 2]) === 'EXISTS') j += 3;
    const name = nameText(tokens[j]);
    if (name !== undefined && OUTSIDE_EXTENSIONS.has(name))
      return refuse(`CREATE EXTENSION ${name.toLowerCase()} (it reaches outside the database)`);
  }
  if (kind === 'LANGUAGE') {
    const name = nameText(tokens[i + 1]);
    if (name !== undefined && OUTSIDE_LANGUAGES.has(name))
      return refuse(`CREATE LANGUAGE ${name.toLowerCase()} (an untrusted language)`);
  }
  if (kind === 'FUNCTION' || kind === 'PROCEDURE') {
    const all = tokenize(sql);
    for (const [j, t] of all.entries()) {
      const language = nameText(all[j + 1]);
      if (word(t) === 'LANGUAGE' && language !== undefined && OUTSIDE_LANGUAGES.has(language))
        return refuse(`a function in ${language.toLowerCase()} (code that reaches outside the database)`);
    }
  }
  return { action: 'keep' };
}
