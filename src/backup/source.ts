/** What the manifest records about the dumped database and the pg_dump that dumped it. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { DatabaseConfig } from '../config.js';
import { withClient } from '../db.js';
import { TRACKING_TABLE } from '../migrations/tracking.js';

export interface SourceInfo {
  serverVersion: string;
  /** pg_database_size: an upper estimate of the compressed dump, used to size S3 parts. */
  sizeBytes: number;
  latestMigration: string | null;
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
    if (tracked.rows[0]?.exists) {
      const latest = await client.query<{ name: string }>(
        `SELECT name FROM ${TRACKING_TABLE} ORDER BY version DESC LIMIT 1`,
      );
      latestMigration = latest.rows[0]?.name ?? null;
    }
    return {
      serverVersion: version.rows[0]?.server_version ?? 'unknown',
      sizeBytes: Number(size.rows[0]?.size ?? 0),
      latestMigration,
    };
  });
}

/** `pg_dump (PostgreSQL) 15.5`: a short control-plane command, with a timeout. */
export async function pgDumpVersion(): Promise<string> {
  const { stdout } = await promisify(execFile)('pg_dump', ['--version'], { timeout: 10_000 });
  return stdout.trim();
}
