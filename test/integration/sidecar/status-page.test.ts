/**
 * The status page of a real sidecar (`chatflow-db start`) whose stores already hold backups made with the
 * CLI: GET /api/status and GET / show those backups (names, sizes, stores, the drill record), only this
 * database's, nothing secret, read-only; STATUS_PAGE=false turns both off.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import type { Status } from '../../../src/sidecar/status-model.js';
import {
  makeHistory,
  startSidecar,
  type RunningSidecar,
  type StatusHistory,
} from '../../helpers/status-sidecar.js';

describe('status page of a real sidecar', () => {
  let history: StatusHistory;
  let sidecar: RunningSidecar;

  beforeAll(async () => {
    history = await makeHistory();
    sidecar = await startSidecar(history);
  }, 120_000);

  afterAll(async () => {
    await sidecar?.process.kill();
    await history?.close();
  });

  const get = (path: string, init: RequestInit = {}) =>
    fetch(`${sidecar.url}${path}`, { ...init, signal: AbortSignal.timeout(15_000) });

  it('GET /api/status: the backups in the stores, newest first, with sizes, stores and the drill', async () => {
    const response = await get('/api/status');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    const status = (await response.json()) as Status;
    expect(status.format).toBe('chatflow-db-status/1');
    expect(status.database).toBe(history.database);
    expect(status.timeZone).toBe('Europe/Berlin');
    // The other database's backup shares the stores but is not this database's.
    expect(status.backups.total).toBe(3);
    expect(status.backups.items.map((item) => item.name)).toEqual([...history.names].reverse());
    for (const item of status.backups.items) {
      const manifest = JSON.parse(readFileSync(join(history.dir, `${item.name}.manifest.json`), 'utf8')) as {
        size: number;
        createdAt: string;
        durationMs: number;
      };
      expect(item.size).toBe(manifest.size);
      expect(item.createdAt).toBe(new Date(manifest.createdAt).toISOString());
      expect(item.durationSeconds).toBe(manifest.durationMs / 1000);
      expect(item.stores).toEqual(['local', `s3:${history.s3.bucket}`]);
      expect(item.complete).toBe(true);
      expect(item.verified.result).toBe('not-run');
    }
    const sizes = status.backups.items.map((item) => item.size);
    expect(sizes[0]).toBeGreaterThan(sizes[2]!);
    // status-2's record is read; status-1's is malformed: no drill information, no error.
    const drilled = status.backups.items.find((item) => item.name === 'status-2');
    expect(drilled?.drill).toMatchObject({ ok: true, durationSeconds: 7.5, failedChecks: [] });
    expect(status.backups.items.find((item) => item.name === 'status-1')?.drill).toBeNull();
    expect(status.trend.backups.map((point) => point.name)).toEqual(history.names);
    expect(status.trend.drills).toHaveLength(1);

    expect(status.verdict).toMatchObject({ ok: true, problems: [] });
    expect(status.verdict.lastBackupAt).toBe(status.backups.items[0]!.createdAt);
    expect(status.schedule.backupCron).toBe('0 3 * * *');
    expect(Date.parse(status.schedule.nextBackup ?? '')).toBeGreaterThan(Date.now());
    expect(status.schedule.nextPrune).toBe(status.schedule.nextBackup);
    expect(status.migrations).toMatchObject({ known: true, pending: [] });
    if (status.migrations.known) {
      expect(status.migrations.applied).toBeGreaterThan(0);
      expect(status.migrations.latest).toMatch(/\.sql$/);
    }
    expect(status.versions.chatflowDb).toMatch(/^\d+\.\d+\.\d+/);
    expect(status.versions.server).toMatch(/^\d+/);
    expect(status.versions.pgDump).toMatch(/^\d+/);
  });

  it('shows nothing secret: no endpoint, no key, no local path', async () => {
    const json = await (await get('/api/status')).text();
    const html = await (await get('/')).text();
    for (const text of [json, html]) {
      expect(text).not.toContain('S3RVER');
      expect(text).not.toContain(history.s3.endpoint);
      expect(text).not.toContain(new URL(history.s3.endpoint).port);
      expect(text).not.toContain(history.dir);
      expect(text).not.toContain(history.otherBackup);
    }
  });

  it('GET / is HTML with a CSP that forbids scripts and outside assets, the verdict and a row per backup', async () => {
    const response = await get('/');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const csp = response.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toMatch(/script-src/);
    expect(csp).toContain("frame-ancestors 'none'");
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    const html = await response.text();
    expect(html).toContain('All fine');
    expect(html).not.toMatch(/<script|<form|<button|https?:\/\//i);
    for (const name of history.names) expect(html).toContain(name);
    expect(html.match(/<tr class="backup/g)).toHaveLength(3);
  });

  it('GET / and /api/status are gzipped for a client that accepts gzip, plain for one that does not', async () => {
    const raw = (path: string, acceptEncoding?: string) =>
      new Promise<{ headers: Record<string, unknown>; body: Buffer }>((resolve, reject) => {
        const headers = acceptEncoding === undefined ? {} : { 'accept-encoding': acceptEncoding };
        httpGet(`${sidecar.url}${path}`, { headers, timeout: 15_000 }, (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () => resolve({ headers: response.headers, body: Buffer.concat(chunks) }));
        }).on('error', reject);
      });
    for (const path of ['/', '/api/status']) {
      const plain = await raw(path);
      expect(plain.headers['content-encoding']).toBeUndefined();
      expect(plain.headers.vary).toBe('accept-encoding');
      const zipped = await raw(path, 'br;q=1, gzip;q=0.8');
      expect(zipped.headers['content-encoding']).toBe('gzip');
      expect(zipped.body.length).toBeLessThan(plain.body.length);
      // The same document apart from the backups' ages, which move with the clock.
      const withoutAges = (text: string) => text.replace(/\d+(\.\d+)?/g, '0');
      expect(withoutAges(gunzipSync(zipped.body).toString())).toBe(withoutAges(plain.body.toString()));
      const refused = await raw(path, 'gzip;q=0, identity');
      expect(refused.headers['content-encoding']).toBeUndefined();
    }
    // Small answers are not worth compressing.
    expect((await raw('/livez', 'gzip')).headers['content-encoding']).toBeUndefined();
  });

  it('?page=N is read (out of range is clamped), HEAD has no body, other methods are refused', async () => {
    const clamped = (await (await get('/api/status?page=7')).json()) as Status;
    expect(clamped.backups.page).toBe(1);
    expect((await get('/?page=abc')).status).toBe(200);
    const head = await get('/', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
    for (const method of ['POST', 'DELETE', 'PUT']) {
      const refused = await get('/api/status', { method });
      expect(refused.status).toBe(405);
      expect(refused.headers.get('allow')).toBe('GET, HEAD');
    }
  });

  it('STATUS_PAGE=false: / and /api/status are 404, /healthz still answers', async () => {
    const off = await startSidecar(history, { STATUS_PAGE: 'false' });
    try {
      for (const path of ['/', '/api/status']) {
        const response = await fetch(`${off.url}${path}`, { signal: AbortSignal.timeout(15_000) });
        expect(response.status).toBe(404);
        expect(await response.text()).not.toContain('api/status');
      }
      const health = await fetch(`${off.url}/healthz`, { signal: AbortSignal.timeout(15_000) });
      expect(health.status).toBe(200);
    } finally {
      await off.process.kill();
    }
  }, 90_000);

  it("shows the sidecar's own new backup at once, though the listing is cached", async () => {
    const own = await startSidecar(history, { BACKUP_ON_START: 'true' });
    try {
      const total = async (): Promise<number> => {
        const response = await fetch(`${own.url}/api/status`, { signal: AbortSignal.timeout(15_000) });
        return ((await response.json()) as Status).backups.total;
      };
      // Requests while the backup runs fill the cache with the three backups from before...
      let done = false;
      const succeeded = own.process
        .waitForLog((line) => line.msg === 'backup succeeded', 60_000)
        .finally(() => (done = true));
      const seen: number[] = [];
      while (!done) {
        seen.push(await total());
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const line = await succeeded;
      expect(seen.every((count) => count === 3 || count === 4)).toBe(true);
      // ...and the backup's end, not the cache's age, decides when the new one shows.
      const after = (await (
        await fetch(`${own.url}/api/status`, { signal: AbortSignal.timeout(15_000) })
      ).json()) as Status;
      expect(after.backups.total).toBe(4);
      expect(after.backups.items[0]?.name).toBe(line.name);
    } finally {
      await own.process.kill();
    }
  }, 90_000);
});
