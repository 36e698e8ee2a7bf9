/**
 * The role a restore runs the archive's SQL as. An archive is untrusted input, and a text filter cannot
 * see everything a statement will do (a function that a CHECK constraint, an index expression or a default
 * calls runs during the restore with the session's rights). So the archive never runs as the configured
 * owner, which is often a superuser: each restore creates a temporary LOGIN role without any attribute
 * (NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS), makes it the owner of the scratch
 * database (so it can build the schema there, and create trusted extensions such as uuid-ossp), and runs
 * psql as it. Afterwards everything it owns is handed to the configured owner and the role is dropped.
 *
 * The password is random, sent to the server only as a SCRAM-SHA-256 verifier (never in clear text, so it
 * cannot reach the server log) and to psql only in PGPASSWORD (never argv). The role's login expires after
 * a day. A role that a killed restore left behind is recognised by its name and dropped by the next
 * restore (or `start`) once nothing holds its advisory lock and it owns no database.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import pg from 'pg';
import type { DatabaseConfig } from '../config/load.js';
import { clientOptions, quoteIdent, quoteLiteral, type Client } from '../lib/db.js';
import { JobError } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';

export const RESTORE_ROLE_PREFIX = 'chatflow_restore_';
const RESTORE_ROLE = /^chatflow_restore_\d{14}_[0-9a-f]{8}$/;
const SCRAM_ITERATIONS = 4096;

export interface RestoreRole {
  name: string;
  password: string;
}

/** `chatflow_restore_<UTC YYYYMMDDHHMMSS>_<8 hex>`. Pure but for the random part. */
export function restoreRoleName(now: Date): string {
  const stamp = now.toISOString().replace(/\D/g, '').slice(0, 14);
  return `${RESTORE_ROLE_PREFIX}${stamp}_${randomBytes(4).toString('hex')}`;
}

export function isRestoreRoleName(name: string): boolean {
  return RESTORE_ROLE.test(name);
}

/** The SCRAM-SHA-256 verifier PostgreSQL stores for `password` (RFC 5802/7677, as libpq computes it). */
export function scramVerifier(password: string, salt = randomBytes(16)): string {
  const salted = pbkdf2Sync(password.normalize('NFKC'), salt, SCRAM_ITERATIONS, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${SCRAM_ITERATIONS}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

const lockKey = (role: string): string => `chatflow-db restore role ${role}`;

/**
 * Creates the temporary role and holds a session advisory lock on its name for as long as `control` lives
 * (that is how a later restore tells a live restore's role from a killed one's). A configured owner that is
 * not a superuser needs CREATEROLE, and becomes a member of the role (to create a database owned by it and
 * to take its objects over later); the temporary role gains nothing from that.
 */
export async function createRestoreRole(control: Client, now: Date): Promise<RestoreRole> {
  const role: RestoreRole = { name: restoreRoleName(now), password: randomBytes(24).toString('base64url') };
  const { rows } = await control.query<{ super: boolean; createrole: boolean }>(
    'SELECT rolsuper AS super, rolcreaterole AS createrole FROM pg_roles WHERE rolname = current_user',
  );
  const me = rows[0];
  if (!me?.super && !me?.createrole) {
    throw new JobError(
      'A restore runs the archive as a temporary role without privileges, and the owner role may not create roles: ' +
        'GRANT the CREATEROLE attribute to it (ALTER ROLE <owner> CREATEROLE), or run the restore as a superuser',
    );
  }
  await control.query('SELECT pg_advisory_lock(hashtext($1))', [lockKey(role.name)]);
  const validUntil = new Date(now.getTime() + 24 * 3600_000).toISOString();
  const name = quoteIdent(role.name);
  await control.query(
    `CREATE ROLE ${name} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS ` +
      `CONNECTION LIMIT 4 VALID UNTIL ${quoteLiteral(validUntil)} PASSWORD ${quoteLiteral(scramVerifier(role.password))}`,
  );
  await control.query(
    `COMMENT ON ROLE ${name} IS ${quoteLiteral(`chatflow-db restore ${now.toISOString()}: temporary, dropped when the restore ends`)}`,
  );
  if (!me.super) await control.query(`GRANT ${name} TO CURRENT_USER`);
  return role;
}

/**
 * Fails with a message that says what to change when the temporary role cannot log in (pg_hba.conf must
 * allow password logins for every role from where chatflow-db runs, as the official image's
 * `host all all all scram-sha-256` does).
 */
export async function checkRoleLogin(db: DatabaseConfig, role: RestoreRole, database: string): Promise<void> {
  const client = new pg.Client({ ...clientOptions(db, database), user: role.name, password: role.password });
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error) {
    throw new JobError(
      `The restore's temporary role ${role.name} cannot log in to ${db.host}:${db.port}/${database} ` +
        `(${(error as Error).message}). A restore runs the archive as a temporary role with a password: ` +
        'pg_hba.conf must accept password logins (scram-sha-256 or md5) for all roles from this host, ' +
        'e.g. `host all all <this host>/32 scram-sha-256`; the official postgres image allows them by default',
      { cause: error },
    );
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * After psql succeeded: the database and everything the temporary role created become the configured
 * owner's. `inDatabase` is a connection (as the configured owner) to the restored database.
 *
 * As the database's owner the temporary role could also change the database itself; a plain pg_dump
 * (without -C) never does, so whatever it set is undone: database-level settings (a search_path the
 * application would inherit), connection limit and ALLOW_CONNECTIONS, the comment, and grants on the
 * database (back to PostgreSQL's default: CONNECT and TEMPORARY for PUBLIC).
 */
export async function handOver(
  control: Client,
  inDatabase: Client,
  database: string,
  role: string,
): Promise<void> {
  const db = quoteIdent(database);
  await control.query(`ALTER DATABASE ${db} OWNER TO CURRENT_USER`);
  await inDatabase.query(`REASSIGN OWNED BY ${quoteIdent(role)} TO CURRENT_USER`);
  await inDatabase.query(`DROP OWNED BY ${quoteIdent(role)}`);
  await control.query(`ALTER DATABASE ${db} RESET ALL`);
  await control.query(`ALTER DATABASE ${db} WITH ALLOW_CONNECTIONS true CONNECTION LIMIT -1`);
  await control.query(`COMMENT ON DATABASE ${db} IS NULL`);
  const { rows } = await control.query<{ grantee: string | null }>(
    `SELECT DISTINCT CASE WHEN a.grantee = 0 THEN NULL ELSE pg_get_userbyid(a.grantee) END AS grantee
       FROM pg_database d, aclexplode(d.datacl) a WHERE d.datname = $1 AND a.grantee <> d.datdba`,
    [database],
  );
  for (const { grantee } of rows) {
    await control.query(
      `REVOKE ALL ON DATABASE ${db} FROM ${grantee === null ? 'PUBLIC' : quoteIdent(grantee)}`,
    );
  }
  await control.query(`GRANT CONNECT, TEMPORARY ON DATABASE ${db} TO PUBLIC`);
}

/** Drops the temporary role (ends its sessions first); a failure is logged with what to run by hand. */
export async function dropRestoreRole(control: Client, role: string, logger: Logger): Promise<void> {
  try {
    await control.query(
      'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1 AND pid <> pg_backend_pid()',
      [role],
    );
    await control.query(`DROP ROLE IF EXISTS ${quoteIdent(role)}`);
  } catch (error) {
    logger.error(
      { err: error, role },
      `could not drop the restore's temporary role ${role}: drop it by hand (REASSIGN OWNED BY / DROP OWNED BY in the database it owns, then DROP ROLE)`,
    );
  } finally {
    await control.query('SELECT pg_advisory_unlock(hashtext($1))', [lockKey(role)]).catch(() => undefined);
  }
}

/**
 * Drops temporary roles that killed restores left behind: a name of the restore-role shape whose advisory
 * lock nobody holds (its restore is gone) and that owns no database (a database left with it is a killed
 * restore's scratch database; it is left for the operator, with the role). Returns the roles dropped.
 */
export async function dropStaleRestoreRoles(control: Client, logger: Logger): Promise<string[]> {
  const { rows } = await control.query<{ rolname: string }>(
    `SELECT r.rolname FROM pg_roles r
      WHERE starts_with(r.rolname, $1) AND NOT r.rolsuper
        AND NOT EXISTS (SELECT 1 FROM pg_database d WHERE d.datdba = r.oid)`,
    [RESTORE_ROLE_PREFIX],
  );
  const dropped: string[] = [];
  for (const { rolname } of rows) {
    if (!isRestoreRoleName(rolname)) continue;
    const { rows: lock } = await control.query<{ free: boolean }>(
      'SELECT pg_try_advisory_lock(hashtext($1)) AS free',
      [lockKey(rolname)],
    );
    if (!lock[0]?.free) continue;
    try {
      await control.query(`DROP ROLE ${quoteIdent(rolname)}`);
      dropped.push(rolname);
      logger.warn({ role: rolname }, `dropped ${rolname}, the temporary role of a restore that was killed`);
    } catch (error) {
      logger.warn(
        { err: error, role: rolname },
        `${rolname} (the temporary role of a killed restore) could not be dropped; drop it by hand`,
      );
    } finally {
      await control.query('SELECT pg_advisory_unlock(hashtext($1))', [lockKey(rolname)]);
    }
  }
  return dropped;
}
