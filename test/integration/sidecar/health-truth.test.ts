/**
 * /healthz tells the truth across hangs and restarts (issue 9):
 * - a backup that hangs (pg_dump waiting for a table lock another session holds) turns /healthz red once
 *   the next slot is due, and BACKUP_TIMEOUT then stops it: pg_dump gone, nothing stored, counted as a
 *   failure and notified; /livez stays 200 throughout;
 * - freshness comes from the stores: a sidecar started with no scheduled backup of its database in the
 *   store (only another database's, and a named one) is red at once, and green after a restart when the
 *   store holds a fresh scheduled backup made before it.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../helpers/cli.js';
import { adminQuery, createDatabase, dbEnv, dropDatabase, testServer } from '../../helpers/database.js';
import { eventually, spawnCli, type LogLine, type RunningCli } from '../../helpers/process.js';
import { freePort } from '../../../scripts/support/net.js';

const isMsg = (pattern: RegExp) => (line: LogLine) => typeof line.msg === 'string' && pattern.test(line.msg);

interface Health {
  status: number;
  body: { status: string; reasons: string[]; backup: Record<string, unknown> };
}

async function health(port: number, path = '/healthz'): Promise<Health> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(10_000) });
  return { status: response.status, body: (await response.json()) as Health['body'] };
}

/** Polls /healthz until `accept` holds; returns that answer. */
function healthUntil(
  port: number,
  accept: (h: Health) => boolean,
  what: string,
  ms = 30_000,
): Promise<Health> {
  return eventually(
    async () => {
      const answer = await health(port);
      return accept(answer) ? answer : undefined;
    },
    ms,
    what,
  );
}

const noRetention = {
  BACKUP_KEEP_LAST: '0',
  BACKUP_KEEP_DAYS: '0',
  BACKUP_KEEP_DAILY: '0',
  BACKUP_KEEP_WEEKLY: '0',
  BACKUP_KEEP_MONTHLY: '0',
  BACKUP_COMPRESSION_THREADS: '1',
  TZ: 'UTC',
};

describe('a hung backup: red past its slot, stopped by BACKUP_TIMEOUT', () => {
  let database: string;
  let directory: string;
  let locker: pg.Client | undefined;
  let sidecar: RunningCli | undefined;
  let hook: Server;
  const received: Array<Record<string, unknown>> = [];
  let port: number;

  beforeAll(async () => {
    database = await createDatabase('cfdb_health_hang');
    directory = mkdtempSync(join(tmpdir(), 'cfdb-health-hang-'));
    hook = createServer((request, response) => {
      let body = '';
      request.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      request.on('end', () => {
        received.push(JSON.parse(body) as Record<string, unknown>);
        response.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
    // Schema first, then a session holds an ACCESS EXCLUSIVE lock on a table: pg_dump, which takes ACCESS
    // SHARE locks on every table before dumping, waits for it forever (it has no lock timeout).
    const migrated = await runCli(['migrate'], dbEnv(database));
    expect(migrated.code, migrated.stderr).toBe(0);
    locker = new pg.Client({ ...testServer, database });
    await locker.connect();
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE public.users IN ACCESS EXCLUSIVE MODE');
    port = await freePort();
    sidecar = spawnCli(['start'], {
      ...dbEnv(database),
      ...noRetention,
      BACKUP_DIR: directory,
      BACKUP_SCHEDULE: '*/3 * * * * *',
      BACKUP_TIMEOUT: '12',
      HEALTH_PORT: String(port),
      HEALTH_HOST: '127.0.0.1',
      NOTIFY_WEBHOOK_URL: `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`,
      NOTIFY_RETRIES: '0',
    });
    await sidecar.waitForLog(isMsg(/^health server listening/), 60_000);
  });

  afterAll(async () => {
    await sidecar?.kill();
    await locker?.end().catch(() => undefined);
    await new Promise((resolve) => hook?.close(resolve));
    if (database) await dropDatabase(database);
    if (directory) rmSync(directory, { recursive: true, force: true });
  });

  it('turns /healthz red while the backup runs past the next slot; /livez stays 200', async () => {
    const started = await sidecar!.waitForLog((line) => line.msg === 'backup starting', 20_000);
    const red = await healthUntil(
      port,
      (h) => h.status === 503 && h.body.reasons.some((r) => /still running past the slot/.test(r)),
      'red while the backup hangs',
      15_000,
    );
    expect(red.body.reasons.join('\n')).toContain(`the backup due at ${String(started.due)}`);
    expect(red.body.backup.running).toBe(true);
    // Still the same run: nothing finished yet.
    expect(sidecar!.logs().some(isMsg(/^backup (succeeded|failed)/))).toBe(false);
    const live = await health(port, '/livez');
    expect(live).toEqual({ status: 200, body: { status: 'alive' } });
  });

  it('BACKUP_TIMEOUT stops it: pg_dump gone, nothing stored, a failure counted and notified', async () => {
    const failed = await sidecar!.waitForLog(isMsg(/^backup failed/), 30_000);
    expect(String(failed.msg)).toMatch(/longer than BACKUP_TIMEOUT \(12 s\)/);
    expect(String(failed.msg)).toContain('Nothing was stored');
    // pg_dump no longer waits for the lock (it was killed, its session ended).
    await eventually(
      async () => {
        const { rows } = await adminQuery<{ n: number }>(
          "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock'",
          [database],
        );
        return rows[0]?.n === 0 ? true : undefined;
      },
      10_000,
      'no session waiting for the lock',
    );
    expect(readdirSync(directory)).toEqual([]);
    const red = await healthUntil(port, (h) => h.status === 503, 'red after the timeout');
    expect(red.body.reasons.join('\n')).toMatch(/^backup: the last backup .* failed: .*BACKUP_TIMEOUT/m);
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(metrics).toMatch(/^chatflow_db_backup_failures_total [1-9]/m);
    const notified = await eventually(
      () => received.find((n) => n.event === 'backup.failed'),
      10_000,
      'a failure notification',
    );
    expect(String(notified.error)).toContain('BACKUP_TIMEOUT');
  });

  it('turns green once the lock is gone and a backup is stored; stops with 0', async () => {
    await locker!.query('ROLLBACK');
    await sidecar!.waitForLog(isMsg(/^backup succeeded$/), 30_000);
    await healthUntil(port, (h) => h.status === 200, 'green after a stored backup');
    sidecar!.signal('SIGTERM');
    expect((await sidecar!.exited).code).toBe(0);
  });
});

describe('freshness is judged from the stores, across restarts', () => {
  let database: string;
  let other: string;
  let directory: string;
  const running: RunningCli[] = [];

  /** A sidecar on a yearly schedule: its last slot (1 January) is due, and none fires during the test. */
  async function startSidecar(): Promise<{ sidecar: RunningCli; port: number }> {
    const port = await freePort();
    const sidecar = spawnCli(['start'], {
      ...dbEnv(database),
      ...noRetention,
      BACKUP_DIR: directory,
      BACKUP_SCHEDULE: '0 0 1 1 *',
      HEALTH_PORT: String(port),
      HEALTH_HOST: '127.0.0.1',
    });
    running.push(sidecar);
    await sidecar.waitForLog(isMsg(/^health server listening/), 60_000);
    return { sidecar, port };
  }

  async function stop(sidecar: RunningCli): Promise<void> {
    sidecar.signal('SIGTERM');
    expect((await sidecar.exited).code).toBe(0);
  }

  beforeAll(async () => {
    database = await createDatabase('cfdb_health_store');
    other = await createDatabase('cfdb_health_other');
    directory = mkdtempSync(join(tmpdir(), 'cfdb-health-store-'));
    expect((await runCli(['migrate'], dbEnv(database))).code).toBe(0);
    // What must not count: a fresh scheduled-style backup of another database in the same store, and a
    // named (manual) backup of this one.
    const foreign = await runCli(['backup'], { ...dbEnv(other), BACKUP_DIR: directory });
    expect(foreign.code, foreign.stderr).toBe(0);
    const named = await runCli(['backup', 'before_upgrade'], { ...dbEnv(database), BACKUP_DIR: directory });
    expect(named.code, named.stderr).toBe(0);
  });

  afterAll(async () => {
    for (const sidecar of running) await sidecar.kill();
    for (const name of [database, other]) if (name) await dropDatabase(name);
    if (directory) rmSync(directory, { recursive: true, force: true });
  });

  it('is red from the start when the store holds no scheduled backup of this database', async () => {
    const { sidecar, port } = await startSidecar();
    const answer = await health(port);
    expect(answer.status).toBe(503);
    expect(answer.body.reasons.join('\n')).toMatch(
      /^backup: no complete scheduled backup of this database in the stores, and the slot due at \d{4}-01-01T00:00:00.000Z has none$/m,
    );
    expect(answer.body.backup.newestStored).toBeNull();
    expect((await health(port, '/livez')).status).toBe(200);
    await stop(sidecar);
  });

  it('is green after a restart when the store holds a fresh scheduled backup made before it', async () => {
    const made = await runCli(['backup'], { ...dbEnv(database), BACKUP_DIR: directory });
    expect(made.code, made.stderr).toBe(0);
    const name = made.stdout.trim();
    const { sidecar, port } = await startSidecar();
    const answer = await health(port);
    expect(answer.body.reasons).toEqual([]);
    expect(answer.status).toBe(200);
    expect(answer.body.backup.newestStored).toMatchObject({ name, location: directory });
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(metrics).toMatch(/^chatflow_db_backup_newest_stored_timestamp_seconds [1-9]/m);
    await stop(sidecar);
  });
});
