/**
 * `npm run bench -- migrate [--rounds N]`: wall times of the migration runner, process start included.
 *   - `chatflow-db status` and `chatflow-db migrate` with nothing pending (target <= 0.5 s each);
 *   - `chatflow-db migrate` of the whole chain (migrations/) on an empty database, divided by `psql -f` of the
 *     same files on another empty database in the same run (target <= 1.3). The baseline is the old manual
 *     process: one `psql -v ON_ERROR_STOP=1 -f` per file, in order. One psql for all files (`-f a -f b ...`),
 *     the floor of any client, is printed for reference.
 * Medians over the rounds; the two contenders alternate order each round.
 */
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = join(ROOT, 'bin', 'chatflow-db.js');
const MIGRATIONS = join(ROOT, 'migrations');
const server = {
  host: process.env.PGHOST ?? '127.0.0.1',
  port: Number(process.env.PGPORT ?? 5432),
  user: process.env.PGUSER ?? 'postgres',
  password: process.env.PGPASSWORD,
};

function rounds(args: string[]): number {
  const at = args.indexOf('--rounds');
  const value = at >= 0 ? Number(args[at + 1]) : 5;
  return Number.isInteger(value) && value > 0 ? value : 5;
}

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ ...server, database: 'postgres' });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

function env(database: string): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    PGHOST: server.host,
    PGPORT: String(server.port),
    PGUSER: server.user,
    PGDATABASE: database,
    MIGRATIONS_DIR: MIGRATIONS,
    LOG_LEVEL: 'warn',
    LOG_FORMAT: 'json',
  };
  if (server.password) e.PGPASSWORD = server.password;
  return e;
}

/** Wall time in seconds of one command; `okCodes` are the exit codes that count as success. */
function timed(
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

async function sequence(steps: (() => Promise<number>)[]): Promise<number> {
  let total = 0;
  for (const step of steps) total += await step();
  return total;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;
const seconds = (value: number) => `${value.toFixed(3)} s`;

export async function run(args: string[]): Promise<void> {
  const n = rounds(args);
  const files = readdirSync(MIGRATIONS)
    .filter((name) => /^\d+_.+\.sql$/.test(name))
    .sort()
    .map((name) => join(MIGRATIONS, name));
  const psqlArgs = ['-X', '-q', '-v', 'ON_ERROR_STOP=1'];
  const stamp = `${Date.now().toString(36)}_${process.pid}`;
  const databases: string[] = [];
  const fresh = async (label: string) => {
    const name = `cfdb_bench_migrate_${label}_${stamp}_${databases.length}`;
    await admin(`CREATE DATABASE "${name}"`);
    databases.push(name);
    return name;
  };

  const ours: number[] = [];
  const psqlPerFile: number[] = [];
  const psqlOnce: number[] = [];
  try {
    for (let round = 0; round < n; round++) {
      const contenders = [
        async () => ours.push(await timed(process.execPath, [CLI, 'migrate'], env(await fresh('cli')))),
        async () => {
          const database = await fresh('psql');
          psqlPerFile.push(
            await sequence(
              files.map((file) => () => timed('psql', [...psqlArgs, '-f', file], env(database))),
            ),
          );
        },
        async () => {
          const database = await fresh('psql1');
          psqlOnce.push(
            await timed('psql', [...psqlArgs, ...files.flatMap((file) => ['-f', file])], env(database)),
          );
        },
      ];
      if (round % 2 === 1) contenders.reverse();
      for (const contender of contenders) await contender();
    }

    // An up-to-date database: the first one chatflow-db migrated.
    const upToDate = env(databases[0] as string);
    const status: number[] = [];
    const noop: number[] = [];
    for (let round = 0; round < n; round++) {
      status.push(await timed(process.execPath, [CLI, 'status'], upToDate));
      noop.push(await timed(process.execPath, [CLI, 'migrate'], upToDate));
    }

    const chain = median(ours);
    const perFile = median(psqlPerFile);
    const once = median(psqlOnce);
    const lines = [
      `migrate benchmark: ${files.length} migration files, median of ${n} rounds`,
      `  chatflow-db status (up to date)               ${seconds(median(status))}   target <= 0.500 s`,
      `  chatflow-db migrate (nothing pending)         ${seconds(median(noop))}   target <= 0.500 s`,
      `  chatflow-db migrate, whole chain, empty db    ${seconds(chain)}`,
      `  psql -f per file, same files, empty db        ${seconds(perFile)}`,
      `  psql -f a -f b ... (one process, reference)   ${seconds(once)}`,
      `  ratio chatflow-db / psql -f per file          ${(chain / perFile).toFixed(2)}   target <= 1.30`,
      `  ratio chatflow-db / one psql (reference)      ${(chain / once).toFixed(2)}`,
    ];
    console.log(lines.join('\n'));
  } finally {
    for (const name of databases)
      await admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`).catch(() => undefined);
  }
}
