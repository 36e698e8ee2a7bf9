/**
 * A restore never leaves the database refusing connections. The cut-over runs in a child process that a
 * test-only hook (SwapOptions.afterStep) pauses after a chosen committed step:
 * - SIGKILL there (what SIGKILL or the OOM killer does): the next `restore`, or `start`, recognises the
 *   database the cut-over left refusing connections, makes it accept them again and logs what it did;
 * - two SIGTERMs there (an impatient Ctrl-C): the cut-over finishes anyway and nothing refuses connections.
 * An operator's own database that refuses connections is never touched.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, runCli } from '../../helpers/cli.js';
import { adminQuery, dbEnv, testServer, uniqueName } from '../../helpers/database.js';
import { eventually, spawnCli } from '../../helpers/process.js';
import { dropDatabasesStartingWith, logMessages, seed, writeArchive } from './support.js';

const prefix = uniqueName('cfdb_rck');
const dir = mkdtempSync(join(tmpdir(), 'cfdb-cutover-kill-'));
const script = join(dir, 'swap.mjs');
const dist = (path: string) => pathToFileURL(join(REPO_ROOT, 'dist/src', path)).href;

const SWAP_SCRIPT = `
import { connect } from '${dist('lib/db.js')}';
import { swapDatabases } from '${dist('restore/database.js')}';
import { withSignalsDeferred } from '${dist('lib/signal-shield.js')}';
const [target, incoming, previous, pauseAt, pauseMs] = process.argv.slice(2);
const say = (line) => process.stdout.write(line + '\\n');
const logger = { info() {}, warn(_o, m) { say('log ' + m); }, error(_o, m) { say('log ' + m); } };
const db = ${JSON.stringify({ ...testServer, database: 'postgres', waitTimeoutMs: 0 })};
const client = await connect(db, 'postgres');
await client.query("SET application_name = 'cutover-kill-test'");
// What the restore holds during its cut-over.
await client.query("SELECT pg_advisory_lock(hashtext('chatflow-db restore ' || $1))", [target]);
await withSignalsDeferred('the cut-over', logger, () =>
  swapDatabases(client, { target, incoming, previous, logger, afterStep: async (step) => {
    say('step ' + step);
    if (step === pauseAt) await new Promise((resolve) => setTimeout(resolve, Number(pauseMs)));
  } }),
);
say('done');
await client.end();
`;

interface Swap {
  target: string;
  incoming: string;
  previous: string;
}

async function prepare(name: string): Promise<Swap> {
  const swap = {
    target: `${prefix}_${name}`,
    incoming: `${prefix}_${name}_in`,
    previous: `${prefix}_${name}_prev`,
  };
  await adminQuery(`CREATE DATABASE "${swap.target}"`);
  await seed(swap.target);
  await adminQuery(`COMMENT ON DATABASE "${swap.target}" IS 'the operator''s own comment'`);
  await adminQuery(`CREATE DATABASE "${swap.incoming}"`);
  return swap;
}

/** Runs the cut-over in a child, pausing after `step` for `pauseMs`; `during` runs while it pauses. */
async function runSwap(swap: Swap, step: string, pauseMs: number, during: (pid: number) => void) {
  const child = spawn(process.execPath, [
    script,
    swap.target,
    swap.incoming,
    swap.previous,
    step,
    String(pauseMs),
  ]);
  let stdout = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal })),
  );
  await new Promise<void>((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      if (stdout.includes(`step ${step}\n`)) resolve();
    });
    void exited.then(() => reject(new Error(`the cut-over ended before ${step}: ${stdout}`)));
  });
  during(child.pid ?? 0);
  const result = await exited;
  // The killed client's server session (and its advisory lock) goes away shortly after.
  await eventually(async () => {
    const { rows } = await adminQuery<{ n: number }>(
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'cutover-kill-test'",
    );
    return rows[0]?.n === 0 ? true : undefined;
  });
  return { ...result, stdout };
}

async function refusing(): Promise<string[]> {
  const { rows } = await adminQuery<{ datname: string }>(
    'SELECT datname FROM pg_database WHERE starts_with(datname, $1) AND NOT datallowconn ORDER BY 1',
    [prefix],
  );
  return rows.map((r) => r.datname);
}

async function comment(database: string): Promise<string | null> {
  const { rows } = await adminQuery<{ c: string | null }>(
    "SELECT shobj_description(oid, 'pg_database') AS c FROM pg_database WHERE datname = $1",
    [database],
  );
  return rows[0]?.c ?? null;
}

beforeAll(async () => {
  writeFileSync(script, SWAP_SCRIPT);
  await adminQuery(`CREATE DATABASE "${prefix}_src"`);
  await seed(`${prefix}_src`);
  writeArchive(`${prefix}_src`, dir, 'good');
  // An operator's database that refuses connections on purpose: never "repaired".
  await adminQuery(`CREATE DATABASE "${prefix}_closed"`);
  await adminQuery(`ALTER DATABASE "${prefix}_closed" WITH ALLOW_CONNECTIONS false`);
}, 60_000);

afterAll(async () => {
  await dropDatabasesStartingWith(prefix);
  rmSync(dir, { recursive: true, force: true });
});

describe('a cut-over killed half-way is repaired', () => {
  it.each([
    ['connections-blocked', 'target'],
    ['sessions-ended', 'target'],
    ['renamed', 'previous'],
  ] as const)('SIGKILL after %s: the next restore repairs the %s', async (step, which) => {
    const swap = await prepare(step.replace(/-/g, '_'));
    const killed = await runSwap(swap, step, 60_000, (pid) => process.kill(pid, 'SIGKILL'));
    expect(killed.signal).toBe('SIGKILL');
    const left = which === 'target' ? swap.target : swap.previous;
    expect(await refusing()).toEqual([`${prefix}_closed`, left].sort());

    const result = await runCli(['restore', 'good', '--no-migrate', '--drop-previous'], {
      ...dbEnv(swap.target),
      BACKUP_DIR: dir,
    });
    expect(result.code, result.stderr).toBe(0);
    expect(logMessages(result.stderr).some((m) => m.startsWith(`repaired "${left}"`))).toBe(true);
    expect(await refusing()).toEqual([`${prefix}_closed`]);
    // (The repaired target was swapped out and dropped by this restore; the previous one stays.)
    if (which === 'previous') expect(await comment(left)).toBe("the operator's own comment");
  });

  it('SIGKILL during the cut-over: `start` repairs the target before waiting for it', async () => {
    const swap = await prepare('start');
    await runSwap(swap, 'connections-blocked', 60_000, (pid) => process.kill(pid, 'SIGKILL'));
    expect(await refusing()).toContain(swap.target);
    const sidecar = spawnCli(['start'], { ...dbEnv(swap.target), BACKUP_DIR: dir, HEALTH_PORT: '0' });
    try {
      await sidecar.waitForLog((line) => String(line.msg).startsWith(`repaired "${swap.target}"`), 30_000);
      expect(await refusing()).toEqual([`${prefix}_closed`]);
      expect(await comment(swap.target)).toBe("the operator's own comment");
    } finally {
      await sidecar.kill();
    }
  });

  it('two SIGTERMs during the cut-over: it finishes, nothing refuses connections', async () => {
    const swap = await prepare('sigterm');
    const result = await runSwap(swap, 'connections-blocked', 1500, (pid) => {
      process.kill(pid, 'SIGTERM');
      process.kill(pid, 'SIGTERM');
    });
    expect(result.signal).toBeNull();
    expect(result.stdout).toContain('step previous-reopened');
    expect(result.stdout).toContain('SIGTERM received during the cut-over');
    expect(await refusing()).toEqual([`${prefix}_closed`]);
    expect(await comment(swap.previous)).toBe("the operator's own comment");
  });
});
