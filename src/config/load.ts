/**
 * The only module that reads `process.env`. It turns the environment into one typed, frozen Config,
 * validated once: every problem is reported together (ConfigError, exit code 2).
 *
 * Each setting is declared once in SETTINGS with its default and meaning; the README's configuration
 * table and docker-compose.yml are checked against this list by test/unit/config-docs.test.ts.
 */
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { validate as isValidCron } from 'node-cron';
import { z } from 'zod';
import { ConfigError } from '../lib/errors.js';

export interface Setting {
  name: string;
  /** The default as the README shows it; undefined means "unset". */
  default?: string;
  description: string;
  /** Accepts `<name>_FILE` (Docker secrets convention). */
  secret?: boolean;
}

/** The checkout (or the image's /app): the nearest folder above this module with a package.json. */
export const PACKAGE_ROOT = findPackageRoot(dirname(fileURLToPath(import.meta.url)));

export const SETTINGS: readonly Setting[] = [
  // Connection
  {
    name: 'DATABASE_URL',
    description:
      'postgres://user:password@host:port/database[?sslmode=...]. Its parts win over the PG* variables.',
    secret: true,
  },
  {
    name: 'PGHOST',
    default: 'localhost',
    description: 'Database host (used for parts DATABASE_URL does not give).',
  },
  { name: 'PGPORT', default: '5432', description: 'Database port.' },
  { name: 'PGUSER', default: 'postgres', description: 'Owner role: runs migrations, backups and restores.' },
  {
    name: 'PGPASSWORD',
    description: 'Password of PGUSER. Passed to pg_dump/psql in the environment, never in argv.',
    secret: true,
  },
  { name: 'PGDATABASE', default: 'value of PGUSER', description: 'The ChatFlow database.' },
  {
    name: 'PGSSLMODE',
    description: 'libpq sslmode: disable, allow, prefer, require, verify-ca, verify-full.',
  },
  {
    name: 'DB_WAIT_TIMEOUT',
    default: '60',
    description: 'Seconds to keep retrying the first connection (backoff) before exit code 4.',
  },
  // Migrations
  {
    name: 'MIGRATIONS_DIR',
    default: '<package>/migrations',
    description: 'Folder of NNN_name.sql migration files.',
  },
  {
    name: 'MIGRATE_LOCK_TIMEOUT',
    default: '600',
    description: 'Seconds a migrate waits for another one holding the migration lock.',
  },
  {
    name: 'MIGRATE_DDL_LOCK_TIMEOUT',
    default: '10',
    description:
      'Seconds a migration statement waits for a table lock (lock_timeout) before it is retried with backoff; a file may override it.',
  },
  {
    name: 'MIGRATE_STATEMENT_TIMEOUT',
    default: '3600',
    description:
      'Seconds one migration statement may run (statement_timeout, 0 = no limit); a file may override it.',
  },
  // Application role
  {
    name: 'APP_DB_USER',
    default: 'chatflow_user',
    description: 'The limited application role that `roles` creates or updates.',
  },
  {
    name: 'APP_DB_PASSWORD',
    description: 'Its password (required by `roles`, and by `start` to manage the role).',
    secret: true,
  },
  // Time
  { name: 'TZ', default: 'UTC', description: 'Time zone of backup names and of BACKUP_SCHEDULE.' },
  // Backups
  {
    name: 'BACKUP_DIR',
    default: '/backups (when S3_BUCKET is unset)',
    description:
      'Local backup directory. With S3_BUCKET set, local copies are made only if BACKUP_DIR is set.',
  },
  { name: 'S3_BUCKET', description: 'Bucket for backups; enables the S3 store.' },
  {
    name: 'S3_PREFIX',
    default: '',
    description: 'Key prefix, e.g. `prod/`; objects are <S3_PREFIX><name>.sql.gz.',
  },
  { name: 'S3_ENDPOINT', description: 'Endpoint URL for S3-compatible storage (MinIO, R2, B2, Ceph).' },
  { name: 'S3_REGION', default: 'us-east-1', description: 'Region (use `auto` for R2).' },
  {
    name: 'S3_FORCE_PATH_STYLE',
    default: 'false',
    description: 'Path-style addressing (MinIO, Ceph, s3rver).',
  },
  {
    name: 'AWS_ACCESS_KEY_ID',
    description: 'S3 credentials; unset uses the AWS SDK default chain (profiles, instance roles).',
    secret: true,
  },
  { name: 'AWS_SECRET_ACCESS_KEY', description: 'S3 secret key.', secret: true },
  { name: 'BACKUP_COMPRESSION_LEVEL', default: '4', description: 'gzip level 1-9.' },
  {
    name: 'BACKUP_COMPRESSION_THREADS',
    default: 'number of CPUs',
    description: 'Worker threads compressing gzip members in parallel.',
  },
  {
    name: 'BACKUP_PROGRESS_INTERVAL',
    default: '5',
    description: 'Seconds between progress log lines of a running backup or restore.',
  },
  {
    name: 'BACKUP_SCHEDULE',
    default: '0 2 * * *',
    description: 'Cron expression (node-cron, optional seconds field) of scheduled backups, in TZ.',
  },
  { name: 'BACKUP_ON_START', default: 'false', description: '`start` takes a backup right after migrating.' },
  // Retention (a backup is kept when any rule keeps it; 0 turns a rule off; all 0 keeps everything)
  { name: 'BACKUP_KEEP_LAST', default: '7', description: 'Keep the newest N automatic backups.' },
  { name: 'BACKUP_KEEP_DAYS', default: '0', description: 'Keep automatic backups younger than N days.' },
  {
    name: 'BACKUP_KEEP_DAILY',
    default: '7',
    description: 'Keep the newest backup of each of the last N days.',
  },
  {
    name: 'BACKUP_KEEP_WEEKLY',
    default: '4',
    description: 'Keep the newest backup of each of the last N ISO weeks.',
  },
  {
    name: 'BACKUP_KEEP_MONTHLY',
    default: '6',
    description: 'Keep the newest backup of each of the last N months.',
  },
  // Sidecar
  {
    name: 'HEALTH_PORT',
    default: '8080',
    description: 'Port of /healthz and /metrics (`start`); 0 disables the server.',
  },
  { name: 'HEALTH_HOST', default: '0.0.0.0', description: 'Address the health server listens on.' },
  {
    name: 'NOTIFY_WEBHOOK_URL',
    description: 'JSON POST on each failure (and success with NOTIFY_ON_SUCCESS).',
    secret: true,
  },
  { name: 'NOTIFY_ON_SUCCESS', default: 'false', description: 'Also notify successful backups.' },
  { name: 'NOTIFY_TIMEOUT', default: '10', description: 'Seconds one notification attempt may take.' },
  { name: 'NOTIFY_RETRIES', default: '3', description: 'Retries of a failed notification (with backoff).' },
  // Logging
  { name: 'LOG_LEVEL', default: 'info', description: 'trace, debug, info, warn, error, fatal or silent.' },
  {
    name: 'LOG_FORMAT',
    default: 'auto',
    description: '`json`, `pretty`, or `auto` (pretty on a terminal, JSON otherwise).',
  },
];

export interface DatabaseConfig {
  host: string;
  port: number;
  user: string;
  password: string | undefined;
  database: string;
  sslMode: string | undefined;
  waitTimeoutMs: number;
}

export interface S3Config {
  bucket: string;
  prefix: string;
  endpoint: string | undefined;
  region: string;
  forcePathStyle: boolean;
  /** Explicit credentials; undefined leaves the SDK's default chain in charge. */
  credentials: { accessKeyId: string; secretAccessKey: string } | undefined;
}

export interface RetentionConfig {
  keepLast: number;
  keepDays: number;
  keepDaily: number;
  keepWeekly: number;
  keepMonthly: number;
}

export interface Config {
  database: DatabaseConfig;
  migrations: {
    dir: string;
    lockTimeoutMs: number;
    ddlLockTimeoutMs: number;
    statementTimeoutMs: number;
  };
  appRole: { user: string; password: string | undefined };
  timeZone: string;
  backup: {
    localDir: string | undefined;
    s3: S3Config | undefined;
    compressionLevel: number;
    compressionThreads: number;
    progressIntervalMs: number;
    schedule: string;
    onStart: boolean;
  };
  retention: RetentionConfig;
  server: { healthPort: number; healthHost: string };
  notify: { webhookUrl: string | undefined; onSuccess: boolean; timeoutMs: number; retries: number };
  log: { level: string; format: 'auto' | 'json' | 'pretty' };
}

type Env = Readonly<Record<string, string | undefined>>;

/** Prefixes that are ours: an unknown variable under them is a typo worth an error. */
const OWN_PREFIXES = ['BACKUP_', 'MIGRATE_', 'S3_', 'NOTIFY_', 'HEALTH_', 'APP_DB_', 'DB_WAIT'];

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
const boolean = z
  .string()
  .trim()
  .toLowerCase()
  .pipe(z.enum(['true', 'false', '1', '0', 'yes', 'no'], 'must be true or false'))
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

/** Reads the environment (plus `_FILE` secrets) into a validated, frozen Config. */
export function loadConfig(env: Env = process.env, cpuCount = defaultCpuCount()): Readonly<Config> {
  const problems: string[] = [];
  const values = resolveValues(env, problems);

  function read<T>(name: string, schema: z.ZodType<T>, fallback: string | undefined): T | undefined {
    const raw = values.get(name) ?? fallback;
    if (raw === undefined) return undefined;
    const result = schema.safeParse(raw);
    if (result.success) return result.data;
    problems.push(`${name} ${result.error.issues[0]?.message ?? 'is invalid'} (got "${raw}")`);
    return undefined;
  }
  const text = (name: string, fallback?: string) => read(name, z.string(), fallback);
  const seconds = (name: string, fallback: string, min = 0) =>
    (read(name, integer(min), fallback) ?? Number(fallback)) * 1000;

  const url = parseDatabaseUrl(values.get('DATABASE_URL'), problems);
  const user = url.user ?? text('PGUSER', 'postgres') ?? 'postgres';
  const sslMode = read(
    'PGSSLMODE',
    z.enum(['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full']),
    url.sslMode,
  );
  const database: DatabaseConfig = {
    host: url.host ?? text('PGHOST', 'localhost') ?? 'localhost',
    port: url.port ?? read('PGPORT', integer(1, 65535), '5432') ?? 5432,
    user,
    password: url.password ?? values.get('PGPASSWORD'),
    database: url.database ?? text('PGDATABASE', user) ?? user,
    sslMode: url.sslMode ?? sslMode,
    waitTimeoutMs: seconds('DB_WAIT_TIMEOUT', '60'),
  };

  const timeZone = text('TZ', 'UTC') ?? 'UTC';
  if (!isTimeZone(timeZone))
    problems.push(`TZ must be an IANA time zone such as UTC or Europe/Berlin (got "${timeZone}")`);

  const s3 = readS3(values, problems, read);
  const localDir = values.get('BACKUP_DIR') ?? (s3 ? undefined : '/backups');

  const schedule = text('BACKUP_SCHEDULE', '0 2 * * *') ?? '0 2 * * *';
  if (!isValidCron(schedule))
    problems.push(`BACKUP_SCHEDULE must be a cron expression such as "0 2 * * *" (got "${schedule}")`);

  const webhookUrl = read(
    'NOTIFY_WEBHOOK_URL',
    z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }),
    undefined,
  );

  const config: Config = {
    database,
    migrations: {
      dir: text('MIGRATIONS_DIR', `${PACKAGE_ROOT}/migrations`) ?? `${PACKAGE_ROOT}/migrations`,
      lockTimeoutMs: seconds('MIGRATE_LOCK_TIMEOUT', '600'),
      ddlLockTimeoutMs: seconds('MIGRATE_DDL_LOCK_TIMEOUT', '10', 1),
      statementTimeoutMs: seconds('MIGRATE_STATEMENT_TIMEOUT', '3600'),
    },
    appRole: {
      user:
        read(
          'APP_DB_USER',
          z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a lower-case SQL identifier'),
          'chatflow_user',
        ) ?? 'chatflow_user',
      password: values.get('APP_DB_PASSWORD'),
    },
    timeZone,
    backup: {
      localDir,
      s3,
      compressionLevel: read('BACKUP_COMPRESSION_LEVEL', integer(1, 9), '4') ?? 4,
      compressionThreads: read('BACKUP_COMPRESSION_THREADS', integer(1, 64), String(cpuCount)) ?? cpuCount,
      progressIntervalMs: seconds('BACKUP_PROGRESS_INTERVAL', '5', 1),
      schedule,
      onStart: read('BACKUP_ON_START', boolean, 'false') ?? false,
    },
    retention: {
      keepLast: read('BACKUP_KEEP_LAST', integer(0), '7') ?? 7,
      keepDays: read('BACKUP_KEEP_DAYS', integer(0), '0') ?? 0,
      keepDaily: read('BACKUP_KEEP_DAILY', integer(0), '7') ?? 7,
      keepWeekly: read('BACKUP_KEEP_WEEKLY', integer(0), '4') ?? 4,
      keepMonthly: read('BACKUP_KEEP_MONTHLY', integer(0), '6') ?? 6,
    },
    server: {
      healthPort: read('HEALTH_PORT', integer(0, 65535), '8080') ?? 8080,
      healthHost: text('HEALTH_HOST', '0.0.0.0') ?? '0.0.0.0',
    },
    notify: {
      webhookUrl,
      onSuccess: read('NOTIFY_ON_SUCCESS', boolean, 'false') ?? false,
      timeoutMs: seconds('NOTIFY_TIMEOUT', '10', 1),
      retries: read('NOTIFY_RETRIES', integer(0, 20), '3') ?? 3,
    },
    log: {
      level:
        read('LOG_LEVEL', z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']), 'info') ??
        'info',
      format: read('LOG_FORMAT', z.enum(['auto', 'json', 'pretty']), 'auto') ?? 'auto',
    },
  };

  if (problems.length > 0) throw new ConfigError(problems);
  return deepFreeze(config);
}

/** The environment's own values, with `<NAME>_FILE` secrets read and unknown own variables reported. */
function resolveValues(env: Env, problems: string[]): Map<string, string> {
  const known = new Set(SETTINGS.map((s) => s.name));
  const values = new Map<string, string>();
  for (const setting of SETTINGS) {
    const direct = env[setting.name];
    const file = setting.secret ? env[`${setting.name}_FILE`] : undefined;
    if (direct !== undefined && file !== undefined) {
      problems.push(`${setting.name} and ${setting.name}_FILE are both set; keep one`);
    } else if (file !== undefined) {
      try {
        values.set(setting.name, readFileSync(file, 'utf8').replace(/\r?\n$/, ''));
      } catch (error) {
        problems.push(
          `${setting.name}_FILE points to "${file}", which cannot be read (${(error as Error).message})`,
        );
      }
    } else if (direct !== undefined) {
      values.set(setting.name, direct);
    }
  }
  for (const name of Object.keys(env)) {
    const base = name.endsWith('_FILE') ? name.slice(0, -5) : name;
    if (known.has(name) || (known.has(base) && SETTINGS.find((s) => s.name === base)?.secret)) continue;
    if (OWN_PREFIXES.some((prefix) => name.startsWith(prefix))) {
      problems.push(`${name} is not a chatflow-db setting (see the README's configuration table)`);
    }
  }
  return values;
}

interface UrlParts {
  host?: string;
  port?: number;
  user?: string;
  password?: string;
  database?: string;
  sslMode?: string;
}

function parseDatabaseUrl(raw: string | undefined, problems: string[]): UrlParts {
  if (raw === undefined || raw === '') return {};
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    problems.push('DATABASE_URL must look like postgres://user:password@host:5432/database');
    return {};
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    problems.push(`DATABASE_URL must start with postgres:// or postgresql:// (got "${url.protocol}//")`);
    return {};
  }
  const parts: UrlParts = {};
  if (url.hostname) parts.host = decodeURIComponent(url.hostname).replace(/^\[(.*)\]$/, '$1');
  if (url.port) parts.port = Number(url.port);
  if (url.username) parts.user = decodeURIComponent(url.username);
  if (url.password) parts.password = decodeURIComponent(url.password);
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (database) parts.database = database;
  const sslMode = url.searchParams.get('sslmode');
  if (sslMode) parts.sslMode = sslMode;
  return parts;
}

function readS3(
  values: Map<string, string>,
  problems: string[],
  read: <T>(name: string, schema: z.ZodType<T>, fallback: string | undefined) => T | undefined,
): S3Config | undefined {
  const bucket = values.get('S3_BUCKET');
  const accessKeyId = values.get('AWS_ACCESS_KEY_ID');
  const secretAccessKey = values.get('AWS_SECRET_ACCESS_KEY');
  const endpoint = read(
    'S3_ENDPOINT',
    z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }),
    undefined,
  );
  if (!bucket) {
    if (endpoint !== undefined || values.has('S3_PREFIX'))
      problems.push('S3_BUCKET is required when S3_ENDPOINT or S3_PREFIX is set');
    return undefined;
  }
  if ((accessKeyId === undefined) !== (secretAccessKey === undefined)) {
    problems.push(
      'AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together (or neither, for the SDK default chain)',
    );
  }
  const prefix = values.get('S3_PREFIX') ?? '';
  if (prefix.startsWith('/') || prefix.split('/').includes('..')) {
    problems.push(`S3_PREFIX must not start with "/" or contain ".." (got "${prefix}")`);
  }
  return {
    bucket,
    prefix,
    endpoint,
    region: values.get('S3_REGION') ?? 'us-east-1',
    forcePathStyle: read('S3_FORCE_PATH_STYLE', boolean, 'false') ?? false,
    credentials:
      accessKeyId !== undefined && secretAccessKey !== undefined
        ? { accessKeyId, secretAccessKey }
        : undefined,
  };
}

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

function defaultCpuCount(): number {
  return Math.max(1, availableParallelism());
}

function findPackageRoot(start: string): string {
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) return start;
  }
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
