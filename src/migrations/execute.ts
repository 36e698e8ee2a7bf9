/**
 * Runs one migration file and records it.
 *   - Transactional (the default): BEGIN (the file's own, if it has one), SET LOCAL timeouts, each statement,
 *     the tracking row, COMMIT. Any error rolls the whole file back.
 *   - no-transaction: session timeouts, each statement committed on its own, then the tracking row. The
 *     invalid index that a failed (or an earlier, interrupted) CREATE INDEX CONCURRENTLY of the file left is
 *     dropped, so that the statement builds it again instead of IF NOT EXISTS skipping a broken index. Only
 *     that index: the one the statement names, on its table, not there before the statement ran (another
 *     session's invalid index, or one an operator left, is not ours to drop).
 * Statements are sent one at a time (as psql -f does), so an error names the statement's file and line.
 * A lock timeout or deadlock is retried with backoff (the whole file, or the one statement).
 */
import { sqlState, withTransaction, type Client } from '../lib/db.js';
import { JobError } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { sleep } from '../lib/clock.js';
import { concurrentIndex, type ConcurrentIndex } from './concurrent.js';
import type { MigrationFile } from './file.js';
import { codeUnitOffset, lineAt, type Statement } from './split.js';
import { TRACKING_TABLE } from './tracking.js';

export interface ExecutionSettings {
  lockTimeoutMs: number;
  statementTimeoutMs: number;
  /** Retries after a lock timeout (55P03) or deadlock (40P01). */
  retries: number;
  /** First backoff; doubles with each retry. */
  backoffMs: number;
}

const RETRYABLE = new Set(['55P03', '40P01']);

/** Applies `file` and records it; returns how long the statements took. */
export async function applyMigration(
  client: Client,
  file: MigrationFile,
  settings: ExecutionSettings,
  logger: Logger,
): Promise<number> {
  const timeouts = {
    lock: file.lockTimeoutMs ?? settings.lockTimeoutMs,
    statement: file.statementTimeoutMs ?? settings.statementTimeoutMs,
  };
  return file.transaction
    ? applyInTransaction(client, file, timeouts, settings, logger)
    : applyStatementByStatement(client, file, timeouts, settings, logger);
}

interface Timeouts {
  lock: number;
  statement: number;
}

async function applyInTransaction(
  client: Client,
  file: MigrationFile,
  timeouts: Timeouts,
  settings: ExecutionSettings,
  logger: Logger,
): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    let current: Statement | undefined = file.begin;
    const started = performance.now();
    try {
      return await withTransaction(
        client,
        async () => {
          current = undefined;
          await client.query(
            `SET LOCAL lock_timeout = ${timeouts.lock}; SET LOCAL statement_timeout = ${timeouts.statement}`,
          );
          for (const statement of file.body) {
            current = statement;
            await client.query(statement.text);
          }
          current = undefined;
          const durationMs = Math.round(performance.now() - started);
          await record(client, file, durationMs);
          return durationMs;
        },
        file.begin?.text,
      );
    } catch (error) {
      if (await retried(error, attempt, settings, logger, file)) continue;
      throw failure(file, current, error, 'It was rolled back: nothing of it stays in the database.');
    }
  }
}

async function applyStatementByStatement(
  client: Client,
  file: MigrationFile,
  timeouts: Timeouts,
  settings: ExecutionSettings,
  logger: Logger,
): Promise<number> {
  const started = performance.now();
  await client.query(`SET lock_timeout = ${timeouts.lock}; SET statement_timeout = ${timeouts.statement}`);
  for (const statement of file.body) {
    const building = concurrentIndex(statement.text);
    for (let attempt = 0; ; attempt++) {
      let existing: ReadonlySet<string> = new Set();
      try {
        if (building) {
          await dropInvalidIndex(client, building, logger);
          existing = new Set(await namedIndexes(client, building, false));
        }
        await client.query(statement.text);
        break;
      } catch (error) {
        const dropped = building ? await dropLeftInvalidIndex(client, building, existing, logger) : [];
        if (await retried(error, attempt, settings, logger, file, statement)) continue;
        const cleanup =
          dropped.length > 0 ? ` The invalid index it left (${dropped.join(', ')}) was dropped.` : '';
        throw failure(
          file,
          statement,
          error,
          `This is a no-transaction file: the statements above that line stay committed and the next run starts the file again from the top.${cleanup}`,
        );
      }
    }
  }
  const durationMs = Math.round(performance.now() - started);
  await record(client, file, durationMs);
  return durationMs;
}

async function record(client: Client, file: MigrationFile, durationMs: number): Promise<void> {
  await client.query(
    `INSERT INTO ${TRACKING_TABLE} (version, name, checksum, duration_ms, applied_by) VALUES ($1, $2, $3, $4, session_user)`,
    [file.version, file.fileName, file.checksum, durationMs],
  );
}

/** Records files as applied without running them (`--baseline`), in one transaction. */
export async function recordBaseline(client: Client, files: readonly MigrationFile[]): Promise<void> {
  await withTransaction(client, async () => {
    for (const file of files) {
      await client.query(
        `INSERT INTO ${TRACKING_TABLE} (version, name, checksum, duration_ms, applied_by) VALUES ($1, $2, $3, 0, session_user || ' (baseline)')`,
        [file.version, file.fileName, file.checksum],
      );
    }
  });
}

/** `--allow-changed`: the edited files' new checksums replace the recorded ones; the files do not run again. */
export async function rerecordChecksums(
  client: Client,
  changes: readonly { version: string; checksum: string }[],
): Promise<void> {
  await withTransaction(client, async () => {
    for (const { version, checksum } of changes) {
      await client.query(`UPDATE ${TRACKING_TABLE} SET checksum = $2 WHERE version = $1`, [
        version,
        checksum,
      ]);
    }
  });
}

async function retried(
  error: unknown,
  attempt: number,
  settings: ExecutionSettings,
  logger: Logger,
  file: MigrationFile,
  statement?: Statement,
): Promise<boolean> {
  const code = sqlState(error);
  if (code === undefined || !RETRYABLE.has(code) || attempt >= settings.retries) return false;
  const delayMs = Math.round(settings.backoffMs * 2 ** attempt * (1 + Math.random() * 0.25));
  logger.warn(
    { file: file.fileName, line: statement?.line, sqlState: code, attempt: attempt + 1, retryInMs: delayMs },
    `${file.fileName}: ${(error as Error).message}; retrying ${statement ? 'the statement' : 'the file'}`,
  );
  await sleep(delayMs);
  return true;
}

interface PgErrorFields {
  position?: string;
  where?: string;
  detail?: string;
  hint?: string;
}

/** The file line an error points at: PostgreSQL's `position`, a DO block's own line, or the statement's start. */
export function errorLine(
  file: Pick<MigrationFile, 'text'>,
  statement: Statement,
  error: PgErrorFields,
): number {
  const position = Number(error.position);
  if (Number.isInteger(position) && position > 0) {
    return lineAt(file.text, statement.start + codeUnitOffset(statement.text, position - 1));
  }
  const blockLine = /inline_code_block line (\d+)/.exec(error.where ?? '')?.[1];
  if (blockLine !== undefined && statement.bodyOffset !== undefined) {
    return lineAt(file.text, statement.start + statement.bodyOffset) + Number(blockLine) - 1;
  }
  return statement.line;
}

function failure(
  file: MigrationFile,
  statement: Statement | undefined,
  error: unknown,
  consequence: string,
): JobError {
  const fields = error as PgErrorFields;
  const code = sqlState(error);
  const where = statement ? `line ${errorLine(file, statement, fields)}` : 'COMMIT';
  const lines = [
    `Migration ${file.fileName} failed at ${where}: ${(error as Error).message}${code ? ` (SQLSTATE ${code})` : ''}`,
  ];
  if (fields.detail) lines.push(`  detail: ${fields.detail}`);
  if (fields.hint) lines.push(`  hint: ${fields.hint}`);
  if (fields.where) lines.push(`  context: ${fields.where.split('\n')[0]}`);
  lines.push(
    `${consequence} Earlier migrations stay applied; fix the cause and run migrate again to retry this file.`,
  );
  // No `cause`: the message already carries every field of PostgreSQL's error, and the reporter would
  // print that error's message a second time under "caused by".
  return new JobError(lines.join('\n'));
}

/**
 * Oids of the indexes that `target`'s statement names, on its table (resolved with the session's
 * search_path, as the statement itself is): all of them, or only the invalid ones.
 */
async function namedIndexes(
  client: Client,
  target: ConcurrentIndex,
  invalidOnly: boolean,
): Promise<string[]> {
  const { rows } = await client.query<{ oid: string }>(
    `SELECT i.indexrelid::text AS oid
       FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
      WHERE c.relname = $1 AND i.indrelid = to_regclass($2) AND (NOT $3 OR NOT i.indisvalid)`,
    [target.index, target.table, invalidOnly],
  );
  return rows.map((row) => row.oid);
}

/** Drops an index by oid; returns its name as this session spells it, or undefined if it is gone. */
async function dropIndex(client: Client, oid: string): Promise<string | undefined> {
  const { rows } = await client.query<{ name: string }>(
    'SELECT oid::regclass::text AS name FROM pg_class WHERE oid = $1::oid',
    [oid],
  );
  const name = rows[0]?.name;
  if (name === undefined) return undefined;
  await client.query(`DROP INDEX CONCURRENTLY IF EXISTS ${name}`);
  return name;
}

/** Drops an invalid index left by an interrupted run of the CREATE INDEX CONCURRENTLY about to run. */
async function dropInvalidIndex(client: Client, target: ConcurrentIndex, logger: Logger): Promise<void> {
  for (const oid of await namedIndexes(client, target, true)) {
    const name = await dropIndex(client, oid);
    if (name === undefined) continue;
    logger.warn(
      { index: name },
      `dropped the invalid index ${name} (an interrupted build) before building it again`,
    );
  }
}

/** Drops the invalid index that the failed CREATE INDEX CONCURRENTLY `target` left, if it left one. */
async function dropLeftInvalidIndex(
  client: Client,
  target: ConcurrentIndex,
  existing: ReadonlySet<string>,
  logger: Logger,
): Promise<string[]> {
  const dropped: string[] = [];
  try {
    for (const oid of await namedIndexes(client, target, true)) {
      if (existing.has(oid)) continue;
      const name = await dropIndex(client, oid);
      if (name === undefined) continue;
      logger.warn({ index: name }, `dropped the invalid index ${name} left by the failed statement`);
      dropped.push(name);
    }
  } catch (error) {
    logger.warn({ err: error }, 'could not drop an invalid index left by the failed statement');
  }
  return dropped;
}
