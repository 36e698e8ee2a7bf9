/**
 * Two sidecars on one database (replicas): both migrate safely, they never back up at the same time
 * (advisory lock: the one that finds it taken skips and logs), both stay healthy, both stop with 0.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, dbEnv, dropDatabase } from '../../helpers/database.js';
import { freePort } from '../../../scripts/support/net.js';
import { eventually, spawnCli, type LogLine, type RunningCli } from '../../helpers/process.js';

const isMsg = (pattern: RegExp) => (line: LogLine) => typeof line.msg === 'string' && pattern.test(line.msg);

describe('two sidecars on one database', () => {
  let database: string;
  let directory: string;
  const sidecars: RunningCli[] = [];
  const ports: number[] = [];

  beforeAll(async () => {
    database = await createDatabase('cfdb_replicas');
    directory = mkdtempSync(join(tmpdir(), 'cfdb-replicas-'));
    for (let i = 0; i < 2; i++) {
      const port = await freePort();
      ports.push(port);
      sidecars.push(
        spawnCli(['start'], {
          ...dbEnv(database),
          BACKUP_DIR: directory,
          BACKUP_SCHEDULE: '* * * * * *',
          BACKUP_KEEP_LAST: '0',
          BACKUP_KEEP_DAYS: '0',
          BACKUP_KEEP_DAILY: '0',
          BACKUP_KEEP_WEEKLY: '0',
          BACKUP_KEEP_MONTHLY: '0',
          BACKUP_COMPRESSION_THREADS: '1',
          HEALTH_PORT: String(port),
          HEALTH_HOST: '127.0.0.1',
        }),
      );
    }
    await Promise.all(sidecars.map((s) => s.waitForLog(isMsg(/^health server listening/), 60_000)));
  });

  afterAll(async () => {
    for (const sidecar of sidecars) await sidecar.kill();
    if (database) await dropDatabase(database);
    if (directory) rmSync(directory, { recursive: true, force: true });
  });

  it('never back up at the same time: the second one skips while the first holds the lock', async () => {
    await eventually(
      () =>
        sidecars.some((s) => s.logs().some(isMsg(/another sidecar is backing up this database/)))
          ? true
          : undefined,
      30_000,
      'a locked skip',
    );
    await eventually(
      () =>
        sidecars.flatMap((s) => s.logs()).filter(isMsg(/^backup succeeded$/)).length >= 4 ? true : undefined,
      30_000,
      'four backups between them',
    );
    // From each process's own log: [start, end] of every backup it ran; no two intervals may intersect.
    const intervals = sidecars.flatMap((sidecar) => {
      const runs: Array<[number, number]> = [];
      let begun: number | undefined;
      for (const line of sidecar.logs()) {
        if (line.msg === 'backup starting') begun = Number(line.time);
        if (
          begun !== undefined &&
          (line.msg === 'backup succeeded' || String(line.msg).startsWith('backup failed'))
        ) {
          runs.push([begun, Number(line.time)]);
          begun = undefined;
        }
      }
      return runs;
    });
    intervals.sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < intervals.length; i++) {
      expect(intervals[i]?.[0], 'a backup began before the previous one ended').toBeGreaterThanOrEqual(
        intervals[i - 1]?.[1] ?? 0,
      );
    }
    const archives = readdirSync(directory).filter((f) => f.endsWith('.sql.gz'));
    expect(new Set(archives).size).toBe(archives.length);
    expect(archives.length).toBeGreaterThanOrEqual(4);
  });

  it('both are healthy and count their skips', async () => {
    for (const port of ports) {
      const health = await eventually(
        async () => {
          const response = await fetch(`http://127.0.0.1:${port}/healthz`);
          return response.status === 200 ? response : undefined;
        },
        15_000,
        `/healthz on ${port}`,
      );
      expect(((await health.json()) as { status: string }).status).toBe('ok');
    }
    const texts = await Promise.all(
      ports.map(async (port) => (await fetch(`http://127.0.0.1:${port}/metrics`)).text()),
    );
    expect(
      texts.some((text) => /^chatflow_db_backups_skipped_total\{reason="locked"\} [1-9]/m.test(text)),
    ).toBe(true);
  });

  it('both stop with exit 0 on SIGTERM', async () => {
    for (const sidecar of sidecars) sidecar.signal('SIGTERM');
    const results = await Promise.all(sidecars.map((s) => s.exited));
    expect(results.map((r) => r.code)).toEqual([0, 0]);
  });
});
