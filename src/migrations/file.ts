/**
 * A migration file: its name (`NNN_name.sql`), its normalised text and checksum, its header directives and
 * its statements. Pure: the runner reads the files, this module understands them.
 *
 * Header directives are comment lines at the top of the file, before the first statement:
 *   -- chatflow-db: no-transaction            run each statement on its own (CREATE INDEX CONCURRENTLY)
 *   -- chatflow-db: lock-timeout=30s          lock_timeout of this file (ms, s, min, h; 0 = wait forever)
 *   -- chatflow-db: statement-timeout=2h      statement_timeout of this file (0 = no limit)
 */
import { migrationChecksum, normaliseMigrationText } from './checksum.js';
import { splitStatements, SplitError, type Statement } from './split.js';

export interface MigrationFile {
  /** The digits of the file name, as written ("001"); ordered by numeric value. */
  version: string;
  fileName: string;
  /** The part after the number, without `.sql`. */
  name: string;
  /** Normalised text (BOM stripped, LF line endings): what runs and what the checksum covers. */
  text: string;
  checksum: string;
  /** False when the header says `no-transaction`. */
  transaction: boolean;
  lockTimeoutMs: number | undefined;
  statementTimeoutMs: number | undefined;
  /** The file's own leading BEGIN, used as the runner's (keeps e.g. an isolation level). */
  begin: Statement | undefined;
  /** The statements to run, without the file's leading BEGIN and trailing COMMIT. */
  body: Statement[];
}

/** A file that cannot be run as it is, with the 1-based line at fault. */
export class MigrationFileError extends Error {
  readonly fileName: string;
  readonly line: number | undefined;
  constructor(fileName: string, line: number | undefined, message: string) {
    super(`${fileName}${line === undefined ? '' : ` line ${line}`}: ${message}`);
    this.name = 'MigrationFileError';
    this.fileName = fileName;
    this.line = line;
  }
}

const FILE_NAME = /^(\d+)_([A-Za-z0-9][A-Za-z0-9_-]*)\.sql$/;
const DIRECTIVE = /^--\s*chatflow-db:(.*)$/;

/** `001_initial_schema.sql` -> { version: '001', name: 'initial_schema' }; undefined when not a migration name. */
export function parseFileName(fileName: string): { version: string; name: string } | undefined {
  const match = FILE_NAME.exec(fileName);
  return match ? { version: match[1] as string, name: match[2] as string } : undefined;
}

/** Orders versions by numeric value ("9" < "010"), independent of zero-padding. */
export function compareVersions(a: string, b: string): number {
  const x = versionKey(a);
  const y = versionKey(b);
  if (x.length !== y.length && /^\d+$/.test(x) && /^\d+$/.test(y)) return x.length - y.length;
  return x < y ? -1 : x > y ? 1 : 0;
}

/** The identity of a version: "001", "01" and "1" are the same migration. */
export function versionKey(version: string): string {
  return /^\d+$/.test(version) ? version.replace(/^0+(?=\d)/, '') : version;
}

export function parseMigration(fileName: string, raw: string): MigrationFile {
  const parsedName = parseFileName(fileName);
  if (!parsedName) {
    throw new MigrationFileError(
      fileName,
      undefined,
      'migration files are named NNN_name.sql (digits, underscore, letters/digits/_/-)',
    );
  }
  const text = normaliseMigrationText(raw);
  const directives = parseDirectives(fileName, text);
  let statements: Statement[];
  try {
    statements = splitStatements(text);
  } catch (error) {
    if (error instanceof SplitError) throw new MigrationFileError(fileName, error.line, error.message);
    throw error;
  }
  const { begin, body } = transactionFrame(fileName, statements, directives.transaction);
  return { ...parsedName, fileName, text, checksum: migrationChecksum(raw), ...directives, begin, body };
}

interface Directives {
  transaction: boolean;
  lockTimeoutMs: number | undefined;
  statementTimeoutMs: number | undefined;
}

function parseDirectives(fileName: string, text: string): Directives {
  const directives: Directives = {
    transaction: true,
    lockTimeoutMs: undefined,
    statementTimeoutMs: undefined,
  };
  const lines = text.split('\n');
  let inHeader = true;
  lines.forEach((rawLine, index) => {
    const line = rawLine.trim();
    if (inHeader && line !== '' && !line.startsWith('--')) inHeader = false;
    const match = DIRECTIVE.exec(line);
    if (!match) return;
    const fail = (message: string): never => {
      throw new MigrationFileError(fileName, index + 1, message);
    };
    // A directive below the first statement would silently not apply: better to say so.
    if (!inHeader) fail('chatflow-db directives belong in the comment header, above the first statement');
    for (const item of (match[1] as string).split(/[\s,]+/).filter(Boolean)) {
      const [key, value] = item.split('=', 2) as [string, string | undefined];
      if (key === 'no-transaction' && value === undefined) directives.transaction = false;
      else if (key === 'lock-timeout' && value !== undefined)
        directives.lockTimeoutMs = parseDuration(value) ?? fail(badDuration(item));
      else if (key === 'statement-timeout' && value !== undefined) {
        directives.statementTimeoutMs = parseDuration(value) ?? fail(badDuration(item));
      } else {
        fail(
          `unknown directive "${item}" (known: no-transaction, lock-timeout=<duration>, statement-timeout=<duration>)`,
        );
      }
    }
  });
  return directives;
}

const badDuration = (item: string) =>
  `"${item}" needs a duration such as 500ms, 30s, 5min, 2h or 0 (no limit)`;

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, min: 60_000, h: 3_600_000 };

/** "30s" -> 30000; "0" -> 0 (no limit); undefined when not a duration. */
export function parseDuration(value: string): number | undefined {
  const match = /^(\d+)(ms|s|min|h)?$/.exec(value);
  if (!match || (match[2] === undefined && match[1] !== '0')) return undefined;
  const ms = Number(match[1]) * (UNIT_MS[match[2] ?? 'ms'] ?? 1);
  // PostgreSQL's timeouts are int milliseconds.
  return ms <= 2_147_483_647 ? ms : undefined;
}

type Control = 'begin' | 'commit' | 'rollback' | 'prepare';

/** Transaction-control statements, by their first words. */
export function transactionControl(words: readonly string[]): Control | undefined {
  const [first, second] = words;
  if (first === 'BEGIN' || (first === 'START' && second === 'TRANSACTION')) return 'begin';
  if ((first === 'COMMIT' || first === 'END') && second !== 'PREPARED') return 'commit';
  if ((first === 'ROLLBACK' || first === 'ABORT') && second !== 'TO' && second !== 'PREPARED')
    return 'rollback';
  if (first === 'PREPARE' && second === 'TRANSACTION') return 'prepare';
  return undefined;
}

/**
 * Files are also run by plain `psql -f`, so they may wrap themselves in BEGIN; ... COMMIT;. The runner owns
 * the transaction (it records the file in it): a leading BEGIN becomes the runner's BEGIN and a trailing
 * COMMIT the runner's COMMIT. Any other transaction control would commit half a file: refused.
 */
function transactionFrame(
  fileName: string,
  statements: Statement[],
  transaction: boolean,
): { begin: Statement | undefined; body: Statement[] } {
  const first = statements[0];
  const last = statements.at(-1);
  let body = statements;
  let begin: Statement | undefined;
  if (transaction && first && transactionControl(first.words) === 'begin') {
    if (statements.length < 2 || !last || transactionControl(last.words) !== 'commit') {
      throw new MigrationFileError(
        fileName,
        first.line,
        'the file starts a transaction with BEGIN but does not end with COMMIT',
      );
    }
    begin = first;
    body = statements.slice(1, -1);
  }
  for (const statement of body) {
    const control = transactionControl(statement.words);
    if (control === undefined) continue;
    throw new MigrationFileError(
      fileName,
      statement.line,
      transaction
        ? `${statement.words.join(' ')} inside the file: the runner applies each file in one transaction (a leading BEGIN and a trailing COMMIT are fine); split the file, or mark it "-- chatflow-db: no-transaction"`
        : `${statement.words.join(' ')} in a no-transaction file: its statements run one at a time; move transactional statements to a separate file`,
    );
  }
  return { begin, body };
}
