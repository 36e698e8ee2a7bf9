/** What the manifest records about the dumped database and the pg_dump that dumped it. */
import { execFile, type ExecFileException } from 'node:child_process';
import { promisify } from 'node:util';
import type { DatabaseConfig } from '../config/load.js';
import { withClient } from '../lib/db.js';
import { TRACKING_TABLE } from '../migrations/tracking.js';

const execFileAsync = promisify(execFile);

export interface SourceInfo {
  serverVersion: string;
  /** pg_database_size: an upper estimate of the compressed dump, used to size S3 parts. */
  sizeBytes: number;
  latestMigration: string | null;
  /** Version of that migration (the schema version), or null if untracked. */
  schemaVersion: string | null;
}

export async function describeSource(db: DatabaseConfig): Promise<SourceInfo> {
  return withClient(db, async (client) => {
    const version = await client.query<{ server_version: string }>('SHOW server_version');
    const size = await client.query<{ size: string }>(
      'SELECT pg_database_size(current_database())::text AS size',
    );
    const tracked = await client.query<{ exists: boolean }>('SELECT to_regclass($1) IS NOT NULL AS exists', [
      TRACKING_TABLE,
    ]);
    let latestMigration: string | null = null;
    let schemaVersion: string | null = null;
    if (tracked.rows[0]?.exists) {
      const latest = await client.query<{ name: string; version: string }>(
        `SELECT name, version FROM ${TRACKING_TABLE} ORDER BY version DESC LIMIT 1`,
      );
      latestMigration = latest.rows[0]?.name ?? null;
      schemaVersion = latest.rows[0]?.version ?? null;
    }
    return {
      serverVersion: version.rows[0]?.server_version ?? 'unknown',
      sizeBytes: Number(size.rows[0]?.size ?? 0),
      latestMigration,
      schemaVersion,
    };
  });
}

/**
 * `pg_dump (PostgreSQL) 15.5`: a short control-plane command, run with node:child_process's execFile,
 * with a timeout. Not zx: loading it cost ~60 ms of CPU and ~14 MiB of RSS, and its AsyncLocalStorage turns
 * on promise hooks on Node 20 for the rest of the process (each await then costs ~3x), which slowed the
 * backup that follows by ~0.1 s of 2.2 (bench/backup.ts, 200 MB).
 */
export async function pgDumpVersion(timeoutMs = 10_000): Promise<string> {
  let stdout = '';
  try {
    ({ stdout } = await execFileAsync('pg_dump', ['--version'], { timeout: timeoutMs }));
  } catch (error) {
    const failed = error as ExecFileException & { stderr?: string };
    if (failed.signal)
      throw new Error(
        `pg_dump --version gave no answer within ${timeoutMs / 1000} s (stopped with ${failed.signal})`,
      );
    // A process that never started (ENOENT) has no exit code and no stderr: its error message says why.
    const exitCode = typeof failed.code === 'number' ? failed.code : undefined;
    const said = (failed.stderr?.trim() || (exitCode === undefined ? failed.message : ''))
      .split('\n')
      .slice(-3)
      .join(' ');
    throw new Error(
      `pg_dump --version failed (exit code ${exitCode ?? 'none'}${said ? `: ${said}` : ''}); ` +
        'is the PostgreSQL client installed and on PATH?',
    );
  }
  const version = stdout.trim();
  if (version === '')
    throw new Error(
      'pg_dump --version printed nothing (exit code 0); is the PostgreSQL client installed and on PATH?',
    );
  return version;
}
