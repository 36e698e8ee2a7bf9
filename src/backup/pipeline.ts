/**
 * The backup data path, in one place:
 *
 *   pg_dump (plain SQL) -> count bytes + rows per table -> parallel gzip [-> age] -> gate -> sha256 + count
 *   -> tee -> store.put() x N
 *
 * Nothing here may lie about success:
 * - pg_dump's exit code and the tail of its stderr are awaited apart from the streams, because its stdout
 *   can end cleanly while the process failed. The gate holds back the end of the stream until pg_dump has
 *   exited 0, so no store ever commits (links the file, completes the upload) a failed dump.
 * - Every part fails fast: the first error aborts one AbortController that kills pg_dump, destroys the
 *   streams and makes each store discard what it wrote (temp file removed, multipart upload aborted).
 *   If a store had already committed when another failed, its archive is deleted again.
 * - With recipients, the gzip stream is encrypted with age before anything else sees it: the checksum and
 *   size are of the bytes stored, and no store ever receives a byte in clear. The server needs no secret.
 * - The tee writes to every branch and waits for all of them to drain: the slowest store sets the pace,
 *   and memory stays bounded.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { PassThrough, Transform, Writable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { DatabaseConfig } from '../config/load.js';
import { libpqEnv } from '../lib/db.js';
import { createEncryptStream } from '../lib/age.js';
import type { Logger } from '../lib/logger.js';
import { watchChild } from '../lib/process.js';
import { startProgress } from '../lib/progress.js';
import { ByteMeter, formatBytes } from '../lib/streams.js';
import type { Storage } from '../storage/storage.js';
import { ParallelGzip } from './gzip.js';
import { CopyRowCounter } from './row-counter.js';

export interface DumpOptions {
  db: DatabaseConfig;
  stores: readonly Storage[];
  /** Object name in every store, e.g. `nightly.sql.gz`. */
  archive: string;
  compressionLevel: number;
  compressionThreads: number;
  progressIntervalMs: number;
  /** age recipients to encrypt the archive to; undefined or empty stores it in clear. */
  encryptTo?: readonly string[] | undefined;
  /** The most the archive is expected to hold (the stores' put hint). */
  expectedBytes?: number;
  logger: Logger;
  signal?: AbortSignal | undefined;
}

export interface DumpResult {
  sha256: string;
  /** Bytes of the archive as stored (.sql.gz, or .sql.gz.age when encrypted). */
  size: number;
  /** Bytes of SQL pg_dump wrote. */
  sqlBytes: number;
  /** Rows per table, counted from the dump's COPY blocks (row-counter.ts). */
  rowCounts: Record<string, number>;
  durationMs: number;
}

/** Thrown when pg_dump fails; `stderrTail` is the end of what it said. */
export class DumpFailed extends Error {
  constructor(
    message: string,
    readonly stderrTail: string,
  ) {
    super(stderrTail ? `${message}: ${stderrTail}` : message);
  }
}

const STDERR_TAIL_BYTES = 4096;

export async function dumpToStores(options: DumpOptions): Promise<DumpResult> {
  const { stores, archive, logger } = options;
  const started = Date.now();
  const controller = new AbortController();
  let firstError: Error | undefined;
  const failFast = <T>(promise: Promise<T>): Promise<T> =>
    promise.catch((error: unknown) => {
      firstError ??= error instanceof Error ? error : new Error('backup failed', { cause: error });
      controller.abort(error);
      throw error;
    });
  const onOuterAbort = (): void => {
    const reason: unknown = options.signal?.reason;
    firstError ??= reason instanceof Error ? reason : new Error('backup aborted');
    controller.abort(firstError);
  };
  if (options.signal?.aborted) onOuterAbort();
  options.signal?.addEventListener('abort', onOuterAbort, { once: true });

  const dump = spawnPgDump(options.db, controller.signal);
  const sqlMeter = new ByteMeter();
  const rowCounter = new CopyRowCounter();
  const archiveMeter = new ByteMeter(createHash('sha256'));
  const branches = stores.map(() => new PassThrough({ highWaterMark: 1 << 20 }));
  const progress = startProgress({
    logger,
    label: 'backup',
    intervalMs: options.progressIntervalMs,
    // The archive side, as restore and verify count it; the total is unknown until pg_dump ends.
    bytes: () => archiveMeter.bytes,
    verb: 'written',
    extra: () => ({
      fields: { sqlBytes: sqlMeter.bytes },
      text: `${formatBytes(sqlMeter.bytes)} of SQL dumped`,
    }),
  });

  const tasks: Promise<unknown>[] = [
    failFast(dump.exited),
    failFast(
      pipeline(
        dump.stdout,
        sqlMeter,
        rowCounter,
        new ParallelGzip({ level: options.compressionLevel, threads: options.compressionThreads }),
        ...(options.encryptTo?.length ? [createEncryptStream(options.encryptTo)] : []),
        // The end of the archive passes only once pg_dump exited 0: stores commit only complete dumps.
        new Gate(dump.exited),
        archiveMeter,
        new Tee(branches),
        { signal: controller.signal },
      ),
    ),
    ...stores.map((store, i) =>
      failFast(
        store.put(archive, branches[i] as PassThrough, {
          signal: controller.signal,
          ...(options.expectedBytes !== undefined ? { expectedBytes: options.expectedBytes } : {}),
        }),
      ),
    ),
  ];
  const outcomes = await Promise.allSettled(tasks);
  progress.stop({ final: firstError === undefined });
  options.signal?.removeEventListener('abort', onOuterAbort);

  if (firstError !== undefined) {
    // A store that committed before another failed: take its archive back (no manifest exists yet).
    await Promise.all(
      stores.map(async (store, i) => {
        if (outcomes[i + 2]?.status !== 'fulfilled') return;
        await store
          .delete(archive)
          .catch((error: unknown) =>
            logger.error(
              { err: error, store: store.location },
              `could not remove ${archive} from ${store.location}; it has no manifest, so it is not a complete backup`,
            ),
          );
      }),
    );
    throw firstError;
  }
  return {
    sha256: archiveMeter.digest(),
    size: archiveMeter.bytes,
    sqlBytes: sqlMeter.bytes,
    rowCounts: rowCounter.counts,
    durationMs: Date.now() - started,
  };
}

interface DumpProcess {
  stdout: NodeJS.ReadableStream;
  /** Resolves when pg_dump exited 0; rejects with DumpFailed (exit code or signal + stderr tail). */
  exited: Promise<void>;
}

/** Plain-SQL pg_dump of the configured database; the password travels in PGPASSWORD, never in argv. */
function spawnPgDump(db: DatabaseConfig, signal: AbortSignal): DumpProcess {
  // Owners and privileges are kept: restoring maps owners, the dump must not lose them.
  const child = spawn('pg_dump', ['--format=plain', '--no-password'], {
    env: libpqEnv(db),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const kill = (): void => {
    child.kill('SIGTERM');
  };
  signal.addEventListener('abort', kill, { once: true });
  const exited = watchChild(child, STDERR_TAIL_BYTES).then((exit) => {
    signal.removeEventListener('abort', kill);
    if (exit.startError) {
      throw new DumpFailed(
        `pg_dump could not be started (${exit.startError.message}); is the PostgreSQL client installed?`,
        '',
      );
    }
    const said = exit.stderrTail.trim();
    if (exit.code === 0) return;
    if (exit.signal) throw new DumpFailed(`pg_dump was killed by ${exit.signal}`, said);
    throw new DumpFailed(`pg_dump failed with exit code ${exit.code}`, said);
  });
  exited.catch(() => undefined);
  return { stdout: child.stdout, exited };
}

/** Passes data through, but ends only after `until` resolves (and errors if it rejects). */
class Gate extends Transform {
  constructor(private readonly until: Promise<void>) {
    super();
  }
  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    callback(null, chunk);
  }
  override _flush(callback: TransformCallback): void {
    this.until.then(
      () => callback(),
      (error: unknown) => callback(error as Error),
    );
  }
}

/** Writes every chunk to all branches; waits until each branch that is full has drained. */
class Tee extends Writable {
  constructor(private readonly branches: readonly PassThrough[]) {
    super({ highWaterMark: 1 << 20 });
  }
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    const waits = this.branches.filter((branch) => !branch.write(chunk));
    if (waits.length === 0) return callback();
    let left = waits.length;
    let settled = false;
    const finish = (error?: Error): void => {
      for (const branch of waits) {
        branch.off('drain', drained);
        branch.off('close', closed);
      }
      if (!settled) {
        settled = true;
        callback(error);
      }
    };
    const drained = (): void => {
      if (--left === 0) finish();
    };
    const closed = (): void => finish(new Error('a backup destination stopped reading'));
    for (const branch of waits) {
      branch.once('drain', drained);
      branch.once('close', closed);
    }
  }
  override _final(callback: (error?: Error | null) => void): void {
    for (const branch of this.branches) branch.end();
    callback();
  }
  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    // A failed backup never ends a branch cleanly: each store must see an error and discard its copy.
    for (const branch of this.branches) {
      if (error || !branch.writableEnded) branch.destroy(error ?? new Error('backup aborted'));
    }
    callback(error);
  }
}
