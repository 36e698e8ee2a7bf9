/**
 * `npm run bench -- migrate [--rounds N]`: wall times of the migration runner, process start included.
 *   - `chatflow-db status` and `chatflow-db migrate` with nothing pending (target <= 0.5 s each);
 *   - `chatflow-db migrate` of the whole chain (migrations/) on an empty database, divided by `psql -f` of the
 *     same files on another empty database in the same run (target <= 1.3). The baseline is the old manual
 *     process: one `psql -v ON_ERROR_STOP=1 -f` per file, in order. One psql for all files (`-f a -f b ...`),
 *     the floor of any client, is printed for reference.
 * Medians over the rounds; the two contenders alternate order each round.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchEnv, CLI, median, numberOption, query as admin, timed } from './common.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MIGRATIONS = join(ROOT, 'migrations');

async function sequence(steps: (() => Promise<number>)[]): Promise<number> {
  let total = 0;
  for (const step of steps) total += await step();
  return total;
}

const seconds = (value: number) => `${value.toFixed(3)} s`;

export async function run(args: string[]): Promise<void> {
  const n = Math.round(numberOption(args, '--rounds', 5));
  const env = (database: string) => benchEnv(database, { MIGRATIONS_DIR: MIGRATIONS });
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
