/**
 * Never a false success: every way a backup can fail ends with exit code 1, a message with the cause,
 * nothing in the local directory (not even a temporary file), no S3 object and no multipart upload left.
 */
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { spawn, execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { seed } from '../../helpers/backup-data.js';
import { baseEnv, CLI, REPO_ROOT, runCli, type CliResult } from '../../helpers/cli.js';
import { createDatabase, dbEnv, dropDatabase } from '../../helpers/database.js';
import { startS3, testS3Client, type TestS3 } from '../../../scripts/support/s3rver.js';
import { startS3Proxy, type S3Proxy } from '../../helpers/s3proxy.js';

let source: string;
let s3: TestS3;
let proxy: S3Proxy;
let client: S3Client;
let dir: string;
let bin: string;
let env: Record<string, string>;

/** A fake `pg_dump` first on PATH: `body` is shell code that may call "$REAL" "$@". */
function fakePgDump(body: string): Record<string, string> {
  const real = execFileSync('sh', ['-c', 'command -v pg_dump'], { encoding: 'utf8' }).trim();
  const script = `#!/bin/sh\nREAL=${real}\nif [ "$1" = "--version" ]; then exec "$REAL" "$@"; fi\n${body}\n`;
  writeFileSync(join(bin, 'pg_dump'), script);
  chmodSync(join(bin, 'pg_dump'), 0o755);
  return { PATH: `${bin}:${process.env.PATH ?? ''}` };
}

async function s3Keys(): Promise<string[]> {
  const page = await client.send(new ListObjectsV2Command({ Bucket: s3.bucket }));
  return (page.Contents ?? []).map((o) => o.Key ?? '');
}

/** What every failure must leave: exit 1, the cause, nothing stored anywhere. */
async function expectNothingStored(result: CliResult, cause: string | RegExp): Promise<void> {
  expect(result.code).toBe(1);
  expect(result.stderr).toMatch(cause);
  expect(result.stderr).toContain('Nothing was stored');
  expect(readdirSync(dir)).toEqual([]);
  expect(await s3Keys()).toEqual([]);
}

beforeAll(async () => {
  source = await createDatabase('cfdb_backup_fail');
  // Large enough (> 8 MiB compressed) for a multipart upload of several parts.
  await seed(source, 600_000);
  s3 = await startS3();
  proxy = await startS3Proxy(s3.endpoint);
  client = testS3Client(s3.endpoint);
  dir = mkdtempSync(join(tmpdir(), 'cfdb-backups-'));
  bin = mkdtempSync(join(tmpdir(), 'cfdb-bin-'));
  env = {
    ...dbEnv(source),
    ...s3.env,
    S3_ENDPOINT: proxy.endpoint,
    BACKUP_DIR: dir,
    BACKUP_PROGRESS_INTERVAL: '1',
  };
});

beforeEach(() => {
  proxy.requests.length = 0;
  proxy.fault = () => undefined;
  rmSync(join(bin, 'pg_dump'), { force: true });
});

afterAll(async () => {
  try {
    client?.destroy();
    await proxy?.close();
    await s3?.close();
  } finally {
    for (const path of [dir, bin]) if (path) rmSync(path, { recursive: true, force: true });
    if (source) await dropDatabase(source);
  }
});

describe('a failed backup is never stored', () => {
  it('missing database', async () => {
    const result = await runCli(['backup'], { ...env, PGDATABASE: 'cfdb_no_such_database' });
    await expectNothingStored(result, /does not exist/);
  });

  it('authentication failure (a role the server rejects)', async () => {
    const result = await runCli(['backup'], { ...env, PGUSER: 'cfdb_no_such_role' });
    await expectNothingStored(result, /cfdb_no_such_role/);
  });

  it('pg_dump killed mid-stream, after a part was uploaded: the multipart upload is aborted', async () => {
    // pg_dump writes the whole (> one part) dump and keeps its stdout open: the stream cannot end, so the
    // backup is mid-stream for certain when the first UploadPart reaches S3, and pg_dump dies right then.
    const pidFile = join(bin, 'pg_dump.pid');
    rmSync(pidFile, { force: true });
    const path = fakePgDump(`echo $$ > "${pidFile}"\n"$REAL" "$@"\nexec sleep 60`);
    proxy.fault = (r) => {
      if (r.method === 'PUT' && /partNumber=1\b/.test(r.url)) {
        process.kill(Number(readFileSync(pidFile, 'utf8').trim()), 'SIGKILL');
      }
      return undefined;
    };
    const result = await runCli(['backup'], { ...env, ...path });
    await expectNothingStored(result, /pg_dump was killed by SIGKILL/);
    const created = proxy.requests.filter((r) => r.method === 'POST' && /\?uploads/.test(r.url));
    expect(created).toHaveLength(1);
    const parts = proxy.requests.filter((r) => r.method === 'PUT' && /partNumber=\d+/.test(r.url));
    expect(parts.length).toBeGreaterThanOrEqual(1);
    // The one upload that holds a part was aborted (AbortMultipartUpload with its id), never completed.
    const uploadId = new URL(parts[0]?.url ?? '/', 'http://x').searchParams.get('uploadId');
    expect(uploadId).toMatch(/.+/);
    expect([...new Set(proxy.abortedUploads())]).toEqual([uploadId]);
    expect(proxy.requests.some((r) => r.method === 'POST' && r.url.includes('uploadId='))).toBe(false);
  });

  it('pg_dump that hangs is stopped by BACKUP_TIMEOUT: exit 1, the setting named, nothing stored', async () => {
    // Prints a little, then waits forever (like pg_dump blocked on a table lock).
    const path = fakePgDump('echo "-- PostgreSQL database dump"\nexec sleep 120');
    const started = Date.now();
    const result = await runCli(['backup'], { ...env, ...path, BACKUP_TIMEOUT: '2' }, { timeoutMs: 60_000 });
    expect(Date.now() - started).toBeLessThan(30_000);
    await expectNothingStored(result, /ran longer than BACKUP_TIMEOUT \(2 s\)/);
    expect(result.stderr).toContain('raise BACKUP_TIMEOUT');
  });

  it('pg_dump failing after its last byte (the stream ended cleanly) is still a failure', async () => {
    const path = fakePgDump('"$REAL" "$@"\necho "pg_dump: error: simulated failure at the end" >&2\nexit 1');
    const result = await runCli(['backup', 'late_failure'], { ...env, ...path });
    await expectNothingStored(result, /exit code 1: pg_dump: error: simulated failure at the end/);
    // The archive was multipart: its upload was aborted, never completed.
    expect(proxy.requests.some((r) => r.method === 'POST' && r.url.includes('uploadId='))).toBe(false);
    expect(new Set(proxy.abortedUploads()).size).toBe(1);
  });

  it('S3 unreachable', async () => {
    const result = await runCli(
      ['backup'],
      { ...env, S3_ENDPOINT: 'http://127.0.0.1:1' },
      { timeoutMs: 60_000 },
    );
    await expectNothingStored(result, /Cannot reach the S3 endpoint http:\/\/127\.0\.0\.1:1/);
  });

  it('S3 failing mid-upload: the multipart upload is aborted', async () => {
    proxy.fault = (r) => (r.method === 'PUT' && /partNumber=2\b/.test(r.url) ? 500 : undefined);
    const result = await runCli(['backup'], env);
    await expectNothingStored(result, /failed/);
    const created = proxy.requests.filter((r) => r.method === 'POST' && /\?uploads/.test(r.url));
    expect(created).toHaveLength(1);
    // Aborted by S3Storage: the one upload id, never empty.
    expect([...new Set(proxy.abortedUploads())]).toEqual([expect.stringMatching(/.+/)]);
  });

  it('S3 connection reset mid-upload', async () => {
    proxy.fault = (r) => (r.method === 'PUT' && /partNumber=2\b/.test(r.url) ? 'reset' : undefined);
    const result = await runCli(['backup'], env);
    await expectNothingStored(result, /failed/);
    expect(new Set(proxy.abortedUploads()).size).toBe(1);
  });

  it('SIGTERM during the upload stops cleanly', async () => {
    const child = spawn(process.execPath, [CLI, 'backup'], { env: { ...baseEnv(), ...env }, cwd: REPO_ROOT });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    proxy.fault = (r) => {
      if (r.method === 'PUT' && /partNumber=1\b/.test(r.url)) child.kill('SIGTERM');
      return undefined;
    };
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    await expectNothingStored({ code, signal: null, stdout: '', stderr }, /stopped by SIGTERM/);
    expect(new Set(proxy.abortedUploads()).size).toBe(1);
  });
});
