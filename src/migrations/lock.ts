/**
 * The migration lock: a session-level advisory lock on a fixed key, per database. Waiters poll
 * pg_try_advisory_lock (never a blocking call, so a waiter never queues behind anything and gives up on
 * time), log who holds the lock, and give up after MIGRATE_LOCK_TIMEOUT. The lock dies with its session,
 * so a killed migrate never leaves it behind.
 */
import type { Client } from '../lib/db.js';
import { JobError } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { sleep } from '../lib/clock.js';

/** "cfdbmigr" as a bigint; pg_locks shows it as classid 1667654754, objid 1835624306, objsubid 1. */
export const MIGRATION_LOCK_KEY = '7162522631284549490';
const LOCK_CLASSID = 1667654754;
const LOCK_OBJID = 1835624306;

export interface LockHolder {
  pid: number;
  applicationName: string | null;
  clientAddr: string | null;
  connectedSince: Date | null;
  state: string | null;
}

export async function tryMigrationLock(client: Client): Promise<boolean> {
  const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [
    MIGRATION_LOCK_KEY,
  ]);
  return rows[0]?.locked === true;
}

export async function releaseMigrationLock(client: Client): Promise<void> {
  await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
}

/** The session holding the lock in this database, if any (and if this role may see it). */
export async function migrationLockHolder(client: Client): Promise<LockHolder | undefined> {
  const { rows } = await client.query<LockHolder>(
    `SELECT a.pid, a.application_name AS "applicationName", host(a.client_addr) AS "clientAddr",
            a.backend_start AS "connectedSince", a.state
       FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'advisory' AND l.granted AND l.classid = $1 AND l.objid = $2 AND l.objsubid = 1
        AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
    [LOCK_CLASSID, LOCK_OBJID],
  );
  return rows[0];
}

export function describeHolder(holder: LockHolder | undefined): string {
  if (!holder) return 'a session that has just finished or that this role cannot see';
  // Another role's session shows its pid and application_name only (state and address are hidden).
  const from = holder.clientAddr
    ? ` from ${holder.clientAddr}`
    : holder.state === null
      ? ''
      : ' (local socket)';
  const since = holder.connectedSince ? `, connected since ${holder.connectedSince.toISOString()}` : '';
  const state = holder.state ?? 'details hidden from this role';
  return `pid ${holder.pid} "${holder.applicationName ?? '?'}"${from}${since}, ${state}`;
}

/**
 * Polls for the lock (every 0.5 s or so, with jitter so that many replicas do not poll in step) until
 * `timeoutMs`; logs the holder when the wait starts and every 15 s.
 */
export async function acquireMigrationLock(
  client: Client,
  logger: Logger,
  timeoutMs: number,
  database: string,
): Promise<void> {
  const started = Date.now();
  let lastLog = -Infinity;
  for (;;) {
    if (await tryMigrationLock(client)) {
      if (lastLog > -Infinity) logger.info({ waitedMs: Date.now() - started }, 'got the migration lock');
      return;
    }
    const holder = await migrationLockHolder(client);
    const waited = Date.now() - started;
    if (waited >= timeoutMs) {
      throw new JobError(
        `Gave up after ${Math.round(waited / 1000)} s waiting for the migration lock on "${database}", held by ` +
          `${describeHolder(holder)}. Another migrate is running; if it is stuck, end it ` +
          `(SELECT pg_terminate_backend(${holder?.pid ?? '<pid>'})) or raise MIGRATE_LOCK_TIMEOUT.`,
      );
    }
    if (Date.now() - lastLog >= 15_000) {
      lastLog = Date.now();
      logger.info(
        { holder, waitedMs: waited, timeoutMs },
        `waiting for the migration lock, held by ${describeHolder(holder)}`,
      );
    }
    await sleep(Math.min(400 + Math.random() * 200, Math.max(0, timeoutMs - waited)));
  }
}
