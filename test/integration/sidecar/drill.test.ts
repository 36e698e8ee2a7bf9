/**
 * Scheduled restore drills in the real `chatflow-db start`: a drill of the newest backup runs on
 * DRILL_SCHEDULE and shows in /metrics and /healthz; a leftover scratch database is dropped at start; the
 * results are read back from the store after a restart; a failing drill turns /healthz red with a
 * `drill:` reason and is notified.
 */
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../helpers/cli.js';
import { adminQuery, dbEnv, uniqueName, withDb } from '../../helpers/database.js';
import { eventually, spawnCli, type RunningCli } from '../../helpers/process.js';
import { freePort } from '../../../scripts/support/net.js';

const database = uniqueName('cfdb_sdrill');
const dir = mkdtempSync(join(tmpdir(), 'cfdb-sidecar-drill-'));
const LEFTOVER = 'chatflow_drill_20000101_000000_abcdef';
const NEVER = '0 0 1 1 *';
let running: RunningCli | undefined;
let hook: { server: Server; url: string; received: Record<string, unknown>[] };

function env(port: number, extra: Record<string, string>): Record<string, string> {
  return {
    ...dbEnv(database),
    BACKUP_DIR: dir,
    HEALTH_PORT: String(port),
    HEALTH_HOST: '127.0.0.1',
    BACKUP_SCHEDULE: NEVER,
    NOTIFY_WEBHOOK_URL: hook.url,
    NOTIFY_RETRIES: '0',
    ...extra,
  };
}

async function get(port: number, path: string): Promise<{ status: number; text: string }> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(10_000) });
  return { status: response.status, text: await response.text() };
}

function metric(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? Number.NaN : Number(line.split(' ')[1]);
}

async function stop(): Promise<void> {
  if (!running) return;
  running.signal('SIGTERM');
  const result = await running.exited;
  running = undefined;
  expect(result.code, result.stderr.slice(-2000)).toBe(0);
}

beforeAll(async () => {
  await adminQuery(`CREATE DATABASE "${database}"`);
  await withDb(database, async (c) => {
    await c.query(readFileSync(join(REPO_ROOT, 'initdb', 'init-complete.sql'), 'utf8'));
    await c.query(
      "INSERT INTO users (username, email, password_hash, api_key, jwt_secret) SELECT 'u' || g, 'u' || g || '@x', 'h', 'k' || g, 's' FROM generate_series(1, 25) g",
    );
  });
  const received: Record<string, unknown>[] = [];
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      received.push(JSON.parse(body) as Record<string, unknown>);
      response.end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  hook = { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, received };
  await adminQuery(`DROP DATABASE IF EXISTS "${LEFTOVER}"`);
  await adminQuery(`CREATE DATABASE "${LEFTOVER}"`);
}, 60_000);

afterAll(async () => {
  await running?.kill();
  await adminQuery(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
  await adminQuery(`DROP DATABASE IF EXISTS "${LEFTOVER}" WITH (FORCE)`);
  await new Promise((resolve) => hook.server.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

describe('start: scheduled restore drills', () => {
  it('drills the newest backup on DRILL_SCHEDULE and exposes the metrics; drops leftovers at start', async () => {
    const port = await freePort();
    running = spawnCli(['start'], env(port, { BACKUP_ON_START: 'true', DRILL_SCHEDULE: '*/3 * * * * *' }));
    await running.waitForLog((line) => /restore drill of .* passed/.test(line.msg ?? ''), 100_000);
    const { rows } = await adminQuery('SELECT 1 FROM pg_database WHERE datname = $1', [LEFTOVER]);
    expect(rows).toEqual([]);
    const metrics = (await get(port, '/metrics')).text;
    expect(metric(metrics, 'chatflow_db_drill_last_success_timestamp_seconds')).toBeGreaterThan(
      Date.now() / 1000 - 120,
    );
    expect(metric(metrics, 'chatflow_db_drill_duration_seconds')).toBeGreaterThan(0);
    expect(metric(metrics, 'chatflow_db_drill_failures_total')).toBe(0);
    const health = await get(port, '/healthz');
    expect(health.status, health.text).toBe(200);
    expect((JSON.parse(health.text) as { drill: { last: { ok: boolean } } }).drill.last.ok).toBe(true);
    await stop();
  }, 150_000);

  it('reads the results back from the store after a restart', async () => {
    const port = await freePort();
    running = spawnCli(['start'], env(port, { DRILL_SCHEDULE: NEVER }));
    await running.waitForLog((line) => (line.msg ?? '').startsWith('health server listening'), 60_000);
    // The history is read from the store in the background, right after start.
    await eventually(
      async () => {
        const text = (await get(port, '/metrics')).text;
        return metric(text, 'chatflow_db_drill_last_success_timestamp_seconds') > 0 ? text : undefined;
      },
      20_000,
      'the drill history read back from the store',
    );
    const health = await get(port, '/healthz');
    expect(health.status, health.text).toBe(200);
    await stop();
  }, 90_000);

  it('a failing drill turns /healthz red with a drill: reason and is notified', async () => {
    // A newer backup whose archive lacks one row its (re-signed) manifest counted.
    const made = readdirSync(dir).find((file) => file.endsWith('.manifest.json')) ?? '';
    const from = made.slice(0, -'.manifest.json'.length);
    const sql = gunzipSync(readFileSync(join(dir, `${from}.sql.gz`))).toString('utf8');
    const gz = gzipSync(sql.replace(/(COPY public\.users [^\n]*\n)[^\n]*\n/, '$1'));
    writeFileSync(join(dir, 'tampered.sql.gz'), gz);
    const manifest = JSON.parse(readFileSync(join(dir, made), 'utf8')) as Record<string, unknown>;
    const signed = {
      ...manifest,
      name: 'tampered',
      archive: 'tampered.sql.gz',
      sha256: createHash('sha256').update(gz).digest('hex'),
      size: gz.length,
      createdAt: new Date().toISOString(),
    };
    writeFileSync(join(dir, 'tampered.manifest.json'), JSON.stringify(signed));

    const port = await freePort();
    running = spawnCli(['start'], env(port, { DRILL_SCHEDULE: '*/3 * * * * *' }));
    await running.waitForLog((line) => /drill check row-counts: FAILED/.test(line.msg ?? ''), 100_000);
    // The drill's outcome reaches the state just after its last log line.
    const reasons = await eventually(
      async () => {
        const response = await get(port, '/healthz');
        const said = (JSON.parse(response.text) as { reasons: string[] }).reasons;
        return response.status === 503 && said.some((r) => r.startsWith('drill: the last drill of tampered'))
          ? said
          : undefined;
      },
      30_000,
      '/healthz 503 with the drill reason',
    );
    expect(reasons.some((reason) => reason.startsWith('drill: the last drill of tampered'))).toBe(true);
    expect(metric((await get(port, '/metrics')).text, 'chatflow_db_drill_failures_total')).toBeGreaterThan(0);
    const notified = await eventually(
      () => hook.received.find((payload) => payload.event === 'drill.failed'),
      30_000,
      'the drill.failed webhook',
    );
    expect(String(notified.error)).toMatch(/public\.users: 24 rows restored, the manifest counted 25/);
    await stop();
  }, 150_000);
});
