/**
 * `chatflow-db roles`: the limited application role of SCHEMA.md "Roles". Roles are cluster-wide, so each
 * test uses its own role names and drops them afterwards.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load.js';
import { ExitCode, JobError, UsageError } from '../../../src/lib/errors.js';
import { silentLogger } from '../../../src/lib/logger.js';
import { scramVerifier } from '../../../src/roles/statements.js';
import { applyAppRole } from '../../../src/roles/apply.js';
import { runCli } from '../../helpers/cli.js';
import {
  adminQuery,
  createDatabase,
  dbEnv,
  dropDatabase,
  dropRole,
  testServer,
  uniqueName,
} from '../../helpers/database.js';
import { applyInit } from '../../helpers/schema.js';

const roles: string[] = [];
let db: string;

function roleName(): string {
  const name = uniqueName('cfdb_app');
  roles.push(name);
  return name;
}

/** Config for `role`; a null password leaves APP_DB_PASSWORD unset. */
function configFor(role: string, password: string | null = 'app-secret-1') {
  return loadConfig({
    ...dbEnv(db),
    APP_DB_USER: role,
    ...(password === null ? {} : { APP_DB_PASSWORD: password }),
  });
}

/** Runs `sql` as `role` (the test server trusts local connections) and returns the SQLSTATE, or 'ok'. */
async function asRole(role: string, sql: string): Promise<string> {
  const client = new pg.Client({ ...testServer, user: role, password: undefined, database: db });
  await client.connect();
  try {
    await client.query(sql);
    return 'ok';
  } catch (error) {
    return (error as { code?: string }).code ?? String(error);
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  db = await createDatabase('cfdb_roles');
  await applyInit(db);
  await adminQuery(
    `INSERT INTO users (username, email, password_hash, api_key, jwt_secret) VALUES ('alice', 'a@example.com', 'h', 'k1', 'j')`,
    [],
    db,
  );
});
afterAll(async () => {
  try {
    await dropDatabase(db);
  } finally {
    for (const role of roles) await dropRole(role);
  }
});

describe('roles', () => {
  let app: string;
  beforeAll(async () => {
    app = roleName();
    expect(await applyAppRole(configFor(app), { logger: silentLogger })).toEqual({
      role: app,
      created: true,
    });
  });

  it('creates a login role without superuser, CREATEDB or CREATEROLE, with a SCRAM password', async () => {
    const { rows } = await adminQuery<{
      rolcanlogin: boolean;
      rolsuper: boolean;
      rolcreatedb: boolean;
      rolcreaterole: boolean;
      rolpassword: string;
    }>(
      'SELECT rolcanlogin, rolsuper, rolcreatedb, rolcreaterole, rolpassword FROM pg_authid WHERE rolname = $1',
      [app],
    );
    const role = rows[0]!;
    expect(role).toMatchObject({
      rolcanlogin: true,
      rolsuper: false,
      rolcreatedb: false,
      rolcreaterole: false,
    });
    const salt = Buffer.from(role.rolpassword.split('$')[1]!.split(':')[1]!, 'base64');
    expect(role.rolpassword).toBe(scramVerifier('app-secret-1', salt));
  });

  it('lets the application read and write rows and use sequences', async () => {
    expect(await asRole(app, 'SELECT count(*) FROM users')).toBe('ok');
    expect(
      await asRole(
        app,
        `INSERT INTO users (username, email, password_hash, api_key, jwt_secret) VALUES ('bob', 'b@example.com', 'h', 'k2', 'j')`,
      ),
    ).toBe('ok');
    expect(await asRole(app, `UPDATE users SET is_active = false WHERE username = 'bob'`)).toBe('ok');
    expect(await asRole(app, `DELETE FROM users WHERE username = 'bob'`)).toBe('ok');
    expect(await asRole(app, `SELECT nextval('users_id_seq'), currval('users_id_seq')`)).toBe('ok');
  });

  it.each([
    ['CREATE TABLE', 'CREATE TABLE public.app_table (id int)'],
    ['CREATE TABLE (unqualified)', 'CREATE TABLE app_table (id int)'],
    ['ALTER TABLE', 'ALTER TABLE users ADD COLUMN nickname text'],
    ['DROP TABLE', 'DROP TABLE auto_reply_logs'],
    ['TRUNCATE', 'TRUNCATE users CASCADE'],
    ['CREATE INDEX', 'CREATE INDEX app_idx ON users (email)'],
    ['DROP FUNCTION', 'DROP FUNCTION update_updated_at_column() CASCADE'],
    ['read migration tracking', 'SELECT * FROM chatflow_db.schema_migrations'],
  ])('refuses %s to the application', async (_what, sql) => {
    expect(await asRole(app, sql)).toBe('42501');
  });

  it('covers tables and sequences the owner creates later', async () => {
    await adminQuery('CREATE TABLE public.later_table (id SERIAL PRIMARY KEY, note text)', [], db);
    expect(await asRole(app, `INSERT INTO later_table (note) VALUES ('x')`)).toBe('ok');
    expect(await asRole(app, 'SELECT * FROM later_table')).toBe('ok');
    expect(await asRole(app, 'TRUNCATE later_table')).toBe('42501');
    await adminQuery('DROP TABLE public.later_table', [], db);
  });

  it('is idempotent and takes back what an older set-up granted', async () => {
    await adminQuery(`ALTER ROLE "${app}" CREATEDB`);
    await adminQuery(`GRANT TRUNCATE ON users TO "${app}"`, [], db);
    const config = configFor(app, 'app-secret-2');
    expect(await applyAppRole(config, { logger: silentLogger })).toEqual({ role: app, created: false });
    expect(await applyAppRole(config, { logger: silentLogger })).toEqual({ role: app, created: false });
    expect(await asRole(app, 'TRUNCATE users CASCADE')).toBe('42501');
    const { rows } = await adminQuery<{ rolcreatedb: boolean }>(
      'SELECT rolcreatedb FROM pg_roles WHERE rolname = $1',
      [app],
    );
    expect(rows).toEqual([{ rolcreatedb: false }]);
  });
});

describe('roles refuses', () => {
  it('the role it runs as (exit code 5), without changing it', async () => {
    const error = await applyAppRole(configFor(testServer.user), { logger: silentLogger }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(JobError);
    expect((error as JobError).exitCode).toBe(ExitCode.refused);
    expect((error as JobError).message).toMatch(
      /the role this command runs as.*Set APP_DB_USER to another name/s,
    );
  });

  it('a superuser, as in legacy deployments with POSTGRES_USER=chatflow_user', async () => {
    const legacy = roleName();
    await adminQuery(`CREATE ROLE "${legacy}" LOGIN SUPERUSER`);
    const result = await runCli(['roles'], { ...dbEnv(db), APP_DB_USER: legacy, APP_DB_PASSWORD: 'x' });
    expect(result.code).toBe(ExitCode.refused);
    expect(result.stderr).toMatch(/is a superuser/);
    const { rows } = await adminQuery<{ rolsuper: boolean }>(
      'SELECT rolsuper FROM pg_roles WHERE rolname = $1',
      [legacy],
    );
    expect(rows).toEqual([{ rolsuper: true }]);
  });

  it('a role that owns tables', async () => {
    const owner = roleName();
    await adminQuery(`CREATE ROLE "${owner}" LOGIN`);
    await adminQuery(`CREATE TABLE public.owned_by_app (id int)`, [], db);
    await adminQuery(`ALTER TABLE public.owned_by_app OWNER TO "${owner}"`, [], db);
    try {
      const error = await applyAppRole(configFor(owner), { logger: silentLogger }).catch((e: unknown) => e);
      expect((error as JobError).exitCode).toBe(ExitCode.refused);
      expect((error as JobError).message).toMatch(/owns owned_by_app/);
    } finally {
      await adminQuery('DROP TABLE public.owned_by_app', [], db);
    }
  });

  it('to run without APP_DB_PASSWORD (exit code 2)', async () => {
    const role = roleName();
    const error = await applyAppRole(configFor(role, null), { logger: silentLogger }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(UsageError);
    const result = await runCli(['roles'], { ...dbEnv(db), APP_DB_USER: role });
    expect(result.code).toBe(ExitCode.usage);
    expect(result.stderr).toMatch(/APP_DB_PASSWORD \(or APP_DB_PASSWORD_FILE\) is required/);
    const { rows } = await adminQuery('SELECT 1 FROM pg_roles WHERE rolname = $1', [role]);
    expect(rows).toEqual([]);
  });

  it('nothing when it succeeds through the CLI', async () => {
    const role = roleName();
    const result = await runCli(['roles'], {
      ...dbEnv(db),
      APP_DB_USER: role,
      APP_DB_PASSWORD: 'cli-secret',
    });
    expect(result.stdout).toContain(`application role ${role} created`);
    expect(result.code).toBe(0);
  });
});
