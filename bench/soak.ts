/**
 * `npm run bench -- soak [--count=N] [--warmup=N]`: the sidecar (`chatflow-db start`) takes N scheduled
 * backups (default 200) of a small database at one per second, to a local directory and to s3rver,
 * pruning after each. It samples the process's resident memory (VmRSS) and open file descriptors
 * (/proc/PID/fd) after every backup and reports:
 *   - RSS growth after warm-up (median of the last 20 samples minus median of the first 20 after the
 *     warm-up backups; target <= 10 MiB),
 *   - fd growth over the same windows (target 0: nothing leaks per run),
 *   - overlaps: two backups in flight at once (target 0; the logs must alternate started/outcome),
 *   - failures (target 0).
 * Linux only (/proc). Not a test: it never gates CI.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../scripts/support/net.js';
import { startS3 } from '../scripts/support/s3rver.js';
import { benchEnv, CLI, median, numberOption, query as sql } from './common.js';

const MiB = 1024 * 1024;

interface Sample {
  backup: number;
  rss: number;
  fds: number;
}

function sample(pid: number, backup: number): Sample | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rssKb = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? NaN);
    return { backup, rss: rssKb * 1024, fds: readdirSync(`/proc/${pid}/fd`).length };
  } catch {
    return undefined;
  }
}

export async function run(args: string[]): Promise<void> {
  const count = numberOption(args, '--count', 200);
  const warmup = numberOption(args, '--warmup', Math.min(50, Math.floor(count / 4)));
  const window = Math.max(1, Math.min(20, Math.floor((count - warmup) / 3)));
  const database = `cfdb_soak_${Date.now().toString(36)}`;
  const work = mkdtempSync(join(tmpdir(), 'cfdb-soak-'));
  const s3 = await startS3('chatflow-soak');

  await sql(`CREATE DATABASE "${database}"`);
  try {
    const port = await freePort();
    const env = benchEnv(database, {
      ...s3.env,
      BACKUP_DIR: join(work, 'local'),
      BACKUP_SCHEDULE: '* * * * * *',
      BACKUP_KEEP_LAST: '5',
      BACKUP_KEEP_DAYS: '0',
      BACKUP_KEEP_DAILY: '0',
      BACKUP_KEEP_WEEKLY: '0',
      BACKUP_KEEP_MONTHLY: '0',
      HEALTH_PORT: String(port),
      HEALTH_HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      TZ: 'UTC',
    });
    // A small database: the ChatFlow schema (migrated first, so the migrator sees an empty database)
    // plus a few thousand rows of text.
    await new Promise<void>((resolve, reject) => {
      const migrate = spawn(process.execPath, [CLI, 'migrate'], { env, stdio: 'ignore' });
      migrate.on('error', reject);
      migrate.on('close', (code) =>
        code === 0 ? resolve() : reject(new Error(`migrate exited with ${code}`)),
      );
    });
    await sql(
      `CREATE TABLE soak_notes (id serial PRIMARY KEY, body text NOT NULL);
       INSERT INTO soak_notes (body) SELECT md5(i::text) || repeat('x', 100) FROM generate_series(1, 5000) i;`,
      database,
    );
    const child = spawn(process.execPath, [CLI, 'start'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    const pid = child.pid ?? -1;
    const samples: Sample[] = [];
    let succeeded = 0;
    let failed = 0;
    let overlapSkips = 0;
    let inFlight = 0;
    let overlaps = 0;
    let lastError = '';
    let partial = '';
    const began = Date.now();
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    const done = new Promise<void>((resolve, reject) => {
      void exited.then((code) => reject(new Error(`start exited early with ${code}: ${lastError}`)));
      // One backup per second, with room for skipped ticks; a soak that stalls is a failure, not a hang.
      const limit = setTimeout(
        () => reject(new Error(`only ${succeeded}/${count} backups after ${count * 3 + 60} s: ${lastError}`)),
        (count * 3 + 60) * 1000,
      );
      limit.unref();
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
        partial += chunk;
        const lines = partial.split('\n');
        partial = lines.pop() ?? '';
        for (const text of lines) {
          let line: { msg?: string; level?: number };
          try {
            line = JSON.parse(text) as { msg?: string; level?: number };
          } catch {
            continue;
          }
          const msg = line.msg ?? '';
          if ((line.level ?? 0) >= 50) lastError = msg;
          if (msg === 'backup starting') {
            inFlight += 1;
            if (inFlight > 1) overlaps += 1;
          } else if (msg === 'backup succeeded' || msg.startsWith('backup failed')) {
            inFlight = Math.max(0, inFlight - 1);
            if (msg === 'backup succeeded') succeeded += 1;
            else failed += 1;
          } else if (msg.startsWith('scheduled backup skipped: the previous')) {
            overlapSkips += 1;
          } else if (msg.startsWith('prune of') && msg.endsWith('done') && text.includes(`"store":"s3://`)) {
            // Sample after retention ran on both stores: the quiet point between two runs.
            const s = sample(pid, succeeded);
            if (s) samples.push(s);
            if (succeeded % 25 === 0) {
              process.stderr.write(
                `soak: ${succeeded}/${count} backups, RSS ${((s?.rss ?? 0) / MiB).toFixed(1)} MiB\n`,
              );
            }
            if (succeeded >= count) resolve();
          }
        }
      });
    });
    try {
      await done;
    } finally {
      child.kill('SIGTERM');
    }
    const exitCode = await exited;
    const elapsed = (Date.now() - began) / 1000;

    const after = samples.filter((s) => s.backup > warmup);
    const first = after.slice(0, window);
    const last = after.slice(-window);
    const rssGrowth = median(last.map((s) => s.rss)) - median(first.map((s) => s.rss));
    const fdGrowth = median(last.map((s) => s.fds)) - median(first.map((s) => s.fds));
    const rssValues = after.map((s) => s.rss);
    const report = {
      backups: succeeded,
      failed,
      overlaps,
      overlapSkips,
      seconds: Number(elapsed.toFixed(1)),
      rssStartMiB: Number((median(first.map((s) => s.rss)) / MiB).toFixed(1)),
      rssEndMiB: Number((median(last.map((s) => s.rss)) / MiB).toFixed(1)),
      rssGrowthMiB: Number((rssGrowth / MiB).toFixed(1)),
      rssRangeMiB: Number(((Math.max(...rssValues) - Math.min(...rssValues)) / MiB).toFixed(1)),
      fdsStart: median(first.map((s) => s.fds)),
      fdsEnd: median(last.map((s) => s.fds)),
      fdGrowth,
      exitCode,
    };
    const verdict = {
      rss: rssGrowth <= 10 * MiB,
      fds: fdGrowth <= 0,
      overlap: overlaps === 0,
      failures: failed === 0,
      exit: exitCode === 0,
    };
    process.stderr.write('\n');
    console.log(
      `soak: ${succeeded} scheduled backups in ${report.seconds} s (warm-up ${warmup}, windows of ${window})`,
    );
    console.log(
      `  RSS    ${report.rssStartMiB} -> ${report.rssEndMiB} MiB (growth ${report.rssGrowthMiB} MiB, range ${report.rssRangeMiB} MiB; target growth <= 10 MiB) ${verdict.rss ? 'ok' : 'FAIL'}`,
    );
    console.log(
      `  fds    ${report.fdsStart} -> ${report.fdsEnd} (growth ${fdGrowth}; target 0) ${verdict.fds ? 'ok' : 'FAIL'}`,
    );
    console.log(
      `  overlap ${overlaps} concurrent runs, ${overlapSkips} skipped ticks; failures ${failed}; exit ${exitCode} ${verdict.overlap && verdict.failures && verdict.exit ? 'ok' : 'FAIL'}`,
    );
    console.log(JSON.stringify({ bench: 'soak', ...report, pass: Object.values(verdict).every(Boolean) }));
  } finally {
    await sql(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`).catch(() => undefined);
    await s3.close().catch(() => undefined);
    rmSync(work, { recursive: true, force: true });
  }
}
