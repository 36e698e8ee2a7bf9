/**
 * How a database left refusing connections by a killed restore is recognised and repaired. Before the
 * cut-over sets ALLOW_CONNECTIONS false it marks the database in the same transaction with a comment
 * (COMMENT ON DATABASE needs only ownership, unlike a custom setting) whose first line is
 * `chatflow-db cut-over {"target":…,"at":…}`; the operator's own comment, if any, follows on the next
 * lines and is put back when the mark is removed. A database that refuses connections without this mark
 * (an operator's own) is never touched. The mark travels with the database through the rename, so a
 * restore killed after the renames is repaired on `<target>_before_restore_<ts>` too.
 *
 * A restore still running holds the per-target advisory lock (lockTarget); its mark is left alone.
 */
import type { Config } from '../config/load.js';
import { connectWithWait, quoteIdent, quoteLiteral, sqlState, type Client } from '../lib/db.js';
import { ChatflowError, ExitCode } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { dropStaleRestoreRoles } from './restore-role.js';

const MARK = 'chatflow-db cut-over ';

export interface CutoverMark {
  target: string;
  at: string;
  /** The comment the database had before (null: none). */
  previousComment: string | null;
}

/** The comment that marks a database during the cut-over. Pure. */
export function markComment(target: string, at: Date, previousComment: string | null): string {
  const line = `${MARK}${JSON.stringify({ target, at: at.toISOString() })}`;
  return previousComment ? `${line}\n${previousComment}` : line;
}

/** The mark in a database comment, or undefined when the comment is not one. Pure. */
export function parseMark(comment: string | null): CutoverMark | undefined {
  if (!comment?.startsWith(MARK)) return undefined;
  const newline = comment.indexOf('\n');
  const json = comment.slice(MARK.length, newline < 0 ? undefined : newline);
  try {
    const value = JSON.parse(json) as { target?: unknown; at?: unknown };
    if (typeof value.target !== 'string' || typeof value.at !== 'string') return undefined;
    const rest = newline < 0 ? '' : comment.slice(newline + 1);
    return { target: value.target, at: value.at, previousComment: rest === '' ? null : rest };
  } catch {
    return undefined;
  }
}

export async function databaseComment(client: Client, database: string): Promise<string | null> {
  const { rows } = await client.query<{ comment: string | null }>(
    "SELECT shobj_description(oid, 'pg_database') AS comment FROM pg_database WHERE datname = $1",
    [database],
  );
  return rows[0]?.comment ?? null;
}

export function setCommentSql(database: string, comment: string | null): string {
  return `COMMENT ON DATABASE ${quoteIdent(database)} IS ${comment === null ? 'NULL' : quoteLiteral(comment)}`;
}

const restoreLockKey = (target: string): string => `chatflow-db restore ${target}`;

/**
 * Finds databases a killed restore left marked, re-enables connections to those refusing them and puts
 * their comment back; logs each repair. Skips marks whose restore still runs (its lock is held elsewhere).
 */
export async function repairInterruptedCutovers(client: Client, logger: Logger): Promise<string[]> {
  const { rows } = await client.query<{ datname: string; datallowconn: boolean; comment: string | null }>(
    `SELECT datname, datallowconn, shobj_description(oid, 'pg_database') AS comment FROM pg_database
      WHERE starts_with(shobj_description(oid, 'pg_database'), $1)`,
    [MARK],
  );
  const repaired: string[] = [];
  for (const row of rows) {
    const mark = parseMark(row.comment);
    if (!mark) continue;
    const { rows: lock } = await client.query<{ free: boolean }>(
      'SELECT pg_try_advisory_lock(hashtext($1)) AS free',
      [restoreLockKey(mark.target)],
    );
    if (!lock[0]?.free) continue;
    try {
      await client.query('BEGIN');
      if (!row.datallowconn)
        await client.query(`ALTER DATABASE ${quoteIdent(row.datname)} WITH ALLOW_CONNECTIONS true`);
      await client.query(setCommentSql(row.datname, mark.previousComment));
      await client.query('COMMIT');
      if (!row.datallowconn) {
        repaired.push(row.datname);
        logger.warn(
          { database: row.datname, target: mark.target, cutoverStartedAt: mark.at },
          `repaired "${row.datname}": a restore of "${mark.target}" was killed during its cut-over (started ${mark.at}) and left it refusing connections; it accepts connections again`,
        );
      } else {
        logger.info({ database: row.datname }, `removed a stale cut-over mark from "${row.datname}"`);
      }
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      logger.error(
        { err: error, database: row.datname },
        `"${row.datname}" was left refusing connections by a killed restore and could not be repaired: run ALTER DATABASE ${quoteIdent(row.datname)} WITH ALLOW_CONNECTIONS true`,
      );
    } finally {
      await client.query('SELECT pg_advisory_unlock(hashtext($1))', [restoreLockKey(mark.target)]);
    }
  }
  return repaired;
}

/**
 * What `start` does first: repairs databases that killed restores left refusing connections and drops
 * their temporary roles, on the maintenance database (the configured database may be the one refusing).
 * Best effort: a failure is logged and start-up goes on, except an unreachable server (exit 4 as before).
 */
export async function repairAfterKilledRestores(config: Readonly<Config>, logger: Logger): Promise<void> {
  try {
    const client = await connectWithWait(config.database, logger, 'postgres');
    try {
      await repairInterruptedCutovers(client, logger);
      await dropStaleRestoreRoles(client, logger);
    } finally {
      await client.end().catch(() => undefined);
    }
  } catch (error) {
    // The server is unreachable: the wait that follows would fail the same way, so fail here (exit 4)
    // instead of waiting DB_WAIT_TIMEOUT twice. Only a refusal of the postgres database itself is let go.
    if (error instanceof ChatflowError && error.exitCode === ExitCode.unreachable && !sqlState(error.cause))
      throw error;
    logger.warn(
      { err: error },
      'could not check for databases a killed restore left refusing connections (on the postgres database)',
    );
  }
}
