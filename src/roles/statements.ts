/**
 * The limited application role (SCHEMA.md "Roles"), as pure logic: the statements that create or update it
 * and the reasons to refuse. src/roles/apply.ts runs them.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { quoteIdent, quoteLiteral } from '../lib/db.js';

/** What the database says about the role before we touch it. */
export interface RoleState {
  /** The role we are connected as (the owner role, PGUSER). */
  currentUser: string;
  currentUserIsSuperuser: boolean;
  /** The application role's attributes, or undefined if it does not exist yet. */
  existing: { superuser: boolean; createRole: boolean; createDb: boolean } | undefined;
  /** Objects the application role owns in this database (database, schema public, tables...). */
  ownedObjects: string[];
  /** Roles whose rights the application role inherits (a member of the owner role can run DDL). */
  memberOf: string[];
  /** Roles that own objects in schema public: their future objects get the row privileges too. */
  objectOwners: string[];
}

/** Why the role command must not manage `role` here, or undefined if it may. */
export function refusalReason(role: string, state: RoleState): string | undefined {
  const advice =
    'Set APP_DB_USER to another name (e.g. chatflow_app), run `chatflow-db roles` again, then point the ' +
    'application at that role (see the README, "Moving a legacy deployment to a limited role").';
  if (role === state.currentUser) {
    return `APP_DB_USER is "${role}", the role this command runs as (PGUSER): it owns the schema and runs migrations, so it cannot become the limited application role. ${advice}`;
  }
  if (state.existing?.superuser) {
    return `APP_DB_USER "${role}" is a superuser (a legacy deployment that ran with POSTGRES_USER=${role}?); chatflow-db will not demote it, since the deployment may depend on it. ${advice}`;
  }
  if (state.ownedObjects.length > 0) {
    const shown = state.ownedObjects.slice(0, 5).join(', ');
    const more = state.ownedObjects.length > 5 ? ` and ${state.ownedObjects.length - 5} more` : '';
    return `APP_DB_USER "${role}" owns ${shown}${more}: an owner can always run DDL, so it cannot be the limited application role. ${advice}`;
  }
  if (state.memberOf.length > 0) {
    return `APP_DB_USER "${role}" is a member of ${state.memberOf.join(', ')}, which own the schema: it would keep their DDL rights. ${advice}`;
  }
  return undefined;
}

/**
 * A SCRAM-SHA-256 verifier of `password` (the format PostgreSQL stores), so that the clear password never
 * appears in a statement that the server might log. undefined when PostgreSQL would first SASLprep the
 * password (non-ASCII): then the server must hash it itself.
 */
export function scramVerifier(
  password: string,
  salt = randomBytes(16),
  iterations = 4096,
): string | undefined {
  if (!/^[\x20-\x7e]*$/.test(password)) return undefined;
  const salted = pbkdf2Sync(password, salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

export interface RolePlan {
  role: string;
  password: string;
  database: string;
  state: RoleState;
}

/** The statements, in order, that make `role` exactly the limited application role on `database`. */
export function roleStatements(plan: RolePlan): string[] {
  const { role, database, state } = plan;
  const r = quoteIdent(role);
  const secret = quoteLiteral(scramVerifier(plan.password) ?? plan.password);
  // Only a superuser may even mention SUPERUSER in ALTER ROLE; the role is known not to be one here.
  const attributes = `LOGIN ${state.currentUserIsSuperuser || !state.existing ? 'NOSUPERUSER ' : ''}NOCREATEDB NOCREATEROLE`;
  const statements = [
    state.existing
      ? `ALTER ROLE ${r} WITH ${attributes} PASSWORD ${secret}`
      : `CREATE ROLE ${r} WITH ${attributes} PASSWORD ${secret}`,
    `GRANT CONNECT ON DATABASE ${quoteIdent(database)} TO ${r}`,
    `GRANT USAGE ON SCHEMA public TO ${r}`,
    // No DDL: neither the role nor PUBLIC (which it belongs to) may create in public. PostgreSQL 15 no longer
    // grants this to PUBLIC, but databases created on older versions still do.
    `REVOKE CREATE ON SCHEMA public FROM ${r}`,
    'REVOKE CREATE ON SCHEMA public FROM PUBLIC',
    // Revoke first, so that an update also takes away what an older set-up granted (TRUNCATE, REFERENCES...).
    `REVOKE ALL ON ALL TABLES IN SCHEMA public FROM ${r}`,
    `GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${r}`,
    `REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM ${r}`,
    `GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO ${r}`,
  ];
  const owners = [...new Set([state.currentUser, ...state.objectOwners])]
    .filter((owner) => owner !== role)
    .sort();
  for (const owner of owners) {
    const o = quoteIdent(owner);
    statements.push(
      `ALTER DEFAULT PRIVILEGES FOR ROLE ${o} IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ${r}`,
      `ALTER DEFAULT PRIVILEGES FOR ROLE ${o} IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO ${r}`,
    );
  }
  return statements;
}
