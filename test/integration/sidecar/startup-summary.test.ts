/**
 * `start` says at start-up what it is going to do (issues 10 and 11): one info line with the database
 * (no password), the stores (no credentials), the schedule with its next three runs in TZ, retention,
 * the deadline, and which migrations it applied or "up to date". The six-field trap becomes visible:
 * `0 2 * * * *` (seconds first) runs every hour at minute 02, and the next runs say so.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, dropDatabase, testServer } from '../../helpers/database.js';
import { spawnCli, type LogLine } from '../../helpers/process.js';
import { startS3, type TestS3 } from '../../../scripts/support/s3rver.js';

const SUMMARY = /^start-up: /;

describe('chatflow-db start: the start-up summary', () => {
  let database: string;
  let directory: string;
  let s3: TestS3;
  let env: Record<string, string>;

  async function summaryOfOneStart(): Promise<{ line: LogLine; stderr: string }> {
    const sidecar = spawnCli(['start'], env);
    try {
      const line = await sidecar.waitForLog((l) => SUMMARY.test(String(l.msg)), 60_000);
      await sidecar.waitForLog((l) => String(l.msg).startsWith('backups scheduled'), 10_000);
      sidecar.signal('SIGTERM');
      expect((await sidecar.exited).code).toBe(0);
      expect(sidecar.logs().filter((l) => SUMMARY.test(String(l.msg)))).toHaveLength(1);
      return { line, stderr: sidecar.stderr() };
    } finally {
      await sidecar.kill();
    }
  }

  beforeAll(async () => {
    database = await createDatabase('cfdb_summary');
    directory = mkdtempSync(join(tmpdir(), 'cfdb-summary-'));
    s3 = await startS3('chatflow-summary');
    const password = testServer.password ?? 'not-the-password';
    env = {
      DATABASE_URL: `postgres://${testServer.user}:${encodeURIComponent(password)}@${testServer.host}:${testServer.port}/${database}`,
      ...s3.env,
      AWS_SECRET_ACCESS_KEY: 'SECRET-KEY-never-logged',
      S3_PREFIX: 'prod/',
      BACKUP_DIR: directory,
      BACKUP_SCHEDULE: '0 2 * * * *',
      TZ: 'Europe/Berlin',
      BACKUP_KEEP_LAST: '3',
      BACKUP_KEEP_DAILY: '0',
      HEALTH_PORT: '0',
    };
  });

  afterAll(async () => {
    await s3?.close();
    if (database) await dropDatabase(database);
    if (directory) rmSync(directory, { recursive: true, force: true });
  });

  it('names the database, stores, next three runs in TZ, retention and the migrations applied', async () => {
    const { line, stderr } = await summaryOfOneStart();
    expect(line.level).toBe(30);
    expect(line.database).toEqual({
      host: testServer.host,
      port: testServer.port,
      name: database,
      user: testServer.user,
    });
    const endpoint = new URL(s3.env.S3_ENDPOINT ?? 'http://x');
    expect(line.stores).toEqual([
      { kind: 'local', directory },
      { kind: 's3', bucket: s3.bucket, prefix: 'prod/', endpoint: endpoint.host },
    ]);
    // Six fields, seconds first: second 0 of minute 2 of EVERY hour, not 02:00 once a day.
    const schedule = line.schedule as { expression: string; timeZone: string; nextRuns: string[] };
    expect(schedule.expression).toBe('0 2 * * * *');
    expect(schedule.timeZone).toBe('Europe/Berlin');
    expect(schedule.nextRuns).toHaveLength(3);
    const runs = schedule.nextRuns.map((iso) => new Date(iso));
    for (const run of runs) {
      expect(run.getUTCMinutes()).toBe(2);
      expect(run.getUTCSeconds()).toBe(0);
    }
    expect(runs[1]!.getTime() - runs[0]!.getTime()).toBe(3_600_000);
    expect(runs[2]!.getTime() - runs[1]!.getTime()).toBe(3_600_000);
    expect(runs[0]!.getTime()).toBeGreaterThan(Date.now() - 60_000);
    expect(runs[0]!.getTime()).toBeLessThanOrEqual(Date.now() + 3_600_000);
    // The readable message carries the same runs, as wall-clock times in TZ.
    const berlin = (date: Date): string =>
      new Intl.DateTimeFormat('sv-SE', {
        timeZone: 'Europe/Berlin',
        year: 'numeric',
        month: '2-digit',
        day: '2-digit',
        hour: '2-digit',
        minute: '2-digit',
      }).format(date);
    const message = String(line.msg);
    expect(message).toContain(`next runs ${runs.map(berlin).join(', ')} (Europe/Berlin)`);
    expect(message).toContain(`database ${database} on ${testServer.host}:${testServer.port}`);
    expect(message).toContain(`s3://${s3.bucket}/prod/ (${endpoint.host})`);
    expect(line.retention).toMatchObject({ keepLast: 3, keepDaily: 0 });
    expect(line.backupTimeoutSeconds).toBe(21_600);
    const migrations = line.migrations as { applied: string[] };
    expect(migrations.applied.length).toBeGreaterThan(0);
    expect(migrations.applied[0]).toMatch(/^001_.*\.sql$/);
    expect(message).toMatch(new RegExp(`migrations: applied ${migrations.applied.length} \\(001_`));
    // No secret anywhere in the output.
    expect(stderr).not.toContain('SECRET-KEY-never-logged');
    if (testServer.password) expect(stderr).not.toContain(testServer.password);
  });

  it('says "up to date" when there was nothing to migrate', async () => {
    const { line } = await summaryOfOneStart();
    expect(line.migrations).toEqual({ applied: [] });
    expect(String(line.msg)).toContain('migrations: up to date');
  });
});
