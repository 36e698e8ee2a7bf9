/**
 * Two sidecars never back up at the same time: each backup runs while this process holds a
 * session-level PostgreSQL advisory lock on its own connection. If the server or the connection goes
 * away, PostgreSQL releases the lock with the session, so a crashed sidecar never blocks the others.
 *
 * The two-key form (int4, int4) lives in a different key space from the single bigint form that
 * migrations lock, so the two can never collide: 0x43464442 is "CFDB", 2 means "backup".
 */
import type { DatabaseConfig } from '../config/load.js';
import { connect } from '../lib/db.js';

export const BACKUP_LOCK_KEY: readonly [number, number] = [0x43464442, 2];

export interface HeldLock {
  release(): Promise<void>;
}

/** Takes the backup lock if it is free; undefined when another session holds it. */
export async function tryBackupLock(db: DatabaseConfig): Promise<HeldLock | undefined> {
  const client = await connect(db);
  try {
    const result = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS locked', [
      ...BACKUP_LOCK_KEY,
    ]);
    if (result.rows[0]?.locked !== true) {
      await client.end().catch(() => undefined);
      return undefined;
    }
  } catch (error) {
    await client.end().catch(() => undefined);
    throw error;
  }
  return {
    async release() {
      // Ending the session releases the lock even if the unlock query fails.
      await client.query('SELECT pg_advisory_unlock($1, $2)', [...BACKUP_LOCK_KEY]).catch(() => undefined);
      await client.end().catch(() => undefined);
    },
  };
}
