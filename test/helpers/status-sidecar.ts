/**
 * A real sidecar with a history, for the status page tests: a migrated throwaway database, three backups
 * made with the CLI (`backup status-1..3`, growing) into a local directory and s3rver, one backup of
 * another database in the same stores (the page must leave it out), a drill record of status-2 and a
 * malformed one of status-1. Then `chatflow-db start` serves them: everything it shows comes from the
 * stores, none of it from its own runs.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../scripts/support/net.js';
import { startS3, type TestS3 } from '../../scripts/support/s3rver.js';
import { runCli } from './cli.js';
import { createDatabase, dbEnv, dropDatabase, withDb } from './database.js';
import { spawnCli, type LogLine, type RunningCli } from './process.js';

/** Named backups first; the newest is automatic (default name), as /healthz judges freshness by those. */
const NAMED_BACKUPS = ['status-1', 'status-2'];

export interface StatusHistory {
  database: string;
  otherDatabase: string;
  /** The other database's backup (same stores). */
  otherBackup: string;
  /** This database's backups, oldest first: two named, then one automatic (default name). */
  names: string[];
  dir: string;
  s3: TestS3;
  /** What `start` needs besides the port: database, stores, TZ. */
  env: Record<string, string>;
  close(): Promise<void>;
}

export interface RunningSidecar {
  url: string;
  process: RunningCli;
}

async function cli(args: string[], env: Record<string, string>): Promise<string> {
  const result = await runCli(args, env);
  if (result.code !== 0)
    throw new Error(`chatflow-db ${args.join(' ')} exited ${result.code}:\n${result.stderr}`);
  return result.stdout.trim();
}

export async function makeHistory(): Promise<StatusHistory> {
  const database = await createDatabase('cfdb_status');
  const otherDatabase = await createDatabase('cfdb_status_other');
  const s3 = await startS3('chatflow-status');
  const dir = mkdtempSync(join(tmpdir(), 'cfdb-status-'));
  const env = {
    ...dbEnv(database),
    ...s3.env,
    BACKUP_DIR: dir,
    TZ: 'Europe/Berlin',
    BACKUP_COMPRESSION_THREADS: '1',
  };
  const close = async (): Promise<void> => {
    await s3.close();
    rmSync(dir, { recursive: true, force: true });
    await dropDatabase(database);
    await dropDatabase(otherDatabase);
  };
  try {
    await cli(['migrate'], env);
    await withDb(database, (client) => client.query('CREATE TABLE filler (data text)'));
    const names: string[] = [];
    for (const [i, name] of [...NAMED_BACKUPS, undefined].entries()) {
      // Each backup holds more rows than the one before: the size plot rises.
      await withDb(database, (client) =>
        client.query(
          'INSERT INTO filler SELECT md5(random()::text) || md5(random()::text) FROM generate_series(1, $1)',
          [2000 * (i + 1)],
        ),
      );
      names.push(await cli(name === undefined ? ['backup'] : ['backup', name], env));
    }
    const otherBackup = await cli(['backup'], { ...env, PGDATABASE: otherDatabase });
    writeFileSync(
      join(dir, 'status-2.drill.json'),
      JSON.stringify({
        format: 'chatflow-db-drill/1',
        backup: 'status-2',
        database,
        startedAt: new Date(Date.now() - 60_000).toISOString(),
        finishedAt: new Date(Date.now() - 50_000).toISOString(),
        ok: true,
        restoreSeconds: 7.5,
        totalSeconds: 10,
        checks: [{ name: 'restore', ok: true, detail: 'restored', seconds: 7.5 }],
        versions: { chatflowDb: '0.1.0', server: '15', pgDump: '15' },
        target: 'scratch',
        server: 'configured',
      }),
    );
    writeFileSync(join(dir, 'status-1.drill.json'), '{"format": "chatflow-db-drill/1", "backup": ');
    return { database, otherDatabase, otherBackup, names, dir, s3, env, close };
  } catch (error) {
    await close();
    throw error;
  }
}

const isMsg = (pattern: RegExp) => (line: LogLine) => typeof line.msg === 'string' && pattern.test(line.msg);

/** `chatflow-db start` on the history's stores, on a free port; no backup runs during a test. */
export async function startSidecar(
  history: StatusHistory,
  env: Record<string, string> = {},
): Promise<RunningSidecar> {
  const port = await freePort();
  const process = spawnCli(['start'], {
    ...history.env,
    BACKUP_SCHEDULE: '0 3 * * *',
    HEALTH_PORT: String(port),
    HEALTH_HOST: '127.0.0.1',
    ...env,
  });
  try {
    await process.waitForLog(isMsg(/^health server listening/), 60_000);
  } catch (error) {
    await process.kill();
    throw error;
  }
  return { url: `http://127.0.0.1:${port}`, process };
}
