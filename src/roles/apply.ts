/**
 * The role job (`chatflow-db roles`): creates or updates the limited application role (APP_DB_USER, SCHEMA.md "Roles")
 * on the configured database, in one transaction. It refuses, without changing anything, to manage a role
 * that is the owner, a superuser or a member of the owner (legacy deployments ran as chatflow_user).
 */
import type { Config } from '../config/load.js';
import { connectWithWait, withTransaction, type Client } from '../lib/db.js';
import { ExitCode, JobError, UsageError } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { refusalReason, roleStatements, type RoleState } from './statements.js';

export interface RoleResult {
  role: string;
  created: boolean;
}

/** Creates or updates the application role and grants it row access on `database` (default: configured). */
export async function applyAppRole(
  config: Readonly<Config>,
  deps: { logger: Logger },
  options: { database?: string } = {},
): Promise<RoleResult> {
  const role = config.appRole.user;
  const password = config.appRole.password;
  if (password === undefined || password === '') {
    throw new UsageError(
      `APP_DB_PASSWORD (or APP_DB_PASSWORD_FILE) is required: it is the password that the application role "${role}" (APP_DB_USER) logs in with`,
    );
  }
  const database = options.database ?? config.database.database;
  const client = await connectWithWait(config.database, deps.logger, database);
  try {
    const state = await withTransaction(client, async () => {
      // Serialises concurrent runs (sidecar start and a manual `roles`) on the same role name.
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`chatflow-db:roles:${role}`]);
      const state = await readRoleState(client, role);
      const refusal = refusalReason(role, state);
      if (refusal !== undefined) throw new JobError(refusal, { exitCode: ExitCode.refused });
      for (const statement of roleStatements({ role, password, database, state }))
        await client.query(statement);
      return state;
    });
    const created = state.existing === undefined;
    deps.logger.info(
      { role, database, created },
      created ? 'application role created' : 'application role updated',
    );
    return { role, created };
  } catch (error) {
    if (error instanceof JobError || error instanceof UsageError) throw error;
    throw new JobError(
      `Could not create or update the application role "${role}" on ${database}: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function readRoleState(client: Client, role: string): Promise<RoleState> {
  const { rows: me } = await client.query<{ current_user: string; rolsuper: boolean }>(
    'SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user',
  );
  const { rows: existing } = await client.query<{
    rolsuper: boolean;
    rolcreaterole: boolean;
    rolcreatedb: boolean;
  }>('SELECT rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = $1', [role]);
  const { rows: owned } = await client.query<{ object: string }>(
    `SELECT 'database ' || datname AS object FROM pg_database
       WHERE datname = current_database() AND datdba = (SELECT oid FROM pg_roles WHERE rolname = $1)
     UNION ALL
     SELECT 'schema ' || nspname FROM pg_namespace WHERE nspowner = (SELECT oid FROM pg_roles WHERE rolname = $1)
     UNION ALL
     SELECT c.relname FROM pg_class c
       WHERE c.relnamespace = 'public'::regnamespace AND c.relowner = (SELECT oid FROM pg_roles WHERE rolname = $1)
     ORDER BY 1`,
    [role],
  );
  const { rows: owners } = await client.query<{ owner: string }>(
    `SELECT DISTINCT pg_get_userbyid(c.relowner) AS owner FROM pg_class c
     WHERE c.relnamespace = 'public'::regnamespace ORDER BY 1`,
  );
  // Membership in the owner (or in any owner of public objects) would hand the application DDL rights.
  const current = existing[0];
  const { rows: memberOf } = current
    ? await client.query<{ rolname: string }>(
        `SELECT r.rolname FROM pg_roles r
         WHERE r.rolname <> $1 AND (r.rolname = current_user OR r.rolname = ANY($2::text[]))
           AND pg_has_role($1, r.oid, 'USAGE')
         ORDER BY 1`,
        [role, owners.map((o) => o.owner)],
      )
    : { rows: [] };
  const self = me[0];
  return {
    currentUser: self?.current_user ?? '',
    currentUserIsSuperuser: self?.rolsuper ?? false,
    existing: current
      ? { superuser: current.rolsuper, createRole: current.rolcreaterole, createDb: current.rolcreatedb }
      : undefined,
    ownedObjects: owned.map((o) => o.object),
    memberOf: memberOf.map((m) => m.rolname),
    objectOwners: owners.map((o) => o.owner),
  };
}
