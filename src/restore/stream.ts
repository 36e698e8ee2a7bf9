/**
 * The restore's data path: store -> sha256 -> [age decrypt] -> gunzip -> dump filter -> psql, never
 * touching the disk. The sha256 is of the bytes as stored; an encrypted archive is decrypted chunk by chunk,
 * and only authenticated plaintext reaches gunzip (a flipped byte or a truncation fails the stream).
 * Everything that can go wrong is collected into a StreamOutcome; `verdict` decides from it whether the
 * restored database may replace the target.
 */
import { createHash } from 'node:crypto';
import { PassThrough, type Duplex, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import type { Manifest } from '../backup/manifest.js';
import { AgeDecryptionError, createDecryptStream, type AgeIdentity } from '../lib/age.js';
import type { Logger } from '../lib/logger.js';
import { startProgress } from '../lib/progress.js';
import { ByteMeter, formatBytes } from '../lib/streams.js';
import type { PostDataWatch } from './post-data.js';
import { DumpFilter, DumpFormatError, type DumpFilterOptions, type DumpFilterStats } from './dump-filter.js';
import { lastLines, spawnPsql, type PsqlExit } from './psql.js';

export interface StreamOutcome {
  sha256: string;
  /** Archive bytes read. */
  bytes: number;
  filter: DumpFilterStats;
  psql: PsqlExit;
  /** The first error of the stream itself (reading, gunzip, filter), if any. */
  streamError: unknown;
  /** psql was stopped by us because the stream failed. */
  psqlKilled: boolean;
  durationMs: number;
}

export interface StreamOptions {
  source: Readable;
  /** libpq environment pointing psql at the database to fill. */
  env: NodeJS.ProcessEnv;
  filter: DumpFilterOptions;
  /** Identities to decrypt an age-encrypted archive with (decryptionKeys); undefined for a clear one. */
  identities?: readonly AgeIdentity[] | undefined;
  logger: Logger;
  progressIntervalMs: number;
  /** Archive size if known, for the progress percentage. */
  totalBytes?: number;
  signal?: AbortSignal;
  psqlCommand?: string;
  /** Follows the indexes and constraints psql builds after the data (post-data.ts). */
  postData?: PostDataWatch;
}

/**
 * gunzip's output chunk (node's default is 16 KiB). Every chunk costs a zlib round trip, a trip through
 * the filter and a write(2) into psql's pipe; at 1 MiB the restore's own CPU (sha256 + gunzip + filter +
 * writes) is about a third of what 16 KiB chunks cost, which matters when psql and the server share few cores.
 */
const GUNZIP_CHUNK_BYTES = 1 << 20;

/**
 * What turns an archive's stored bytes into plain SQL: age decryption when `identities` are given, then
 * gunzip. The one reader of archives, for restore and drill alike.
 */
export function archiveToSql(identities: readonly AgeIdentity[] | undefined): Duplex[] {
  const gunzip = createGunzip({ chunkSize: GUNZIP_CHUNK_BYTES });
  return identities ? [createDecryptStream(identities), gunzip] : [gunzip];
}

export async function streamIntoDatabase(options: StreamOptions): Promise<StreamOutcome> {
  const started = Date.now();
  const meter = new ByteMeter(createHash('sha256'));
  const filter = new DumpFilter(options.filter);
  const psql = spawnPsql(options.env, options.psqlCommand);
  const progress = startProgress({
    logger: options.logger,
    label: 'restore',
    intervalMs: options.progressIntervalMs,
    bytes: () => meter.bytes,
    totalBytes: options.totalBytes,
    verb: 'read',
    extra: () => ({
      fields: { sqlBytes: filter.stats.sqlBytes },
      text: `${formatBytes(filter.stats.sqlBytes)} of SQL restored`,
    }),
    // Once the data is in psql's hands, the indexes and constraints: what the server is building.
    phase: () => options.postData?.report(),
  });

  let streamError: unknown;
  let psqlKilled = false;
  try {
    await pipeline(
      [
        options.source,
        meter,
        ...archiveToSql(options.identities),
        filter,
        options.postData?.tap ?? new PassThrough(),
        psql.stdin,
      ],
      { signal: options.signal },
    );
  } catch (error) {
    streamError = error;
    psqlKilled = true;
    psql.kill();
  } finally {
    options.postData?.dataSent();
  }
  const exit = await psql.exit;
  progress.stop();
  await options.postData?.stop();
  return {
    sha256: meter.digest(),
    bytes: meter.bytes,
    filter: filter.stats,
    psql: exit,
    streamError,
    psqlKilled,
    durationMs: Date.now() - started,
  };
}

/** Errors of writing into a psql that already exited: a consequence, not the cause. */
function isPipeError(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return code === 'EPIPE' || code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'ERR_STREAM_DESTROYED';
}

function isGzipError(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && code.startsWith('Z_');
}

/**
 * Why the restored database must not replace the target, or undefined if it may. Order matters: a
 * stream failure explains a killed psql; a psql that failed on its own explains the broken pipe.
 */
export function verdict(outcome: StreamOutcome, manifest: Manifest | undefined): string | undefined {
  const { streamError, psql } = outcome;
  const psqlFailed = psql.code !== 0 || psql.signal !== null;
  if (streamError !== undefined && (!isPipeError(streamError) || !psqlFailed)) {
    if ((streamError as Error).name === 'AbortError') return 'the restore was interrupted';
    if (streamError instanceof DumpFormatError) return streamError.message;
    if (streamError instanceof AgeDecryptionError) return `age decryption failed: ${streamError.message}`;
    if (isGzipError(streamError)) {
      return `the archive is corrupt or truncated (gzip: ${(streamError as Error).message})`;
    }
    return `reading the archive failed: ${(streamError as Error).message}`;
  }
  if (psqlFailed) {
    const how = psql.signal ? `was killed by ${psql.signal}` : `exited with code ${psql.code}`;
    return `psql ${how} while restoring: ${lastLines(psql.stderrTail) || 'no message'}`;
  }
  if (manifest && outcome.bytes !== manifest.size) {
    return `the archive has ${outcome.bytes} bytes but its manifest says ${manifest.size}: it is truncated or was altered`;
  }
  if (manifest && outcome.sha256 !== manifest.sha256) {
    return `checksum mismatch: the archive's sha256 is ${outcome.sha256} but its manifest says ${manifest.sha256}: it is corrupt or was altered`;
  }
  if (!outcome.filter.complete) {
    return 'the SQL ends before pg_dump\'s closing "dump complete" line: the archive is truncated';
  }
  return undefined;
}
