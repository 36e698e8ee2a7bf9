/**
 * The backup modules ask V8 for an explicit GC. Where V8's flags are frozen (`--freeze-flags-after-init`),
 * turning `--expose-gc` on would abort the process; the CLI must then run without explicit GC instead.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, cliEnv, REPO_ROOT, type CliResult } from '../../helpers/cli.js';
import { createDatabase, dbEnv, dropDatabase, withDb } from '../../helpers/database.js';

let database: string;
let dir: string;

beforeAll(async () => {
  database = await createDatabase('cfdb_gc');
  await withDb(database, (c) =>
    c.query('CREATE TABLE t AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 20000) g'),
  );
  dir = mkdtempSync(join(tmpdir(), 'cfdb-gc-'));
});

afterAll(async () => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  if (database) await dropDatabase(database);
});

/** The real CLI under a node whose V8 flags cannot change after start-up. */
function runFrozen(args: string[]): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--freeze-flags-after-init', CLI, ...args], {
      env: cliEnv({ ...dbEnv(database), BACKUP_DIR: dir }),
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

describe('explicit GC refused by V8', () => {
  it('backup and list still work (no explicit GC, no crash)', async () => {
    const backup = await runFrozen(['backup', 'frozen_flags']);
    expect(backup.signal, backup.stderr).toBeNull();
    expect(backup.code, backup.stderr).toBe(0);
    expect(readdirSync(dir).some((f) => f.includes('frozen_flags'))).toBe(true);

    const list = await runFrozen(['list']);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toContain('frozen_flags');
  });
});
