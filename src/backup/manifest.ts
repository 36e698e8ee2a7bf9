/**
 * A backup is `<name>.sql.gz` (or `<name>.sql.gz.age`, the same gzip encrypted with age) plus
 * `<name>.manifest.json`, written last. An archive without a manifest is not a complete backup of this tool
 * (it may be an old script's archive: restore warns, no checksum).
 */
export const ARCHIVE_SUFFIX = '.sql.gz';
export const ENCRYPTED_ARCHIVE_SUFFIX = '.sql.gz.age';
export const MANIFEST_SUFFIX = '.manifest.json';
export const MANIFEST_FORMAT = 'chatflow-db-backup/1';

export interface Manifest {
  format: typeof MANIFEST_FORMAT;
  name: string;
  archive: string;
  /** sha256 (hex) of the archive's bytes exactly as stored (the ciphertext when encrypted). */
  sha256: string;
  /** Bytes of the archive as stored. */
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
  /** Present only for an encrypted archive (`<name>.sql.gz.age`): the public keys it was encrypted to. */
  encryption?: ManifestEncryption;
  // Recorded since the restore drills (all optional: older manifests stay valid).
  /** Rows per table (`schema.table` as pg_dump spells it), counted from the dump's COPY blocks. */
  rowCounts?: Record<string, number>;
  /** Version of the newest applied migration (chatflow_db.schema_migrations), null if untracked. */
  schemaVersion?: string | null;
  durationSeconds?: number;
  /** Bytes of SQL pg_dump wrote (the archive's size uncompressed). */
  sqlBytes?: number;
}

export interface ManifestEncryption {
  format: 'age';
  /** `age1...` recipients (public keys); never an identity. */
  recipients: string[];
}

/** The archive object of backup `name`: `.sql.gz.age` when encrypted, else `.sql.gz`. */
export const archiveName = (name: string, encrypted = false): string =>
  `${name}${encrypted ? ENCRYPTED_ARCHIVE_SUFFIX : ARCHIVE_SUFFIX}`;
export const manifestName = (name: string): string => `${name}${MANIFEST_SUFFIX}`;

/** Parses and checks a manifest's JSON; throws a plain Error saying what is wrong. */
export function parseManifest(text: string): Manifest {
  const value = JSON.parse(text) as Partial<Manifest> | null;
  if (!value || typeof value !== 'object' || value.format !== MANIFEST_FORMAT) {
    throw new Error(`not a ${MANIFEST_FORMAT} manifest`);
  }
  const fields: (keyof Manifest)[] = ['name', 'archive', 'sha256', 'createdAt', 'database'];
  for (const field of fields) {
    if (typeof value[field] !== 'string') throw new Error(`manifest field "${field}" is missing`);
  }
  if (typeof value.size !== 'number' || typeof value.automatic !== 'boolean')
    throw new Error('manifest size/automatic missing');
  if (value.encryption !== undefined) {
    const { format, recipients } = value.encryption as Partial<ManifestEncryption>;
    if (
      format !== 'age' ||
      !Array.isArray(recipients) ||
      !recipients.every((r): r is string => typeof r === 'string')
    )
      throw new Error('manifest field "encryption" is not { format: "age", recipients: [...] }');
  }
  return value as Manifest;
}

/** The JSON a manifest is stored as (stable key order, trailing newline). */
export function serializeManifest(manifest: Manifest): string {
  return `${JSON.stringify(manifest, null, 2)}\n`;
}
