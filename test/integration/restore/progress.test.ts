/**
 * Progress through every phase, in the same fields and units for backup and restore: bytes, MiB/s,
 * elapsed seconds (and percent and ETA where the total is known), with the figures in the message; and
 * the restore's post-data phase (indexes and constraints), which used to be silent after the last byte.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../helpers/cli.js';
import { adminQuery, createDatabase, dbEnv, dropDatabase, uniqueName } from '../../helpers/database.js';

type Line = Record<string, unknown> & { msg: string };
const lines = (stderr: string): Line[] =>
  stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Line);

let source: string;
const target = uniqueName('cfdb_progress_target');
let dir: string;

beforeAll(async () => {
  source = await createDatabase('cfdb_progress');
  // Enough rows that each index takes a while to build, and eight post-data objects.
  await adminQuery(
    `CREATE TABLE items (id bigint PRIMARY KEY, a text, b text, c text, d text, e text, f text);
     INSERT INTO items SELECT g, md5(g::text), md5((g + 1)::text), md5((g + 2)::text), md5((g + 3)::text),
       md5((g + 4)::text), md5((g + 5)::text) FROM generate_series(1, 400000) g;
     CREATE INDEX items_a ON items (a); CREATE INDEX items_b ON items (b); CREATE INDEX items_c ON items (c);
     CREATE INDEX items_d ON items (d); CREATE INDEX items_e ON items (e); CREATE INDEX items_f ON items (f);
     CREATE INDEX items_ab ON items (a, b);`,
    [],
    source,
  );
  dir = mkdtempSync(join(tmpdir(), 'cfdb-progress-'));
}, 180_000);

afterAll(async () => {
  await dropDatabase(source);
  await dropDatabase(target);
  rmSync(dir, { recursive: true, force: true });
});

describe('progress', () => {
  it('backup and restore log the same fields, and the restore reports its post-data phase', async () => {
    const env = { ...dbEnv(source), BACKUP_DIR: dir, BACKUP_PROGRESS_INTERVAL: '1' };
    const backup = await runCli(['backup', 'progress'], env, { timeoutMs: 170_000 });
    expect(backup.code, backup.stderr).toBe(0);
    const restore = await runCli(['restore', 'progress', '--target-db', target, '--no-migrate'], env, {
      timeoutMs: 170_000,
    });
    expect(restore.code, restore.stderr).toBe(0);

    const backupProgress = lines(backup.stderr).filter((l) => l.msg.startsWith('backup: '));
    const restoreProgress = lines(restore.stderr).filter((l) => l.msg.startsWith('restore: '));
    expect(backupProgress.length, backup.stderr).toBeGreaterThan(0);
    expect(restoreProgress.length, restore.stderr).toBeGreaterThan(0);
    for (const line of [...backupProgress, ...restoreProgress]) {
      for (const field of ['bytes', 'mibPerSecond', 'elapsedSeconds'])
        expect(typeof line[field], `${field} in ${line.msg}`).toBe('number');
      // The figures are in the message, not only in the fields.
      expect(line.msg).toMatch(/\d+ s elapsed/);
    }
    const bytePhase = restoreProgress.filter((l) => l.phase === undefined);
    for (const line of bytePhase) {
      for (const field of ['totalBytes', 'percent', 'etaSeconds'])
        expect(typeof line[field], `${field} in ${line.msg}`).toBe('number');
      expect(line.msg).toMatch(
        /MiB of .* MiB \([\d.]+ %\) read, .* of SQL restored, [\d.]+ MiB\/s, \d+ s elapsed, about \d+ s left/,
      );
    }
    for (const line of backupProgress) expect(line.msg).toMatch(/ written, .* of SQL dumped, [\d.]+ MiB\/s/);

    const postData = restoreProgress.filter((l) => l.phase === 'post-data');
    expect(postData.length, restore.stderr).toBeGreaterThan(0);
    // The primary key and the seven indexes.
    for (const line of postData) expect(line.statementsTotal).toBe(8);
    const named = postData.filter((l) => typeof l.currentObject === 'string');
    expect(named.length, restore.stderr).toBeGreaterThan(0);
    expect(named.at(-1)!.msg).toMatch(
      /building indexes and constraints: \d+ of 8 done, now (index|constraint) items_\w+/,
    );
  }, 360_000);
});
