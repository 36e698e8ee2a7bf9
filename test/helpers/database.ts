/**
 * Throwaway databases on the test server (PostgreSQL on 127.0.0.1:5432, user postgres, or TEST_PG*).
 * Each test file creates its own, with a unique name, and drops it afterwards.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const testServer = {
  host: process.env.TEST_PGHOST ?? '127.0.0.1',
  port: Number(process.env.TEST_PGPORT ?? 5432),
  user: process.env.TEST_PGUSER ?? 'postgres',
  password: process.env.TEST_PGPASSWORD,
};

export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
}

export async function adminQuery<T extends pg.QueryResultRow = pg.QueryResultRow>(
  sql: string,
  params: unknown[] = [],
  database = 'postgres',
): Promise<pg.QueryResult<T>> {
  const client = new pg.Client({ ...testServer, database });
  await client.connect();
  try {
    return await client.query<T>(sql, params);
  } finally {
    await client.end();
  }
}

export async function createDatabase(prefix = 'cfdb_test'): Promise<string> {
  const name = uniqueName(prefix);
  await adminQuery(`CREATE DATABASE "${name}"`);
  return name;
}

export async function dropDatabase(name: string): Promise<void> {
  await adminQuery(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
}

/** Runs `fn` with a connected client on `database`, closing it afterwards. */
export async function withDb<T>(database: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ ...testServer, database });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** The environment that points chatflow-db (and psql) at `database` on the test server. */
export function dbEnv(database: string): Record<string, string> {
  const env: Record<string, string> = {
    PGHOST: testServer.host,
    PGPORT: String(testServer.port),
    PGUSER: testServer.user,
    PGDATABASE: database,
  };
  if (testServer.password) env.PGPASSWORD = testServer.password;
  return env;
}

/**
 * Drops a throwaway role with everything it owns or was granted, in every database (roles are
 * cluster-wide, so a role left behind outlives the test run). Does nothing if it does not exist.
 */
export async function dropRole(role: string): Promise<void> {
  const { rows } = await adminQuery<{ datname: string }>(
    `SELECT d.datname FROM pg_database d, pg_roles r
     WHERE r.rolname = $1 AND d.datallowconn
       AND (d.datname = current_database() OR d.oid IN (SELECT dbid FROM pg_shdepend WHERE refobjid = r.oid))`,
    [role],
  );
  for (const { datname } of rows) {
    await adminQuery(`REASSIGN OWNED BY "${role}" TO CURRENT_USER`, [], datname);
    await adminQuery(`DROP OWNED BY "${role}"`, [], datname);
  }
  await adminQuery(`DROP ROLE IF EXISTS "${role}"`);
}
