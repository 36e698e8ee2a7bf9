/**
 * `npm run bench -- drill [--size MB] [--rounds N]`: the wall time of `chatflow-db drill` (restore into a
 * scratch database, row counts, migrations, schema fingerprint against a fresh init-complete.sql after the
 * same pg_dump trip, clean-up) divided by that of `chatflow-db restore` of the same backup (restore into a
 * new database, migrations, swap) in the same run. Target <= 1.15: the row counts come from the dump
 * stream, not from extra passes. The backup is taken by `chatflow-db backup` of backup.ts's ChatFlow
 * dataset (`cfdb_bench_<MB>`, made once and kept). Also prints the drill's own restore time.
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureDataset } from './backup.js';
import { benchEnv, CLI, numberOption, query as sql, timed } from './common.js';

export async function run(args: string[]): Promise<void> {
  const mb = numberOption(args, '--size', 200);
  const rounds = numberOption(args, '--rounds', 2);
  const source = `cfdb_bench_${mb}`;
  await ensureDataset(source, mb);
  const tag = `cfdb_bench_drill_${Date.now().toString(36)}`;
  const target = `${tag}_target`;
  const dir = mkdtempSync(join(tmpdir(), 'cfdb-bench-drill-'));
  try {
    await timed(process.execPath, [CLI, 'backup', 'bench'], benchEnv(source, { BACKUP_DIR: dir }));
    const restoreEnv = benchEnv(target, { BACKUP_DIR: dir });
    let best = { drill: Infinity, restore: Infinity, drillRestore: Infinity };
    for (let round = 1; round <= rounds; round++) {
      const restore = await timed(
        process.execPath,
        [CLI, 'restore', 'bench', '--target-db', target],
        restoreEnv,
      );
      // Off the clock: the target (and the previous database a later round's swap keeps).
      const made = await sql<{ datname: string }>(
        `SELECT datname FROM pg_database WHERE starts_with(datname, '${target}')`,
      );
      for (const { datname } of made) await sql(`DROP DATABASE "${datname}" WITH (FORCE)`);
      const drill = await timed(
        process.execPath,
        [CLI, 'drill', 'bench'],
        benchEnv(source, { BACKUP_DIR: dir }),
      );
      const record = JSON.parse(readFileSync(join(dir, 'bench.drill.json'), 'utf8')) as {
        ok: boolean;
        restoreSeconds: number;
        checks: { name: string; seconds: number }[];
      };
      if (!record.ok)
        throw new Error(`the drill of the benchmark backup failed: ${JSON.stringify(record.checks)}`);
      best = {
        drill: Math.min(best.drill, drill),
        restore: Math.min(best.restore, restore),
        drillRestore: Math.min(best.drillRestore, record.restoreSeconds),
      };
      process.stdout.write(
        `drill round ${round}: chatflow-db drill ${drill.toFixed(2)} s (its restore ${record.restoreSeconds.toFixed(2)} s; ` +
          `${record.checks.map((c) => `${c.name} ${c.seconds.toFixed(2)} s`).join(', ')}), chatflow-db restore ${restore.toFixed(2)} s\n`,
      );
    }
    const ratio = best.drill / best.restore;
    process.stdout.write(
      `drill (${(statSync(join(dir, 'bench.sql.gz')).size / 1048576).toFixed(1)} MiB .gz, ~${mb} MB SQL, best of ${rounds}): ` +
        `chatflow-db drill ${best.drill.toFixed(2)} s / chatflow-db restore ${best.restore.toFixed(2)} s = ${ratio.toFixed(2)} ` +
        `(target <= 1.15) ${ratio <= 1.15 ? 'ok' : 'OVER TARGET'}\n`,
    );
  } finally {
    const made = await sql<{ datname: string }>(
      `SELECT datname FROM pg_database WHERE starts_with(datname, '${tag}')`,
    );
    for (const { datname } of made) await sql(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
    rmSync(dir, { recursive: true, force: true });
  }
}
