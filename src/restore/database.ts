/**
 * The control plane of a restore, on a connection to the `postgres` maintenance database: creating
 * and dropping the restore's database, and the swap that puts it in the target's place.
 */
import { sleep } from '../lib/clock.js';
import { quoteIdent, quoteLiteral, withTransaction, type Client } from '../lib/db.js';
import { JobError } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { databaseComment, markComment, parseMark, setCommentSql } from './cutover-mark.js';

export async function databaseExists(client: Client, name: string): Promise<boolean> {
  const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
  return (rowCount ?? 0) > 0;
}

export async function roleNames(client: Client): Promise<Set<string>> {
  const { rows } = await client.query<{ rolname: string }>('SELECT rolname FROM pg_roles');
  return new Set(rows.map((r) => r.rolname));
}

/**
 * Holds a session advisory lock per target for as long as `client` lives: two restores of one database
 * at a time would rename each other's databases.
 */
export async function lockTarget(client: Client, target: string): Promise<void> {
  const { rows } = await client.query<{ locked: boolean }>(
    "SELECT pg_try_advisory_lock(hashtext('chatflow-db restore ' || $1)) AS locked",
    [target],
  );
  if (!rows[0]?.locked) {
    throw new JobError(`Another restore of "${target}" is running; wait for it to finish, then retry`);
  }
}

/**
 * CREATE DATABASE from template0 (a plain dump expects an empty database: template1 may carry objects)
 * with the target's encoding and locale when the target exists, owned by the role running the restore.
 */
export async function createDatabase(
  client: Client,
  name: string,
  owner: string,
  like: string | undefined,
): Promise<void> {
  const options = [`OWNER ${quoteIdent(owner)}`, 'TEMPLATE template0'];
  if (like !== undefined) {
    const { rows } = await client.query<Record<string, unknown>>(
      'SELECT d.*, pg_encoding_to_char(d.encoding) AS encoding_name FROM pg_database d WHERE datname = $1',
      [like],
    );
    const row = rows[0];
    if (row) {
      options.push(`ENCODING ${quoteLiteral(String(row.encoding_name))}`);
      options.push(
        `LC_COLLATE ${quoteLiteral(String(row.datcollate))}`,
        `LC_CTYPE ${quoteLiteral(String(row.datctype))}`,
      );
      // ICU databases (PostgreSQL 15+; the column was renamed in 17).
      const icuLocale = row.daticulocale ?? row.datlocale;
      if (row.datlocprovider === 'i' && typeof icuLocale === 'string') {
        options.push('LOCALE_PROVIDER icu', `ICU_LOCALE ${quoteLiteral(icuLocale)}`);
      }
    }
  }
  try {
    await client.query(`CREATE DATABASE ${quoteIdent(name)} WITH ${options.join(' ')}`);
  } catch (error) {
    throw new JobError(`Cannot create the database "${name}" to restore into: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

export async function dropDatabase(client: Client, name: string): Promise<void> {
  await client.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
}

export interface SwapOptions {
  target: string;
  incoming: string;
  previous: string;
  logger: Logger;
  /** How long to keep terminating the target's sessions before giving up. */
  terminateTimeoutMs?: number;
  /**
   * TEST-ONLY: awaited after each step of the cut-over is committed, so that a test can kill the process
   * exactly there (test/integration/restore/cutover-kill.test.ts). Production code never passes it.
   */
  afterStep?: (step: SwapStep) => Promise<void>;
}

/** The committed states of a cut-over, in order. */
export type SwapStep = 'connections-blocked' | 'sessions-ended' | 'renamed' | 'previous-reopened';

export interface SwapResult {
  /** The target existed and is now `previous`. */
  replaced: boolean;
  /** Sessions on the target that were terminated. */
  terminated: number;
  /** From blocking new connections to the renamed database being live. */
  cutoverMs: number;
}

/**
 * The cut-over: block new connections to the target, terminate its sessions, then rename target ->
 * previous and incoming -> target in one transaction (both or neither). On failure the target gets its
 * connections back and keeps its name. `previous` gets connections back too, for inspection.
 */
export async function swapDatabases(client: Client, options: SwapOptions): Promise<SwapResult> {
  const { target, incoming, previous, logger } = options;
  const t = quoteIdent(target);
  await terminate(client, incoming);
  const { rows } = await client.query<{ datallowconn: boolean }>(
    'SELECT datallowconn FROM pg_database WHERE datname = $1',
    [target],
  );
  const started = Date.now();
  if (!rows[0]) {
    await client.query(`ALTER DATABASE ${quoteIdent(incoming)} RENAME TO ${t}`);
    return { replaced: false, terminated: 0, cutoverMs: Date.now() - started };
  }
  const allowConnections = rows[0].datallowconn;
  const afterStep = options.afterStep ?? (() => Promise.resolve());
  // Marked in the same transaction as ALLOW_CONNECTIONS false: if this process dies before it is undone,
  // the next restore or `start` recognises the mark and repairs the database (cutover-mark.ts).
  // A target that refused connections already (the operator's choice) is not marked: nothing to repair.
  const comment = await databaseComment(client, target);
  const original = parseMark(comment)?.previousComment ?? comment;
  await withTransaction(client, async () => {
    if (allowConnections)
      await client.query(setCommentSql(target, markComment(target, new Date(), original)));
    await client.query(`ALTER DATABASE ${t} WITH ALLOW_CONNECTIONS false`);
  });
  await afterStep('connections-blocked');
  let terminated = 0;
  try {
    const deadline = Date.now() + (options.terminateTimeoutMs ?? 10_000);
    for (;;) {
      const count = await terminate(client, target);
      terminated += count.terminated;
      if (count.remaining === 0) break;
      if (Date.now() > deadline) {
        throw new JobError(
          `${count.remaining} session(s) on "${target}" did not end after pg_terminate_backend; the target was left as it was`,
        );
      }
      await sleep(50);
    }
    await afterStep('sessions-ended');
    await withTransaction(client, async () => {
      await client.query(`ALTER DATABASE ${t} RENAME TO ${quoteIdent(previous)}`);
      await client.query(`ALTER DATABASE ${quoteIdent(incoming)} RENAME TO ${t}`);
    });
  } catch (error) {
    // Put things back: the target keeps its name (the transaction saw to that) and takes connections again.
    await withTransaction(client, async () => {
      await client.query(`ALTER DATABASE ${t} WITH ALLOW_CONNECTIONS ${allowConnections}`);
      await client.query(setCommentSql(target, original));
    }).catch((cause: unknown) => {
      logger.error(
        { err: cause },
        `could not re-enable connections to "${target}": run ALTER DATABASE ${t} WITH ALLOW_CONNECTIONS true`,
      );
    });
    throw new JobError(
      `Swapping the restored database in for "${target}" failed: ${(error as Error).message}`,
      { cause: error },
    );
  }
  const cutoverMs = Date.now() - started;
  await afterStep('renamed');
  await withTransaction(client, async () => {
    await client.query(`ALTER DATABASE ${quoteIdent(previous)} WITH ALLOW_CONNECTIONS ${allowConnections}`);
    await client.query(setCommentSql(previous, original));
  }).catch((cause: unknown) => {
    logger.warn(
      { err: cause },
      `"${previous}" does not accept connections; ALTER DATABASE … WITH ALLOW_CONNECTIONS true to inspect it`,
    );
  });
  await afterStep('previous-reopened');
  return { replaced: true, terminated, cutoverMs };
}

async function terminate(
  client: Client,
  database: string,
): Promise<{ terminated: number; remaining: number }> {
  const { rows } = await client.query<{ terminated: string; remaining: string }>(
    `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) AS terminated, count(*) AS remaining
       FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`,
    [database],
  );
  return { terminated: Number(rows[0]?.terminated ?? 0), remaining: Number(rows[0]?.remaining ?? 0) };
}
