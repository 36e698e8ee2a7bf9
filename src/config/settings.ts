/**
 * Every setting, once: its name, default, schema and meaning. loadConfig (load.ts) reads values through
 * this table; the README's configuration table is generated from it (`npm run docs:config`) and
 * test/unit/config/docs.test.ts keeps the README and docker-compose.yml in agreement with it.
 */
import { validate as isValidCron } from 'node-cron';
import { z } from 'zod';
import { PACKAGE_ROOT } from '../lib/package-root.js';

export interface Setting {
  name: string;
  /** The default as the README shows it; undefined means "unset". */
  default?: string;
  description: string;
  /** Accepts `<name>_FILE` (Docker secrets convention). */
  secret?: boolean;
}

interface Row<T> {
  /** The value used when the variable is unset (parsed by `schema` like a given value). */
  default?: string;
  /** How the README shows the default when it is not a plain value (e.g. "number of CPUs"). */
  shown?: string;
  description: string;
  secret?: boolean;
  /** Parses the variable's text; its first issue's message completes "<NAME> ..." in the report. */
  schema: z.ZodType<T, string>;
}

const row = <T>(setting: Row<T>): Row<T> => setting;

const text = z.string();
const integer = (min: number, max = Number.MAX_SAFE_INTEGER) => {
  const range =
    max === Number.MAX_SAFE_INTEGER ? `a whole number >= ${min}` : `a whole number from ${min} to ${max}`;
  return z
    .string()
    .trim()
    .regex(/^\d+$/, `must be ${range}`)
    .transform(Number)
    .pipe(z.number().int().min(min, `must be ${range}`).max(max, `must be ${range}`));
};
/** Whole seconds in the environment, milliseconds in the Config. */
const seconds = (min: number) => integer(min).transform((n) => n * 1000);
const boolean = z
  .string()
  .trim()
  .toLowerCase()
  .pipe(z.enum(['true', 'false', '1', '0', 'yes', 'no'], 'must be true or false'))
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' });
const timeZone = z.string().refine(isTimeZone, 'must be an IANA time zone such as UTC or Europe/Berlin');
const cron = z.string().refine((v) => isValidCron(v), 'must be a cron expression such as "0 2 * * *"');

export const SETTING_ROWS = {
  // Connection
  DATABASE_URL: row({
    description:
      'postgres://user:password@host:port/database[?sslmode=...]. Its parts win over the PG* variables.',
    secret: true,
    schema: text,
  }),
  PGHOST: row({
    default: 'localhost',
    description: 'Database host (used for parts DATABASE_URL does not give).',
    schema: text,
  }),
  PGPORT: row({ default: '5432', description: 'Database port.', schema: integer(1, 65535) }),
  PGUSER: row({
    default: 'postgres',
    description: 'Owner role: runs migrations, backups and restores.',
    schema: text,
  }),
  PGPASSWORD: row({
    description: 'Password of PGUSER. Passed to pg_dump/psql in the environment, never in argv.',
    secret: true,
    schema: text,
  }),
  PGDATABASE: row({ shown: 'value of PGUSER', description: 'The ChatFlow database.', schema: text }),
  PGSSLMODE: row({
    description: 'libpq sslmode: disable, allow, prefer, require, verify-ca, verify-full.',
    schema: z.enum(['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full']),
  }),
  DB_WAIT_TIMEOUT: row({
    default: '60',
    description: 'Seconds to keep retrying the first connection (backoff) before exit code 4.',
    schema: seconds(0),
  }),
  // Migrations
  MIGRATIONS_DIR: row({
    default: `${PACKAGE_ROOT}/migrations`,
    shown: '<package>/migrations',
    description: 'Folder of NNN_name.sql migration files.',
    schema: text,
  }),
  MIGRATE_LOCK_TIMEOUT: row({
    default: '600',
    description: 'Seconds a migrate waits for another one holding the migration lock.',
    schema: seconds(0),
  }),
  MIGRATE_DDL_LOCK_TIMEOUT: row({
    default: '10',
    description:
      'Seconds a migration statement waits for a table lock (lock_timeout) before it is retried with backoff; a file may override it.',
    schema: seconds(1),
  }),
  MIGRATE_STATEMENT_TIMEOUT: row({
    default: '3600',
    description:
      'Seconds one migration statement may run (statement_timeout, 0 = no limit); a file may override it.',
    schema: seconds(0),
  }),
  // Application role
  APP_DB_USER: row({
    default: 'chatflow_user',
    description: 'The limited application role that `roles` creates or updates.',
    schema: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a lower-case SQL identifier'),
  }),
  APP_DB_PASSWORD: row({
    description: 'Its password (required by `roles`, and by `start` to manage the role).',
    secret: true,
    schema: text,
  }),
  // Time
  TZ: row({
    default: 'UTC',
    description: 'Time zone of backup names and of BACKUP_SCHEDULE.',
    schema: timeZone,
  }),
  // Backups
  BACKUP_DIR: row({
    default: '/backups',
    shown: '/backups (when S3_BUCKET is unset)',
    description:
      'Local backup directory. With S3_BUCKET set, local copies are made only if BACKUP_DIR is set.',
    schema: text,
  }),
  S3_BUCKET: row({ description: 'Bucket for backups; enables the S3 store.', schema: text }),
  S3_PREFIX: row({
    default: '',
    description: 'Key prefix, e.g. `prod/`; objects are <S3_PREFIX><name>.sql.gz.',
    schema: text,
  }),
  S3_ENDPOINT: row({
    description: 'Endpoint URL for S3-compatible storage (MinIO, R2, B2, Ceph).',
    schema: httpUrl,
  }),
  S3_REGION: row({ default: 'us-east-1', description: 'Region (use `auto` for R2).', schema: text }),
  S3_FORCE_PATH_STYLE: row({
    default: 'false',
    description: 'Path-style addressing (MinIO, Ceph, s3rver).',
    schema: boolean,
  }),
  AWS_ACCESS_KEY_ID: row({
    description: 'S3 credentials; unset uses the AWS SDK default chain (profiles, instance roles).',
    secret: true,
    schema: text,
  }),
  AWS_SECRET_ACCESS_KEY: row({ description: 'S3 secret key.', secret: true, schema: text }),
  BACKUP_COMPRESSION_LEVEL: row({ default: '4', description: 'gzip level 1-9.', schema: integer(1, 9) }),
  BACKUP_COMPRESSION_THREADS: row({
    shown: 'number of CPUs',
    description: "Threads compressing gzip members in parallel (on libuv's thread pool).",
    schema: integer(1, 64),
  }),
  // Encryption (age). `secret` here means "also read from <NAME>_FILE": recipients are public keys.
  BACKUP_AGE_RECIPIENTS: row({
    description:
      'Encrypt every backup to these age recipients (public keys `age1...`, separated by commas, spaces or newlines; `#` comments): stored as `<name>.sql.gz.age`. Unset stores backups in clear.',
    secret: true,
    schema: text,
  }),
  AGE_IDENTITY: row({
    description:
      'age identity (`AGE-SECRET-KEY-1...` lines, as age-keygen or `chatflow-db keygen` write them) that restore, verify and drill decrypt encrypted backups with; never needed to back up.',
    secret: true,
    schema: text,
  }),
  BACKUP_PROGRESS_INTERVAL: row({
    default: '5',
    description: 'Seconds between progress log lines of a running backup or restore.',
    schema: seconds(1),
  }),
  BACKUP_SCHEDULE: row({
    default: '0 2 * * *',
    description: 'Cron expression (node-cron, optional seconds field) of scheduled backups, in TZ.',
    schema: cron,
  }),
  BACKUP_TIMEOUT: row({
    default: '21600',
    description:
      'Seconds a backup (`backup`, or a run of `start`) may take; then pg_dump is killed, uploads are aborted, nothing is stored and it counts as failed (and is notified). 21600 = 6 h.',
    schema: seconds(1),
  }),
  BACKUP_ON_START: row({
    default: 'false',
    description: '`start` takes a backup right after migrating.',
    schema: boolean,
  }),
  // Retention (a backup is kept when any rule keeps it; 0 turns a rule off; all 0 keeps everything)
  BACKUP_KEEP_LAST: row({
    default: '7',
    description: 'Keep the newest N automatic backups.',
    schema: integer(0),
  }),
  BACKUP_KEEP_DAYS: row({
    default: '0',
    description: 'Keep automatic backups younger than N days.',
    schema: integer(0),
  }),
  BACKUP_KEEP_DAILY: row({
    default: '7',
    description: 'Keep the newest backup of each of the last N days.',
    schema: integer(0),
  }),
  BACKUP_KEEP_WEEKLY: row({
    default: '4',
    description: 'Keep the newest backup of each of the last N ISO weeks.',
    schema: integer(0),
  }),
  BACKUP_KEEP_MONTHLY: row({
    default: '6',
    description: 'Keep the newest backup of each of the last N months.',
    schema: integer(0),
  }),
  // Restore drills
  DRILL_SCHEDULE: row({
    description:
      'Cron expression (in TZ) of restore drills of the newest backup by `start`; unset: no scheduled drills.',
    schema: cron,
  }),
  DRILL_DATABASE_URL: row({
    shown: 'the configured server',
    description:
      'postgres://user:password@host:port/maintenance-db of the server drills restore into (parts left out come from the configured connection, its password only when the URL names no user; the database defaults to `postgres`).',
    secret: true,
    schema: text,
  }),
  // Sidecar
  HEALTH_PORT: row({
    default: '8080',
    description: 'Port of /livez, /healthz, /metrics and the status page (`start`); 0 disables the server.',
    schema: integer(0, 65535),
  }),
  HEALTH_HOST: row({
    default: '0.0.0.0',
    description: 'Address the health server listens on.',
    schema: text,
  }),
  STATUS_PAGE: row({
    default: 'true',
    description:
      'Serve the read-only status page (`/`) and its JSON (`/api/status`) on the health server; `false`: both 404.',
    schema: boolean,
  }),
  NOTIFY_WEBHOOK_URL: row({
    description: 'JSON POST on each failure (and success with NOTIFY_ON_SUCCESS).',
    secret: true,
    schema: httpUrl,
  }),
  NOTIFY_ON_SUCCESS: row({
    default: 'false',
    description: 'Also notify successful backups.',
    schema: boolean,
  }),
  NOTIFY_TIMEOUT: row({
    default: '10',
    description: 'Seconds one notification attempt may take.',
    schema: seconds(1),
  }),
  NOTIFY_RETRIES: row({
    default: '3',
    description: 'Retries of a failed notification (with backoff).',
    schema: integer(0, 20),
  }),
  // Logging
  LOG_LEVEL: row({
    default: 'info',
    description: 'trace, debug, info, warn, error, fatal or silent.',
    schema: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']),
  }),
  LOG_FORMAT: row({
    default: 'auto',
    description: '`json`, `pretty`, or `auto` (pretty on a terminal, JSON otherwise).',
    schema: z.enum(['auto', 'json', 'pretty']),
  }),
} as const;

export type SettingName = keyof typeof SETTING_ROWS;
export type SettingValue<N extends SettingName> = z.output<(typeof SETTING_ROWS)[N]['schema']>;

/** A setting's default, parsed (for a logger before the configuration is loaded, say). */
export function defaultValue<N extends SettingName>(name: N): SettingValue<N> {
  const setting: Row<unknown> = SETTING_ROWS[name];
  if (setting.default === undefined) throw new Error(`${name} has no default`);
  return setting.schema.parse(setting.default) as SettingValue<N>;
}

/** The table as the README shows it. */
export const SETTINGS: readonly Setting[] = Object.entries(SETTING_ROWS).map(
  ([name, setting]: [string, Row<unknown>]) => {
    const shown = setting.shown ?? setting.default;
    return {
      name,
      ...(shown !== undefined ? { default: shown } : {}),
      description: setting.description,
      ...(setting.secret ? { secret: true } : {}),
    };
  },
);

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}
