/**
 * `npm run bench -- restore [--size MB] [--rounds N]`: the wall time of `chatflow-db restore` (stream from
 * the local store, sha256, gunzip, owner filter, psql into a new database, swap; the previous database is kept, as by default)
 * divided by that of `createdb && gunzip -c archive | psql` into a fresh database, for the same archive in the
 * same run. Target <= 1.10. The archive is made by `chatflow-db backup` from a generated dataset.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { benchEnv, CLI, numberOption, query as sql, server, timed } from './common.js';

/** A ChatFlow-shaped dataset of roughly `mb` MB of SQL: users, phone numbers, messages with text and jsonb. */
async function generate(database: string, mb: number): Promise<void> {
  const messages = Math.round(mb * 4200);
  await sql(
    `CREATE TABLE users (id serial PRIMARY KEY, username varchar(50) UNIQUE NOT NULL, email varchar(100) NOT NULL, created_at timestamptz DEFAULT now());
     CREATE TABLE messages (id serial PRIMARY KEY, user_id integer REFERENCES users ON DELETE CASCADE, to_number varchar(20) NOT NULL,
       content text, status varchar(20) DEFAULT 'sent', meta jsonb, created_at timestamptz DEFAULT now());
     CREATE INDEX idx_messages_user_id ON messages (user_id);
     CREATE INDEX idx_messages_created_at ON messages (created_at);
     INSERT INTO users (username, email) SELECT 'user' || g, 'user' || g || '@example.com' FROM generate_series(1, 1000) g;
     INSERT INTO messages (user_id, to_number, content, meta, created_at)
       SELECT 1 + g % 1000, '+49' || (1500000000 + g), 'Hello ' || md5(g::text) || ' your order ' || g || ' has shipped. ' || repeat('x', g % 120),
              jsonb_build_object('campaign', g % 50, 'tags', jsonb_build_array('a', 'b')), now() - g * interval '1 second'
       FROM generate_series(1, ${messages}) g;`,
    database,
  );
}

/** Drops the `<target>_before_restore_*` databases a restore kept. */
async function dropPrevious(target: string): Promise<void> {
  const kept = await sql<{ datname: string }>(
    `SELECT datname FROM pg_database WHERE starts_with(datname, '${target}_before_restore_')`,
  );
  for (const { datname } of kept) await sql(`DROP DATABASE "${datname}" WITH (FORCE)`);
}

export async function run(args: string[]): Promise<void> {
  const mb = numberOption(args, '--size', 300);
  const rounds = numberOption(args, '--rounds', 2);
  const tag = `cfdb_bench_restore_${Date.now().toString(36)}`;
  const source = `${tag}_src`;
  const target = `${tag}_target`;
  const dir = mkdtempSync(join(tmpdir(), 'cfdb-bench-restore-'));
  try {
    await sql(`CREATE DATABASE "${source}"`);
    await generate(source, mb);
    await timed(process.execPath, [CLI, 'backup', 'bench'], benchEnv(source, { BACKUP_DIR: dir }));
    const archive = join(dir, 'bench.sql.gz');
    await sql(`CREATE DATABASE "${target}"`);
    let best = { ours: Infinity, shell: Infinity };
    for (let round = 1; round <= rounds; round++) {
      // Like with like: the shell creates the database it restores into (as the old restore script did),
      // and ours runs as users run it, keeping the previous database; both drops happen off the clock.
      const fresh = `${tag}_shell_${round}`;
      const shell = await timed(
        'sh',
        [
          '-c',
          `createdb -T template0 '${fresh}' && gunzip -c '${archive}' | psql -X -q -v ON_ERROR_STOP=1 -d '${fresh}' > /dev/null`,
        ],
        benchEnv(fresh),
      );
      await sql(`DROP DATABASE "${fresh}"`);
      const ours = await timed(
        process.execPath,
        [CLI, 'restore', 'bench', '--target-db', target, '--no-migrate'],
        benchEnv(target, { BACKUP_DIR: dir }),
      );
      await dropPrevious(target);
      best = { ours: Math.min(best.ours, ours), shell: Math.min(best.shell, shell) };
      process.stdout.write(
        `restore round ${round}: chatflow-db restore ${ours.toFixed(2)} s, createdb + gunzip -c | psql ${shell.toFixed(2)} s\n`,
      );
    }
    const ratio = best.ours / best.shell;
    process.stdout.write(
      `restore (${(statSync(archive).size / 1048576).toFixed(1)} MiB .gz, ~${mb} MB SQL, best of ${rounds}): ` +
        `chatflow-db restore ${best.ours.toFixed(2)} s / createdb + gunzip -c | psql ${best.shell.toFixed(2)} s = ${ratio.toFixed(2)} ` +
        `(target <= 1.10) ${ratio <= 1.1 ? 'ok' : 'OVER TARGET'}\n`,
    );
  } finally {
    const client = new pg.Client({ ...server, database: 'postgres' });
    await client.connect();
    const { rows } = await client.query<{ datname: string }>(
      'SELECT datname FROM pg_database WHERE starts_with(datname, $1)',
      [tag],
    );
    for (const { datname } of rows) await client.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
    await client.end();
    rmSync(dir, { recursive: true, force: true });
  }
}
