/**
 * The only module that reads `process.env`. It turns the environment into one typed, frozen Config,
 * validated once: every problem is reported together (ConfigError, exit code 2). Names, defaults and
 * schemas come from the settings table (settings.ts); this module only assembles them.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { ConfigError } from '../lib/errors.js';
import { SETTING_ROWS, SETTINGS, type SettingName, type SettingValue } from './settings.js';

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
    /** BACKUP_TIMEOUT: a backup running longer is stopped and failed. */
    timeoutMs: number;
  };
  retention: RetentionConfig;
  server: { healthPort: number; healthHost: string; statusPage: boolean };
  notify: { webhookUrl: string | undefined; onSuccess: boolean; timeoutMs: number; retries: number };
  log: { level: string; format: 'auto' | 'json' | 'pretty' };
}

type Env = Readonly<Record<string, string | undefined>>;

/** Prefixes that are ours: an unknown variable under them is a typo worth an error. */
const OWN_PREFIXES = ['BACKUP_', 'MIGRATE_', 'S3_', 'NOTIFY_', 'HEALTH_', 'APP_DB_', 'DB_WAIT'];

/** Reads the environment (plus `_FILE` secrets) into a validated, frozen Config. */
export function loadConfig(env: Env = process.env, cpuCount = defaultCpuCount()): Readonly<Config> {
  const problems: string[] = [];
  const values = resolveValues(env, problems);

  /** The variable's value (or `fallback`, or the table's default) parsed; a problem is reported once. */
  function read<N extends SettingName>(name: N, fallback?: string): SettingValue<N> | undefined {
    const setting: { default?: string; schema: { safeParse(raw: string): unknown } } = SETTING_ROWS[name];
    const parse = (raw: string) =>
      setting.schema.safeParse(raw) as
        | { success: true; data: SettingValue<N> }
        | { success: false; error: { issues: { message: string }[] } };
    const given = values.get(name) ?? fallback;
    const raw = given ?? setting.default;
    if (raw === undefined) return undefined;
    const result = parse(raw);
    if (result.success) return result.data;
    problems.push(`${name} ${result.error.issues[0]?.message ?? 'is invalid'} (got "${raw}")`);
    // Go on with the default so that every other problem is found too; the ConfigError ends the load.
    const byDefault =
      given !== undefined && setting.default !== undefined ? parse(setting.default) : undefined;
    return byDefault?.success ? byDefault.data : undefined;
  }
  /** `read` for a setting that always has a value (a default in the table, or `fallback`). */
  function value<N extends SettingName>(name: N, fallback?: string): SettingValue<N> {
    const result = read(name, fallback);
    if (result === undefined && problems.length === 0) throw new Error(`${name} has no default`);
    return result as SettingValue<N>;
  }

  const url = parseDatabaseUrl(values.get('DATABASE_URL'), problems);
  const user = url.user ?? value('PGUSER');
  const sslMode = read('PGSSLMODE', url.sslMode);
  const database: DatabaseConfig = {
    host: url.host ?? value('PGHOST'),
    port: url.port ?? value('PGPORT'),
    user,
    password: url.password ?? values.get('PGPASSWORD'),
    database: url.database ?? value('PGDATABASE', user),
    sslMode: url.sslMode ?? sslMode,
    waitTimeoutMs: value('DB_WAIT_TIMEOUT'),
  };

  const timeZone = value('TZ');
  const s3 = readS3(values, problems, read, value);
  const localDir = values.get('BACKUP_DIR') ?? (s3 ? undefined : SETTING_ROWS.BACKUP_DIR.default);
  const schedule = value('BACKUP_SCHEDULE');
  const webhookUrl = read('NOTIFY_WEBHOOK_URL');

  const config: Config = {
    database,
    migrations: {
      dir: value('MIGRATIONS_DIR'),
      lockTimeoutMs: value('MIGRATE_LOCK_TIMEOUT'),
      ddlLockTimeoutMs: value('MIGRATE_DDL_LOCK_TIMEOUT'),
      statementTimeoutMs: value('MIGRATE_STATEMENT_TIMEOUT'),
    },
    appRole: {
      user: value('APP_DB_USER'),
      password: values.get('APP_DB_PASSWORD'),
    },
    timeZone,
    backup: {
      localDir,
      s3,
      compressionLevel: value('BACKUP_COMPRESSION_LEVEL'),
      compressionThreads: value('BACKUP_COMPRESSION_THREADS', String(cpuCount)),
      progressIntervalMs: value('BACKUP_PROGRESS_INTERVAL'),
      schedule,
      onStart: value('BACKUP_ON_START'),
      timeoutMs: value('BACKUP_TIMEOUT'),
    },
    retention: {
      keepLast: value('BACKUP_KEEP_LAST'),
      keepDays: value('BACKUP_KEEP_DAYS'),
      keepDaily: value('BACKUP_KEEP_DAILY'),
      keepWeekly: value('BACKUP_KEEP_WEEKLY'),
      keepMonthly: value('BACKUP_KEEP_MONTHLY'),
    },
    server: {
      healthPort: value('HEALTH_PORT'),
      healthHost: value('HEALTH_HOST'),
      statusPage: value('STATUS_PAGE'),
    },
    notify: {
      webhookUrl,
      onSuccess: value('NOTIFY_ON_SUCCESS'),
      timeoutMs: value('NOTIFY_TIMEOUT'),
      retries: value('NOTIFY_RETRIES'),
    },
    log: {
      level: value('LOG_LEVEL'),
      format: value('LOG_FORMAT'),
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
  read: <N extends SettingName>(name: N) => SettingValue<N> | undefined,
  value: <N extends SettingName>(name: N) => SettingValue<N>,
): S3Config | undefined {
  const bucket = values.get('S3_BUCKET');
  const accessKeyId = values.get('AWS_ACCESS_KEY_ID');
  const secretAccessKey = values.get('AWS_SECRET_ACCESS_KEY');
  const endpoint = read('S3_ENDPOINT');
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
    region: value('S3_REGION'),
    forcePathStyle: value('S3_FORCE_PATH_STYLE'),
    credentials:
      accessKeyId !== undefined && secretAccessKey !== undefined
        ? { accessKeyId, secretAccessKey }
        : undefined,
  };
}

function defaultCpuCount(): number {
  return Math.max(1, availableParallelism());
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
