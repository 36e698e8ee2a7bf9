/**
 * Connections to PostgreSQL: node-postgres clients for the control plane, and the libpq environment
 * that pg_dump/psql children get (the password travels there, never in argv).
 */
import pg from 'pg';
import type { DatabaseConfig } from '../config/load.js';
import { ChatflowError, ExitCode } from './errors.js';
import type { Logger } from './logger.js';
import { sleep } from './clock.js';

export type Client = pg.Client;

/** node-postgres options for `database` (defaults to the configured one). */
export function clientOptions(db: DatabaseConfig, database = db.database): pg.ClientConfig {
  return {
    host: db.host,
    port: db.port,
    user: db.user,
    password: db.password,
    database,
    ssl: sslOption(db.sslMode),
    application_name: 'chatflow-db',
    connectionTimeoutMillis: 10_000,
    // The migration lock and the restore's control connection stay open for a whole job: a peer that
    // vanished without a FIN (a NAT or load balancer dropping an idle flow) is noticed after ~1 min idle.
    keepAlive: true,
    keepAliveInitialDelayMillis: 60_000,
  };
}

function sslOption(mode: string | undefined): pg.ClientConfig['ssl'] {
  if (mode === undefined || mode === 'disable' || mode === 'allow' || mode === 'prefer') return false;
  return mode === 'verify-full' || mode === 'verify-ca' ? true : { rejectUnauthorized: false };
}

/** Environment for pg_dump/psql/pg_isready: the process env plus libpq's PG* variables. */
export function libpqEnv(db: DatabaseConfig, database = db.database): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PGHOST: db.host,
    PGPORT: String(db.port),
    PGUSER: db.user,
    PGDATABASE: database,
    PGAPPNAME: 'chatflow-db',
    PGCONNECT_TIMEOUT: '10',
  };
  delete env.DATABASE_URL;
  if (db.password !== undefined) env.PGPASSWORD = db.password;
  else delete env.PGPASSWORD;
  if (db.sslMode !== undefined) env.PGSSLMODE = db.sslMode;
  return env;
}

/** SQLSTATEs that no amount of waiting fixes. */
const FATAL_CODES: Record<string, string> = {
  '28P01': 'authentication failed: check PGUSER/PGPASSWORD (or DATABASE_URL)',
  '28000': 'the server rejected this role: check PGUSER and pg_hba.conf',
  '3D000': 'the database does not exist: check PGDATABASE (or DATABASE_URL), or create it',
};

/** A short description of where we connect, without the password. */
export function describeTarget(db: DatabaseConfig, database = db.database): string {
  return `${db.user}@${db.host}:${db.port}/${database}`;
}

/** Opens a client, failing at once (exit code 4) if the server is unreachable. */
export async function connect(db: DatabaseConfig, database = db.database): Promise<Client> {
  const client = new pg.Client(clientOptions(db, database));
  // An idle client whose server goes away emits 'error'; without a listener that kills the process.
  client.on('error', () => undefined);
  try {
    await client.connect();
    return client;
  } catch (error) {
    await client.end().catch(() => undefined);
    throw unreachable(db, database, error);
  }
}

/**
 * Connects, retrying with backoff (0.25 s doubling to 5 s) while the server is starting or unreachable,
 * up to `db.waitTimeoutMs`. Authentication errors and a missing database fail at once.
 */
export async function connectWithWait(
  db: DatabaseConfig,
  logger: Logger,
  database = db.database,
): Promise<Client> {
  const deadline = Date.now() + db.waitTimeoutMs;
  let delay = 250;
  for (let attempt = 1; ; attempt++) {
    try {
      return await connect(db, database);
    } catch (error) {
      const fatal = error instanceof ChatflowError && FATAL_CODES[sqlState(error.cause) ?? ''] !== undefined;
      if (fatal || Date.now() + delay > deadline) {
        if (!fatal && db.waitTimeoutMs > 0) {
          throw new ChatflowError(
            `Gave up waiting ${Math.round(db.waitTimeoutMs / 1000)} s for ${describeTarget(db, database)}: ${
              (error as Error).message
            }. Check that the server is up and reachable, or raise DB_WAIT_TIMEOUT.`,
            ExitCode.unreachable,
            { cause: error },
          );
        }
        throw error;
      }
      logger.info(
        { attempt, target: describeTarget(db, database), retryInMs: delay },
        'waiting for the database',
      );
      await sleep(delay);
      delay = Math.min(delay * 2, 5000);
    }
  }
}

function unreachable(db: DatabaseConfig, database: string, error: unknown): ChatflowError {
  const code = sqlState(error);
  const reason = (code && FATAL_CODES[code]) ?? (error as Error).message;
  return new ChatflowError(
    `Cannot connect to ${describeTarget(db, database)}: ${reason}`,
    ExitCode.unreachable,
    {
      cause: error,
    },
  );
}

export function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/** Runs `fn` with a fresh client and always closes it. */
export async function withClient<T>(
  db: DatabaseConfig,
  fn: (client: Client) => Promise<T>,
  database?: string,
): Promise<T> {
  const client = await connect(db, database);
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Quotes an SQL identifier (database, role and schema names). */
/**
 * Runs `work` between `begin` and COMMIT; on any failure rolls back (a failed rollback does not hide the
 * first error) and rethrows.
 */
export async function withTransaction<T>(
  client: Client,
  work: () => Promise<T>,
  begin = 'BEGIN',
): Promise<T> {
  await client.query(begin);
  try {
    const result = await work();
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Quotes an SQL string literal. */
export function quoteLiteral(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}
