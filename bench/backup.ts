/**
 * `npm run bench -- backup [--size 1GB] [--levels 1,3,6] [--keep]`: on one generated ChatFlow-like
 * database, the wall time of each way to take a backup divided by that of `pg_dump > /dev/null` (the
 * floor), the archive size against `gzip -6`, and the peak RSS (VmHWM) of the chatflow-db process.
 * Targets: chatflow-db <= 1.25 x the floor, <= 1.10 x the gzip -6 size, <= 150 MiB RSS.
 *
 * --size is the approximate plain-SQL dump size (MB by default; 1GB, 500MB also work); default 200MB.
 * The dataset is made once per size and kept as `cfdb_bench_<MB>` (dropped with --drop).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { startS3 } from '../test/helpers/s3.js';

const CLI = fileURLToPath(new URL('../../bin/chatflow-db.js', import.meta.url));
const server = {
  host: process.env.PGHOST ?? '127.0.0.1',
  port: Number(process.env.PGPORT ?? 5432),
  user: process.env.PGUSER ?? 'postgres',
  password: process.env.PGPASSWORD,
};

function option(args: string[], name: string): string | undefined {
  const inline = args.find((arg) => arg.startsWith(`${name}=`));
  if (inline !== undefined) return inline.slice(name.length + 1);
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : undefined;
}

function megabytes(text: string | undefined, fallback: number): number {
  const match = /^(\d+(?:\.\d+)?)\s*(gb|g|mb|m)?$/i.exec(text ?? '');
  if (!match) return fallback;
  return Math.round(Number(match[1]) * (/^g/i.test(match[2] ?? '') ? 1024 : 1));
}

async function query<T extends pg.QueryResultRow>(text: string, database = 'postgres'): Promise<T[]> {
  const client = new pg.Client({ ...server, database });
  await client.connect();
  try {
    return (await client.query<T>(text)).rows;
  } finally {
    await client.end();
  }
}

function env(database: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = {
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
  if (server.password) e.PGPASSWORD = server.password;
  return e;
}

interface Timed {
  seconds: number;
  /** Peak RSS of the process itself (VmHWM), in MiB; undefined for shell pipelines. */
  peakRssMiB?: number;
}

/** Runs a command; wall time, and the process's own VmHWM read until it exits. Throws on failure. */
function timed(
  command: string,
  args: string[],
  environment: NodeJS.ProcessEnv,
  watchRss = false,
): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(command, args, { env: environment, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let peakKiB = 0;
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr = (stderr + text).slice(-4000)));
    const poll = watchRss
      ? setInterval(() => {
          try {
            const hwm = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
            if (hwm) peakKiB = Math.max(peakKiB, Number(hwm[1]));
          } catch {
            // exited between polls
          }
        }, 20)
      : undefined;
    child.on('error', reject);
    child.on('close', (code) => {
      if (poll) clearInterval(poll);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (code !== 0) reject(new Error(`${command} ${args.join(' ')} exited ${code}: ${stderr}`));
      else resolve(watchRss ? { seconds, peakRssMiB: peakKiB / 1024 } : { seconds });
    });
  });
}

const sh = (script: string, environment: NodeJS.ProcessEnv): Promise<Timed> =>
  timed('sh', ['-c', `set -e; ${script}`], environment);

/** A ChatFlow-like dataset: users, conversations, messages with natural-ish text and jsonb metadata. */
async function ensureDataset(database: string, sizeMB: number): Promise<void> {
  const exists = await query<{ n: number }>(
    `SELECT count(*)::int AS n FROM pg_database WHERE datname = '${database}'`,
  );
  if (exists[0]?.n) return;
  // Built under another name and renamed when complete: an interrupted run never leaves a half dataset.
  const building = `${database}_building`;
  await query(`DROP DATABASE IF EXISTS ${building} WITH (FORCE)`);
  await query(`CREATE DATABASE ${building}`);
  // ~420 bytes of dump per message row.
  const messages = Math.max(1000, Math.round((sizeMB * 1024 * 1024) / 420));
  const users = Math.max(100, Math.round(messages / 200));
  const conversations = Math.max(100, Math.round(messages / 40));
  console.log(`bench backup: generating ${database} (${messages} messages)...`);
  await query(
    `
    CREATE TABLE users (id bigserial PRIMARY KEY, email text NOT NULL UNIQUE, display_name text NOT NULL,
      settings jsonb NOT NULL DEFAULT '{}', created_at timestamptz NOT NULL DEFAULT now());
    CREATE TABLE conversations (id bigserial PRIMARY KEY, owner_id bigint NOT NULL REFERENCES users(id), title text,
      model text NOT NULL, created_at timestamptz NOT NULL);
    CREATE TABLE messages (id bigserial PRIMARY KEY, conversation_id bigint NOT NULL REFERENCES conversations(id),
      role text NOT NULL, content text NOT NULL, tokens int NOT NULL, metadata jsonb, created_at timestamptz NOT NULL);
    CREATE INDEX messages_conversation ON messages (conversation_id, created_at);
    CREATE TEMP TABLE words AS SELECT row_number() OVER () - 1 AS i, w FROM unnest(string_to_array(
      'the a to of and in is it you that for on with as this be are was have not can will your we at or do an by ' ||
      'from if but what my so how about they all which would there one their has more when like just use our out ' ||
      'database query index table function error result value model token response request user server please ' ||
      'could explain example code python javascript postgres backup restore migration schema deploy container ' ||
      'performance memory latency stream buffer thanks help question answer summary list step first then next ' ||
      'because however therefore instead also only every each other some many much time data file line system',
      ' ')) AS w;
    INSERT INTO users (email, display_name, settings, created_at)
      SELECT 'user' || i || '@example.com', 'User ' || i, jsonb_build_object('theme', CASE WHEN i % 3 = 0 THEN 'dark' ELSE 'light' END, 'locale', 'en-US', 'beta', i % 7 = 0),
             now() - (i || ' minutes')::interval FROM generate_series(1, ${users}) i;
    INSERT INTO conversations (owner_id, title, model, created_at)
      SELECT 1 + i % ${users}, 'Conversation about ' || (SELECT w FROM words WHERE i = (g.i * 7) % 150), CASE WHEN i % 4 = 0 THEN 'gpt-4o' ELSE 'claude-3-5-sonnet' END,
             now() - (i || ' seconds')::interval FROM generate_series(1, ${conversations}) g(i);
    CREATE TEMP TABLE sentences AS SELECT s, (SELECT string_agg(w, ' ') FROM (SELECT w FROM words ORDER BY random() LIMIT 8 + s % 25) x) AS text
      FROM generate_series(0, 4095) s;
    INSERT INTO messages (conversation_id, role, content, tokens, metadata, created_at)
      SELECT 1 + i % ${conversations}, CASE WHEN i % 2 = 0 THEN 'user' ELSE 'assistant' END,
             a[1 + (i::bigint * 2654435761) % 4096] || '. ' || a[1 + (i::bigint * 40503) % 4096] || ' #' || i || '.',
             20 + i % 700, jsonb_build_object('latency_ms', i % 3000, 'finish_reason', 'stop', 'request_id', md5(i::text)),
             now() - (i || ' seconds')::interval
      FROM generate_series(1, ${messages}) i, (SELECT array_agg(text ORDER BY s) AS a FROM sentences) arr;
    ANALYZE;
  `,
    building,
  );
  await query(`ALTER DATABASE ${building} RENAME TO ${database}`);
}

interface Row {
  what: string;
  seconds: number;
  bytes?: number;
  rss?: number;
}

export async function run(args: string[]): Promise<void> {
  const sizeMB = megabytes(option(args, '--size'), 200);
  const levels = (option(args, '--levels') ?? '1,3,6').split(',').map(Number);
  const threads = option(args, '--threads');
  const database = `cfdb_bench_${sizeMB}`;
  await ensureDataset(database, sizeMB);
  const dir = mkdtempSync(join(tmpdir(), 'cfdb-bench-backup-'));
  const s3 = await startS3('bench');
  const rows: Row[] = [];
  try {
    const base = env(database, threads ? { BACKUP_COMPRESSION_THREADS: threads } : {});
    // Warm the cache so the first measurement is not penalised.
    await sh('pg_dump --no-password > /dev/null', base);

    const floor = await sh('pg_dump --no-password > /dev/null', base);
    rows.push({ what: 'pg_dump > /dev/null (floor)', seconds: floor.seconds });
    const gzipFile = join(dir, 'gzip6.sql.gz');
    const gzip6 = await sh(`pg_dump --no-password | gzip -6 > ${gzipFile}`, base);
    const gzipBytes = statSync(gzipFile).size;
    rows.push({ what: 'pg_dump | gzip -6 (old script)', seconds: gzip6.seconds, bytes: gzipBytes });
    const customFile = join(dir, 'custom.dump');
    const custom = await sh(`pg_dump --no-password -Fc > ${customFile}`, base);
    rows.push({ what: 'pg_dump -Fc', seconds: custom.seconds, bytes: statSync(customFile).size });

    let n = 0;
    for (const level of levels) {
      const name = `bench_local_${++n}`;
      const local = await timed(
        process.execPath,
        [CLI, 'backup', name],
        { ...base, BACKUP_DIR: dir, BACKUP_COMPRESSION_LEVEL: String(level) },
        true,
      );
      rows.push({
        what: `chatflow-db backup -> local (level ${level})`,
        seconds: local.seconds,
        bytes: statSync(join(dir, `${name}.sql.gz`)).size,
        rss: local.peakRssMiB,
      });
    }
    const s3Env = { ...base, ...s3.env, S3_PREFIX: 'bench/' };
    for (const level of [levels.includes(6) ? 6 : (levels[levels.length - 1] ?? 6)]) {
      const remote = await timed(
        process.execPath,
        [CLI, 'backup', `bench_s3_${level}`],
        { ...s3Env, BACKUP_COMPRESSION_LEVEL: String(level) },
        true,
      );
      rows.push({
        what: `chatflow-db backup -> S3 (s3rver, level ${level})`,
        seconds: remote.seconds,
        rss: remote.peakRssMiB,
      });
    }
    const both = await timed(
      process.execPath,
      [CLI, 'backup', 'bench_both'],
      { ...s3Env, BACKUP_DIR: dir },
      true,
    );
    rows.push({
      what: 'chatflow-db backup -> local + S3 (default level)',
      seconds: both.seconds,
      bytes: statSync(join(dir, 'bench_both.sql.gz')).size,
      rss: both.peakRssMiB,
    });

    const sqlBytes = Number(
      (await query<{ size: string }>(`SELECT pg_database_size('${database}')::text AS size`))[0]?.size ?? 0,
    );
    console.log(
      `\nbackup benchmark: ${database}, database ${(sqlBytes / 2 ** 20).toFixed(0)} MiB, gzip -6 archive ${(gzipBytes / 2 ** 20).toFixed(1)} MiB`,
    );
    console.log(
      `${'what'.padEnd(50)} ${'seconds'.padStart(8)} ${'x floor'.padStart(8)} ${'MiB'.padStart(8)} ${'x gzip6'.padStart(8)} ${'peak RSS'.padStart(9)}`,
    );
    for (const row of rows) {
      console.log(
        [
          row.what.padEnd(50),
          row.seconds.toFixed(2).padStart(8),
          (row.seconds / floor.seconds).toFixed(2).padStart(8),
          (row.bytes !== undefined ? (row.bytes / 2 ** 20).toFixed(1) : '').padStart(8),
          (row.bytes !== undefined ? (row.bytes / gzipBytes).toFixed(3) : '').padStart(8),
          (row.rss !== undefined ? `${row.rss.toFixed(0)} MiB` : '').padStart(9),
        ].join(' '),
      );
    }
    console.log('targets: chatflow-db <= 1.25 x floor, <= 1.10 x gzip -6 size, peak RSS <= 150 MiB\n');
  } finally {
    await s3.close();
    rmSync(dir, { recursive: true, force: true });
    if (args.includes('--drop')) await query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  }
}
