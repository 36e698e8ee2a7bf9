/**
 * The scratch databases of a drill: `chatflow_drill_YYYYMMDD_HHMMSS_<6 hex>` (the restored backup) and the
 * same name with `_ref` (a fresh init-complete.sql) and `_rt` (that one after pg_dump and psql: the schema
 * reference). While a drill runs, its control
 * session holds an advisory lock named after the base name; a scratch database whose lock is free belongs
 * to a drill that died (killed, server restarted), and the next drill or `start` drops it. Only names of
 * exactly this shape are ever dropped.
 */
import { randomBytes } from 'node:crypto';
import { wallClockStamp } from '../lib/clock.js';
import { quoteIdent, type Client } from '../lib/db.js';
import type { Logger } from '../lib/logger.js';

export const SCRATCH_PATTERN = /^(chatflow_drill_\d{8}_\d{6}_[0-9a-f]{6})(_ref|_rt)?$/;

export interface ScratchNames {
  /** The restored backup. */
  target: string;
  /** The reference schema from init-complete.sql. */
  reference: string;
  /** The reference after pg_dump --schema-only and psql, as the backup went. */
  roundTrip: string;
}

export function scratchNames(
  now: Date,
  timeZone: string,
  random = randomBytes(3).toString('hex'),
): ScratchNames {
  const target = `chatflow_drill_${wallClockStamp(now, timeZone)}_${random}`;
  return { target, reference: `${target}_ref`, roundTrip: `${target}_rt` };
}

const lockSql = (fn: string): string => `SELECT ${fn}(hashtext('chatflow-db drill ' || $1)) AS locked`;

/** Marks the scratch databases of `names` as in use for as long as `client`'s session lives. */
export async function holdScratch(client: Client, names: ScratchNames): Promise<void> {
  await client.query(lockSql('pg_advisory_lock'), [names.target]);
}

/** Drops scratch databases left by drills that are no longer running; returns their names. */
export async function dropLeftovers(client: Client, logger: Logger): Promise<string[]> {
  const { rows } = await client.query<{ datname: string }>(
    "SELECT datname FROM pg_database WHERE datname LIKE 'chatflow\\_drill\\_%' ORDER BY datname",
  );
  const dropped: string[] = [];
  for (const { datname } of rows) {
    const base = SCRATCH_PATTERN.exec(datname)?.[1];
    if (base === undefined) continue;
    const free = await client.query<{ locked: boolean }>(lockSql('pg_try_advisory_lock'), [base]);
    if (!free.rows[0]?.locked) continue; // a running drill holds it
    try {
      await client.query(`DROP DATABASE IF EXISTS ${quoteIdent(datname)} WITH (FORCE)`);
      dropped.push(datname);
      logger.warn({ database: datname }, `dropped "${datname}", left behind by a drill that did not finish`);
    } catch (error) {
      logger.warn(
        { err: error, database: datname },
        `could not drop the leftover drill database "${datname}"`,
      );
    } finally {
      await client.query(lockSql('pg_advisory_unlock'), [base]).catch(() => undefined);
    }
  }
  return dropped;
}
