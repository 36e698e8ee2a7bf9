/** What every benchmark shares: the CLI under test, the server, options, SQL, timing. */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

export const CLI = fileURLToPath(new URL('../../bin/chatflow-db.js', import.meta.url));

/** The PostgreSQL server benchmarks run on (the PG* variables, else the test server). */
export const server = {
  host: process.env.PGHOST ?? '127.0.0.1',
  port: Number(process.env.PGPORT ?? 5432),
  user: process.env.PGUSER ?? 'postgres',
  password: process.env.PGPASSWORD,
};

/** The value of `--name value` or `--name=value`. */
export function textOption(args: string[], name: string): string | undefined {
  const inline = args.find((arg) => arg.startsWith(`${name}=`));
  if (inline !== undefined) return inline.slice(name.length + 1);
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : undefined;
}

/** A positive number option, or `fallback`. */
export function numberOption(args: string[], name: string, fallback: number): number {
  const value = Number(textOption(args, name) ?? fallback);
  return Number.isFinite(value) && value > 0 ? value : fallback;
}

export async function query<T extends pg.QueryResultRow>(text: string, database = 'postgres'): Promise<T[]> {
  const client = new pg.Client({ ...server, database });
  await client.connect();
  try {
    return (await client.query<T>(text)).rows;
  } finally {
    await client.end();
  }
}

/** A clean environment pointing chatflow-db (and psql/pg_dump) at `database`. */
export function benchEnv(database: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    PGHOST: server.host,
    PGPORT: String(server.port),
    PGUSER: server.user,
    PGDATABASE: database,
    LOG_LEVEL: 'warn',
    LOG_FORMAT: 'json',
    ...extra,
  };
  if (server.password) env.PGPASSWORD = server.password;
  // V8 flags (e.g. the image's) reach the measured chatflow-db process.
  if (process.env.NODE_OPTIONS) env.NODE_OPTIONS = process.env.NODE_OPTIONS;
  return env;
}

/** Wall time in seconds of one command; `okCodes` are the exit codes that count as success. */
export function timed(
  command: string,
  args: string[],
  environment: NodeJS.ProcessEnv,
  okCodes = [0],
): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(command, args, { env: environment, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-4000)));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== null && okCodes.includes(code)) resolve(Number(process.hrtime.bigint() - started) / 1e9);
      else reject(new Error(`${command} ${args.join(' ')} exited with ${code}: ${stderr}`));
    });
  });
}

export const median = (values: number[]): number =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;
