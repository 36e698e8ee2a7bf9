/**
 * A backup is `<name>.sql.gz` plus `<name>.manifest.json`, written last. An archive without a manifest
 * is not a complete backup of this tool (it may be an old script's archive: restore warns, no checksum).
 */
export const ARCHIVE_SUFFIX = '.sql.gz';
export const MANIFEST_SUFFIX = '.manifest.json';
export const MANIFEST_FORMAT = 'chatflow-db-backup/1';

export interface Manifest {
  format: typeof MANIFEST_FORMAT;
  name: string;
  archive: string;
  /** sha256 (hex) of the .sql.gz bytes exactly as stored. */
  sha256: string;
  /** Bytes of the .sql.gz. */
  size: number;
  /** ISO 8601, UTC. */
  createdAt: string;
  database: string;
  serverVersion: string;
  pgDumpVersion: string;
  /** Newest applied migration file name at backup time, or null if untracked. */
  latestMigration: string | null;
  durationMs: number;
  /** Default-named (scheduled/automatic) backups are the only ones retention may delete. */
  automatic: boolean;
}

export const archiveName = (name: string): string => `${name}${ARCHIVE_SUFFIX}`;
export const manifestName = (name: string): string => `${name}${MANIFEST_SUFFIX}`;
