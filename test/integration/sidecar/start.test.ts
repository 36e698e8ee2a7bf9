/**
 * End to end: the real `chatflow-db start` against a throwaway database and s3rver (behind a proxy the
 * test can take down or slow down), on a schedule of every second.
 */
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { createServer as createHttpServer, type Server } from 'node:http';
import {
  connect as netConnect,
  createServer as createNetServer,
  type Server as NetServer,
  type Socket,
} from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  adminQuery,
  createDatabase,
  dbEnv,
  dropDatabase,
  dropRole,
  uniqueName,
} from '../../helpers/database.js';
import { freePort } from '../../../scripts/support/net.js';
import { eventually, spawnCli, type LogLine, type RunningCli } from '../../helpers/process.js';
import { startS3, testS3Client, type TestS3 } from '../../../scripts/support/s3rver.js';

/** A TCP proxy in front of s3rver: `up`, `down` (connections reset) or `slow` (each chunk delayed). */
interface Proxy {
  port: number;
  set(mode: 'up' | 'down' | 'slow', delayMs?: number): void;
  close(): Promise<void>;
}

async function startProxy(targetPort: number): Promise<Proxy> {
  let mode: 'up' | 'down' | 'slow' = 'up';
  let delayMs = 0;
  const sockets = new Set<Socket>();
  const server: NetServer = createNetServer((client) => {
    if (mode === 'down') return void client.destroy();
    const upstream = netConnect(targetPort, '127.0.0.1');
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.on('data', (chunk: Buffer) => {
      const forward = (): void => void (upstream.destroyed || upstream.write(chunk));
      if (mode === 'slow') setTimeout(forward, delayMs);
      else forward();
    });
    client.on('end', () => upstream.end());
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    set(next, delay = 0) {
      mode = next;
      delayMs = delay;
      if (next === 'down') for (const socket of sockets) socket.destroy();
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

interface Hook {
  url: string;
  received: Array<Record<string, unknown>>;
  close(): Promise<void>;
}

async function startWebhook(): Promise<Hook> {
  const received: Array<Record<string, unknown>> = [];
  const server: Server = createHttpServer((request, response) => {
    let body = '';
    request.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
    request.on('end', () => {
      received.push({ path: request.url, ...(JSON.parse(body) as Record<string, unknown>) });
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook/TOKEN-abc123`,
    received,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

const isMsg = (pattern: RegExp) => (line: LogLine) => typeof line.msg === 'string' && pattern.test(line.msg);

describe('chatflow-db start (sidecar, end to end)', () => {
  let database: string;
  let s3: TestS3;
  let proxy: Proxy;
  let hook: Hook;
  let sidecar: RunningCli;
  let healthUrl: string;
  let s3Client: S3Client;
  const role = uniqueName('cfdb_start_app');

  const get = async (path: string): Promise<{ status: number; text: string }> => {
    const response = await fetch(`${healthUrl}${path}`, { signal: AbortSignal.timeout(10_000) });
    return { status: response.status, text: await response.text() };
  };
  const objects = async (): Promise<string[]> => {
    const listed = await s3Client.send(new ListObjectsV2Command({ Bucket: s3.bucket }));
    return (listed.Contents ?? []).map((o) => o.Key ?? '').sort();
  };
  const succeeded = (): string[] =>
    sidecar
      .logs()
      .filter(isMsg(/^backup succeeded$/))
      .map((l) => String(l.name));
  const metric = (text: string, name: string): number => {
    const match = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
    return match ? Number(match[1]) : NaN;
  };

  beforeAll(async () => {
    database = await createDatabase('cfdb_start');
    s3 = await startS3('chatflow-start');
    proxy = await startProxy(Number(new URL(s3.endpoint).port));
    hook = await startWebhook();
    s3Client = testS3Client(s3.endpoint);
    const port = await freePort();
    healthUrl = `http://127.0.0.1:${port}`;
    sidecar = spawnCli(['start'], {
      ...dbEnv(database),
      ...s3.env,
      S3_ENDPOINT: `http://127.0.0.1:${proxy.port}`,
      BACKUP_SCHEDULE: '* * * * * *',
      BACKUP_ON_START: 'true',
      BACKUP_KEEP_LAST: '1',
      BACKUP_KEEP_DAYS: '0',
      BACKUP_KEEP_DAILY: '0',
      BACKUP_KEEP_WEEKLY: '0',
      BACKUP_KEEP_MONTHLY: '0',
      BACKUP_COMPRESSION_THREADS: '1',
      HEALTH_PORT: String(port),
      HEALTH_HOST: '127.0.0.1',
      NOTIFY_WEBHOOK_URL: hook.url,
      NOTIFY_TIMEOUT: '2',
      NOTIFY_RETRIES: '1',
      TZ: 'UTC',
      APP_DB_USER: role,
      APP_DB_PASSWORD: 'app-password-for-the-test',
    });
    await sidecar.waitForLog(isMsg(/^health server listening/), 60_000);
  });

  afterAll(async () => {
    try {
      await sidecar?.kill();
      await hook?.close();
      await proxy?.close();
      s3Client?.destroy();
      await s3?.close();
      if (database) await dropDatabase(database);
    } finally {
      await dropRole(role);
    }
  });

  it('applied the application role and migrated before serving', async () => {
    const { rows } = await adminQuery<{ rolcanlogin: boolean }>(
      'SELECT rolcanlogin FROM pg_roles WHERE rolname = $1',
      [role],
    );
    expect(rows).toEqual([{ rolcanlogin: true }]);
    expect(sidecar.stderr()).not.toContain('app-password-for-the-test');
    // BACKUP_ON_START: the first backup does not wait for the schedule.
    await sidecar.waitForLog((line) => line.msg === 'backup starting' && line.reason === 'start', 10_000);
  });

  it('backs up every second into S3 and prunes to BACKUP_KEEP_LAST=1', async () => {
    await eventually(() => (succeeded().length >= 3 ? true : undefined), 30_000, 'three successful backups');
    await sidecar.waitForLog(isMsg(/^deleted chatflow_backup_/), 10_000);
    const names = succeeded();
    const stored = await objects();
    // Every stored backup is one the sidecar reported, complete (archive + manifest); older ones are gone.
    const storedNames = [...new Set(stored.map((key) => key.replace(/\.(sql\.gz|manifest\.json)$/, '')))];
    expect(storedNames.length).toBeGreaterThanOrEqual(1);
    expect(storedNames.length).toBeLessThanOrEqual(2);
    for (const name of storedNames) {
      expect(names).toContain(name);
    }
    expect(storedNames).not.toContain(names[0]);
    const shape = new RegExp(`^chatflow_backup_\\d{8}_\\d{6}_${database}\\.(sql\\.gz|manifest\\.json)$`);
    expect(stored.every((key) => shape.test(key))).toBe(true);
  });

  it('is healthy and counts the backups in /metrics', async () => {
    const health = await eventually(
      async () => {
        const response = await get('/healthz');
        return response.status === 200 ? response : undefined;
      },
      15_000,
      '/healthz 200',
    );
    expect(JSON.parse(health.text)).toMatchObject({
      status: 'ok',
      database: 'ok',
      pendingMigrations: 0,
      reasons: [],
    });

    const metrics = await get('/metrics');
    expect(metrics.status).toBe(200);
    const done = succeeded().length;
    expect(metric(metrics.text, 'chatflow_db_backups_total')).toBeGreaterThanOrEqual(Math.min(done, 3));
    expect(metric(metrics.text, 'chatflow_db_backup_failures_total')).toBe(0);
    expect(metric(metrics.text, 'chatflow_db_migrations_pending')).toBe(0);
    expect(metric(metrics.text, 'chatflow_db_backup_last_size_bytes')).toBeGreaterThan(0);
    expect(metric(metrics.text, 'chatflow_db_backup_last_success_timestamp_seconds')).toBeGreaterThan(
      Date.now() / 1000 - 60,
    );
    expect(metrics.text).toContain('chatflow_db_process_resident_memory_bytes');
    expect((await get('/nope')).status).toBe(404);
  });

  it('turns 503 and notifies the webhook when S3 stops answering', async () => {
    proxy.set('down');
    await sidecar.waitForLog(isMsg(/^backup failed/), 30_000);
    const health = await eventually(
      async () => {
        const response = await get('/healthz');
        return response.status === 503 ? response : undefined;
      },
      15_000,
      '/healthz 503',
    );
    const body = JSON.parse(health.text) as { status: string; reasons: string[] };
    expect(body.status).toBe('unhealthy');
    expect(body.reasons.join('\n')).toMatch(/^backup: the last backup .* failed/m);

    const notification = await eventually(
      () => hook.received.find((n) => n.event === 'backup.failed'),
      15_000,
      'a failure notification',
    );
    expect(notification).toMatchObject({
      source: 'chatflow-db',
      status: 'failure',
      database,
      path: '/hook/TOKEN-abc123',
    });
    expect(String(notification.error)).toMatch(/Nothing was stored|S3|ECONNRESET|socket/i);

    const metrics = await get('/metrics');
    expect(metric(metrics.text, 'chatflow_db_backup_failures_total')).toBeGreaterThanOrEqual(1);
    // The webhook URL carries a token: it never reaches the logs.
    expect(sidecar.stderr()).not.toContain('TOKEN-abc123');
  });

  it('recovers, skips overlapping runs, and on SIGTERM aborts the backup in flight and exits 0 leaving no partial object', async () => {
    proxy.set('up');
    const before = succeeded().length;
    await eventually(
      () => (succeeded().length > before ? true : undefined),
      30_000,
      'a backup after S3 came back',
    );
    await eventually(
      async () => ((await get('/healthz')).status === 200 ? true : undefined),
      15_000,
      '/healthz 200 again',
    );

    // Slow S3 down so that a backup is still uploading when the next second fires, and when SIGTERM comes.
    proxy.set('slow', 3000);
    const skipsBefore = sidecar.logs().filter(isMsg(/skipped: the previous backup is still running/)).length;
    await eventually(
      () =>
        sidecar.logs().filter(isMsg(/skipped: the previous backup is still running/)).length > skipsBefore
          ? true
          : undefined,
      20_000,
      'an overlap skip',
    );
    const metrics = await get('/metrics');
    expect(metrics.text).toMatch(/^chatflow_db_backups_skipped_total\{reason="overlap"\} [1-9]/m);
    // Signal right after the next backup logs "started": its archive is then uploading, and each S3 request
    // takes 3 s. (A gauge of 1 is not enough: it also covers the prune after a backup, which is not a
    // backup to abort and, through the slow proxy, outlasts the shutdown's 6 s wait.)
    const seen = new Set(sidecar.logs());
    await sidecar.waitForLog(
      (line) => !seen.has(line) && isMsg(/^backup chatflow_backup_\S+ started$/)(line),
      30_000,
    );
    const storedBefore = succeeded();

    const signalledAt = Date.now();
    sidecar.signal('SIGTERM');
    const result = await sidecar.exited;
    expect(Date.now() - signalledAt).toBeLessThan(10_000);
    expect(result.code).toBe(0);
    expect(sidecar.logs().some(isMsg(/^backup aborted by shutdown/)), sidecar.stderr().slice(-6000)).toBe(
      true,
    );
    expect(sidecar.logs().some(isMsg(/^stopped$/))).toBe(true);

    proxy.set('up');
    const stored = await objects();
    const archives = stored.filter((k) => k.endsWith('.sql.gz')).map((k) => k.replace(/\.sql\.gz$/, ''));
    const manifests = stored
      .filter((k) => k.endsWith('.manifest.json'))
      .map((k) => k.replace(/\.manifest\.json$/, ''));
    // No archive without its manifest (or the reverse), and nothing the sidecar did not report as a success.
    expect(archives).toEqual(manifests);
    for (const name of archives) expect(storedBefore.concat(succeeded())).toContain(name);
  });
});
