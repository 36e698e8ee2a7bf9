/** What the manifest records about the dumped database and the pg_dump that dumped it. */
import type { DatabaseConfig } from '../config/load.js';
import { withClient } from '../lib/db.js';
import { TRACKING_TABLE } from '../migrations/tracking.js';

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
 * `pg_dump (PostgreSQL) 15.5`: a short control-plane command, so zx (loaded only when it runs, which keeps
 * the CLI's start fast), quiet, with a timeout. The dump itself never goes through zx: zx keeps whole
 * outputs in memory.
 */
export async function pgDumpVersion(timeoutMs = 10_000): Promise<string> {
  const { $ } = await import('zx/core');
  const result = await $({ quiet: true, nothrow: true, timeout: timeoutMs })`pg_dump --version`;
  const version = result.stdout.trim();
  if (result.exitCode === 0 && version !== '') return version;
  if (result.signal !== null)
    throw new Error(
      `pg_dump --version gave no answer within ${timeoutMs / 1000} s (stopped with ${result.signal})`,
    );
  const said = result.stderr.trim().split('\n').slice(-3).join(' ');
  throw new Error(
    `pg_dump --version failed (exit code ${result.exitCode ?? 'none'}${said ? `: ${said}` : ''}); ` +
      'is the PostgreSQL client installed and on PATH?',
  );
}
