/**
 * What an operator meets on a bad night, through the real CLI: S3 down or a wrong bucket during restore
 * and verify, a password that is not percent-encoded, DB_WAIT_TIMEOUT, the AWS SDK's Node warning in the
 * JSON log stream, a BACKUP_DIR that does not exist, `prune --dry-run` with nothing to delete, --version.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type CliResult } from '../../helpers/cli.js';
import { dbEnv, uniqueName } from '../../helpers/database.js';
import { startS3, type TestS3 } from '../../../scripts/support/s3rver.js';

let s3: TestS3;
let dir: string;
/** A database name that need not exist: these commands fail (or succeed) before they connect. */
const database = uniqueName('cfdb_ops_none');

beforeAll(async () => {
  s3 = await startS3();
  dir = mkdtempSync(join(tmpdir(), 'cfdb-ops-'));
});

afterAll(async () => {
  await s3?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** No stack trace and no "Unexpected failure": a message written for the operator. */
function expectClearFailure(result: CliResult): void {
  expect(result.code, result.stderr).toBe(1);
  expect(result.stderr).not.toContain('Unexpected failure');
  expect(result.stderr).not.toMatch(/"stack"|\n\s+at /);
}

/** The messages of the JSON log lines on stderr, one per line. */
function messages(stderr: string): string {
  return stderr
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => (JSON.parse(line) as { msg?: string }).msg ?? '')
    .join('\n');
}

/** Every line of stderr is one JSON object (LOG_FORMAT=json). */
function expectJsonLines(stderr: string): void {
  for (const line of stderr.split('\n').filter((l) => l !== '')) {
    expect(() => JSON.parse(line) as unknown, line).not.toThrow();
  }
}

describe('S3 unreachable or a wrong bucket: the same clear error for every command', () => {
  const commands = ['restore latest', 'restore nightly', 'verify nightly', 'list', 'backup'];
  // `backup` checks the stores before it connects; the restores refuse the system database `postgres`.
  const envFor = (command: string): Record<string, string> =>
    dbEnv(command === 'backup' ? 'postgres' : database);

  it.each(commands)('%s with a bucket that does not exist', async (command) => {
    const result = await runCli(command.split(' '), {
      ...envFor(command),
      ...s3.env,
      S3_BUCKET: 'no-such-bucket',
    });
    expectClearFailure(result);
    const said = messages(result.stderr);
    expect(said).toContain(s3.endpoint);
    expect(said).toMatch(/bucket "no-such-bucket" does not exist/);
    expect(said).toContain('check S3_BUCKET');
    // A missing bucket is never reported as a missing backup.
    expect(said).not.toMatch(/no backup named|no complete backup/i);
    expectJsonLines(result.stderr);
  });

  it.each(commands)('%s with the endpoint unreachable', async (command) => {
    const result = await runCli(
      command.split(' '),
      { ...envFor(command), ...s3.env, S3_ENDPOINT: 'http://127.0.0.1:1' },
      { timeoutMs: 60_000 },
    );
    expectClearFailure(result);
    const said = messages(result.stderr);
    expect(said).toContain(`Cannot reach the S3 endpoint http://127.0.0.1:1 (bucket "${s3.bucket}")`);
    expect(said).toMatch(/check S3_ENDPOINT/i);
    expect(said).not.toMatch(/no backup named|no complete backup/i);
  });
});

describe('configuration', () => {
  it('DATABASE_URL with a raw % is a configuration error that says to percent-encode', async () => {
    const result = await runCli(['status'], {
      DATABASE_URL: 'postgres://app:50%off@127.0.0.1:5432/app',
    });
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toContain('DATABASE_URL');
    expect(result.stderr).toMatch(/percent-encode/);
    expect(result.stderr).not.toContain('Unexpected failure');
    // The password itself never reaches the log.
    expect(result.stderr).not.toContain('50%off');
  });

  it.each([3, 10])('DB_WAIT_TIMEOUT=%i waits that long before giving up', async (seconds) => {
    const started = Date.now();
    const result = await runCli(['migrate'], {
      ...dbEnv(database),
      PGPORT: '1',
      DB_WAIT_TIMEOUT: String(seconds),
    });
    const elapsed = Date.now() - started;
    expect(result.code, result.stderr).toBe(4);
    expect(result.stderr).toContain(`Gave up waiting ${seconds} s`);
    expect(elapsed).toBeGreaterThanOrEqual(seconds * 1000);
    // Node's start-up on a loaded machine, not the wait: a loose bound.
    expect(elapsed).toBeLessThan(seconds * 1000 + 4000);
  });
});

describe('the JSON log stream', () => {
  it('an S3 command writes only JSON lines to stderr (the AWS SDK warning goes through the logger)', async () => {
    const result = await runCli(['list'], { ...s3.env, LOG_LEVEL: 'debug' });
    expect(result.code, result.stderr).toBe(0);
    expectJsonLines(result.stderr);
    if (Number(process.versions.node.split('.')[0]) < 22)
      expect(result.stderr).toMatch(/"warning":"NodeVersionSupportWarning"/);
  });
});

describe('local store and prune output', () => {
  it('list warns that BACKUP_DIR does not exist', async () => {
    const missing = join(dir, 'not-there');
    const result = await runCli(['list'], { BACKUP_DIR: missing });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('No backups.');
    expect(result.stderr).toContain(`BACKUP_DIR ${missing} does not exist`);
  });

  it('prune --dry-run with nothing to delete prints a summary', async () => {
    const result = await runCli(['prune', '--dry-run'], { ...dbEnv(database), BACKUP_DIR: dir });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`${dir}: would delete 0 backups, keep 0`));
  });
});

describe('--version', () => {
  const { version } = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  it.each(['--version', '-V'])('%s prints the package version', async (flag) => {
    const result = await runCli([flag], {});
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.trim()).toBe(version);
  });
});
