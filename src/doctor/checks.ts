/**
 * The checks of `chatflow-db doctor`, each a small function returning what it found: ok, a problem with
 * its fix, or skipped (with why). The pure judgements (versions, privileges, free space) are separate
 * from the queries that feed them, so they read as the rules they are.
 */
import { randomBytes } from 'node:crypto';
import { statfs } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Readable } from 'node:stream';
import { createTask } from 'node-cron';
import type { Config } from '../config/load.js';
import { describeTarget, type Client } from '../lib/db.js';
import { formatBytes } from '../lib/streams.js';
import type { Storage } from '../storage/storage.js';

export type CheckStatus = 'ok' | 'problem' | 'skipped';

export interface Check {
  /** Short and stable: `database`, `pg_dump`, `owner`, `app-role`, `migrations`, `store`, `schedule`, `disk`. */
  name: string;
  status: CheckStatus;
  /** What was found, with the figures. */
  detail: string;
  /** For a problem: what to do about it. */
  fix?: string;
}

export const ok = (name: string, detail: string): Check => ({ name, status: 'ok', detail });
export const problem = (name: string, detail: string, fix: string): Check => ({
  name,
  status: 'problem',
  detail,
  fix,
});
export const skipped = (name: string, detail: string): Check => ({ name, status: 'skipped', detail });

/** The effective configuration, secrets shown only as set or not. */
export function effectiveConfig(config: Readonly<Config>): Record<string, string> {
  const secret = (value: string | undefined): string => (value === undefined ? '(not set)' : '[redacted]');
  const s3 = config.backup.s3;
  const r = config.retention;
  return {
    database: describeTarget(config.database),
    password: secret(config.database.password),
    sslMode: config.database.sslMode ?? '(libpq default)',
    dbWaitTimeout: `${config.database.waitTimeoutMs / 1000} s`,
    migrationsDir: config.migrations.dir,
    appRole: config.appRole.user,
    appRolePassword: secret(config.appRole.password),
    backupDir: config.backup.localDir ?? '(none)',
    s3: s3 ? `s3://${s3.bucket}/${s3.prefix} at ${s3.endpoint ?? `AWS S3 (${s3.region})`}` : '(none)',
    s3Credentials: s3 ? (s3.credentials ? '[redacted]' : "(the SDK's default chain)") : '(none)',
    schedule: `${config.backup.schedule} (${config.timeZone})`,
    retention: `last ${r.keepLast}, days ${r.keepDays}, daily ${r.keepDaily}, weekly ${r.keepWeekly}, monthly ${r.keepMonthly}`,
    notify: config.notify.webhookUrl === undefined ? '(none)' : '[redacted]',
  };
}

/** `pg_dump (PostgreSQL) 15.5 (Debian 15.5-1)` -> 15; undefined if there is no version in it. */
export function majorOf(version: string): number | undefined {
  const match = /(\d+)(?:\.\d+)?/.exec(version.replace(/^[^\d]*/, ''));
  return match ? Number(match[1]) : undefined;
}

/** pg_dump dumps servers of its own major version or older only. */
export function checkDumpVersion(dumpVersion: string, serverVersionNum: number): Check {
  const server = Math.floor(serverVersionNum / 10_000);
  const dump = majorOf(dumpVersion);
  if (dump === undefined)
    return problem('pg_dump', `cannot read a version in "${dumpVersion}"`, 'install the PostgreSQL client');
  if (dump < server)
    return problem(
      'pg_dump',
      `${dumpVersion} is older than the server (PostgreSQL ${server}): it refuses to dump it`,
      `install pg_dump ${server} or newer (postgresql-client-${server}), or use the chatflow-db image`,
    );
  return ok('pg_dump', `${dumpVersion}, server PostgreSQL ${server}`);
}

export interface OwnerRights {
  role: string;
  superuser: boolean;
  createDb: boolean;
  signalBackend: boolean;
}

/** A restore creates a database and ends the target's sessions: CREATEDB and pg_signal_backend (or superuser). */
export function checkOwnerRights(rights: OwnerRights): Check {
  if (rights.superuser) return ok('owner', `${rights.role} is a superuser: it can restore`);
  const missing: string[] = [];
  const fixes: string[] = [];
  if (!rights.createDb) {
    missing.push('cannot create databases');
    fixes.push(`ALTER ROLE "${rights.role}" CREATEDB;`);
  }
  if (!rights.signalBackend) {
    missing.push("cannot end other roles' sessions");
    fixes.push(`GRANT pg_signal_backend TO "${rights.role}";`);
  }
  if (missing.length > 0)
    return problem(
      'owner',
      `${rights.role} ${missing.join(' and ')}, which a restore needs`,
      `as a superuser: ${fixes.join(' ')}`,
    );
  return ok('owner', `${rights.role} can create databases and end sessions (CREATEDB, pg_signal_backend)`);
}

export async function readOwnerRights(client: Client): Promise<OwnerRights> {
  const { rows } = await client.query<OwnerRights>(
    `SELECT current_user AS role, rolsuper AS superuser, rolcreatedb AS "createDb",
            pg_has_role(current_user, 'pg_signal_backend', 'MEMBER') AS "signalBackend"
       FROM pg_roles WHERE rolname = current_user`,
  );
  const row = rows[0];
  if (!row) throw new Error('the connected role is not in pg_roles');
  return row;
}

/** The application role against what `chatflow-db roles` grants it. */
export async function checkAppRole(client: Client, config: Readonly<Config>): Promise<Check> {
  const role = config.appRole.user;
  const roles = await client.query<{ login: boolean; superuser: boolean }>(
    'SELECT rolcanlogin AS login, rolsuper AS superuser FROM pg_roles WHERE rolname = $1',
    [role],
  );
  const found = roles.rows[0];
  if (!found) {
    if (config.appRole.password === undefined)
      return skipped(
        'app-role',
        `APP_DB_USER "${role}" does not exist and APP_DB_PASSWORD is not set: the limited application role is not used here`,
      );
    return problem(
      'app-role',
      `the application role "${role}" (APP_DB_USER) does not exist`,
      'run `chatflow-db roles` (the sidecar does it at start)',
    );
  }
  const gaps: string[] = [];
  if (!found.login) gaps.push('cannot log in');
  if (found.superuser) gaps.push('is a superuser (not a limited role)');
  const { rows } = await client.query<{ gap: string }>(
    `SELECT 'no CONNECT on the database' AS gap WHERE NOT has_database_privilege($1, current_database(), 'CONNECT')
     UNION ALL SELECT 'no USAGE on schema public' WHERE NOT has_schema_privilege($1, 'public', 'USAGE')
     UNION ALL SELECT 'may CREATE in schema public (DDL)' WHERE has_schema_privilege($1, 'public', 'CREATE')
     UNION ALL
     SELECT 'no SELECT/INSERT/UPDATE/DELETE on ' || c.relname FROM pg_class c
       WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')
         AND CASE WHEN c.relkind IN ('r', 'p') THEN NOT has_table_privilege($1, c.oid, 'SELECT, INSERT, UPDATE, DELETE') ELSE false END
     UNION ALL
     SELECT 'no USAGE on sequence ' || c.relname FROM pg_class c
       WHERE c.relnamespace = 'public'::regnamespace
         -- CASE: the planner may test the privilege before the kind, and it fails on a non-sequence.
         AND CASE WHEN c.relkind = 'S' THEN NOT has_sequence_privilege($1, c.oid, 'USAGE') ELSE false END`,
    [role],
  );
  gaps.push(...rows.map((r) => r.gap));
  if (gaps.length > 0) {
    const shown = gaps.slice(0, 5).join('; ') + (gaps.length > 5 ? `; and ${gaps.length - 5} more` : '');
    return problem(
      'app-role',
      `the application role "${role}": ${shown}`,
      'run `chatflow-db roles` to grant exactly what the application needs',
    );
  }
  return ok('app-role', `"${role}" can log in and has row access to every table in public, no DDL`);
}

/** A name that says what it is, should a failed run ever leave it behind. */
export function probeName(now: Date): string {
  return `chatflow-db-doctor-probe-${now.getTime()}-${randomBytes(3).toString('hex')}.tmp`;
}

/** Writes a small probe object, reads its size back and removes it. */
export async function checkStoreWritable(store: Storage, now: Date): Promise<Check> {
  const name = probeName(now);
  const name_ = `store ${store.location}`;
  const body = 'chatflow-db doctor: this object checks that backups can be written here; delete it.\n';
  try {
    await store.put(name, Readable.from([body]));
  } catch (error) {
    return problem(
      name_,
      `cannot write to ${store.location}: ${(error as Error).message}`,
      store.kind === 'local'
        ? `make BACKUP_DIR ${store.location} an existing, writable directory for uid ${process.getuid?.() ?? '?'} (mount the volume, chown it)`
        : 'check S3_BUCKET, S3_ENDPOINT and that the credentials may write (s3:PutObject) and delete (s3:DeleteObject) under S3_PREFIX',
    );
  }
  try {
    const stored = await store.stat(name);
    if (stored?.size !== Buffer.byteLength(body))
      return problem(
        name_,
        `the probe ${name} reads back as ${stored ? `${stored.size} bytes` : 'missing'}`,
        'check the store',
      );
    await store.delete(name);
  } catch (error) {
    return problem(
      name_,
      `the probe ${name} was written but could not be read back or removed: ${(error as Error).message}`,
      store.kind === 'local'
        ? `remove ${name} by hand and check the permissions of ${store.location}`
        : `remove ${name} by hand; the credentials need s3:GetObject and s3:DeleteObject (prune deletes too)`,
    );
  }
  return ok(name_, `a probe object was written, read back and removed`);
}

/** The next `count` runs of the schedule, shown as local times in `timeZone`. */
export function checkSchedule(schedule: string, timeZone: string, count = 3): Check {
  let runs: Date[];
  try {
    const task = createTask(schedule, () => undefined, { timezone: timeZone });
    runs = task.getNextRuns(count);
    void task.destroy();
  } catch (error) {
    return problem(
      'schedule',
      `BACKUP_SCHEDULE "${schedule}" cannot be scheduled: ${(error as Error).message}`,
      'fix BACKUP_SCHEDULE (five fields: minute hour day month weekday)',
    );
  }
  const local = new Intl.DateTimeFormat('sv-SE', {
    timeZone,
    dateStyle: 'short',
    timeStyle: 'medium',
  });
  const shown = runs.map((run) => local.format(run)).join(', ');
  return ok('schedule', `"${schedule}" in ${timeZone}: next ${shown}`);
}

/** Free space in the backup directory against the size of the last backup (one more must fit). */
export function judgeFreeSpace(dir: string, freeBytes: number, lastBackupBytes: number | undefined): Check {
  const free = formatBytes(freeBytes);
  if (lastBackupBytes === undefined) return ok('disk', `${free} free in ${dir} (no backup yet to compare)`);
  // The next backup is written beside the existing ones before retention removes any: it must fit whole.
  if (freeBytes < lastBackupBytes * 1.2)
    return problem(
      'disk',
      `${free} free in ${dir}, the last backup was ${formatBytes(lastBackupBytes)}: the next one may not fit`,
      'free space or grow the volume, or keep fewer backups (BACKUP_KEEP_*) and run `chatflow-db prune`',
    );
  return ok('disk', `${free} free in ${dir}, the last backup was ${formatBytes(lastBackupBytes)}`);
}

/** Free bytes for an unprivileged writer at `dir` (or its nearest existing parent). */
export async function freeBytes(dir: string): Promise<number> {
  for (let path = dir; ; path = dirname(path)) {
    try {
      const stats = await statfs(path);
      return stats.bavail * stats.bsize;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if ((code !== 'ENOENT' && code !== 'ENOTDIR') || dirname(path) === path) throw error;
    }
  }
}
