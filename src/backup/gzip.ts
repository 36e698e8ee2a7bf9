/**
 * Parallel gzip, pigz-style: the input is cut into fixed-size chunks, each chunk becomes a complete gzip
 * member compressed on libuv's thread pool, and the members are emitted in input order. Concatenated gzip
 * members are one valid .gz file (RFC 1952 section 2.2): `gunzip -c`, `gzip -t` and zlib read it as one
 * stream. Independent members cost a little ratio (each chunk starts with an empty window): about 0.3 %
 * with 1 MiB chunks, measured in bench/backup.ts.
 *
 * Memory is bounded: at most `maxInFlight` chunks are being compressed or waiting to be emitted; when that
 * many are pending, the transform waits for the oldest before accepting more input (backpressure reaches
 * pg_dump through the pipe).
 */
import { Transform, type TransformCallback } from 'node:stream';
import { gzip } from 'node:zlib';
import { fullGc, minorGc } from '../lib/gc.js';

export interface ParallelGzipOptions {
  level: number;
  threads: number;
  /** Bytes of input per gzip member. */
  chunkSize?: number;
  /** Chunks compressing or waiting to be emitted; defaults to 2 x threads. */
  maxInFlight?: number;
}

/**
 * Output buffer of each zlib call: a member of a 1 MiB chunk at the default level is ~300 KiB, so one or two
 * of these per chunk; the member is then one exact-size Buffer, not a slice pinning a larger one.
 */
const OUTPUT_CHUNK = 256 * 1024;

interface Job {
  input: Uint8Array;
  resolve: (out: Buffer) => void;
  reject: (error: Error) => void;
}

/**
 * At most `threads` gzip calls at a time, started in submission order. Each call is zlib's asynchronous
 * gzip: the deflate runs on libuv's thread pool, off the main thread, with no V8 isolate of its own. (It
 * used to be worker threads: each one is a whole isolate, ~10 MiB of RSS on Node 20 and ~16 MiB on Node
 * 24, for a job that needs ~300 KiB of zlib state.) The pool's size is UV_THREADPOOL_SIZE, which
 * bin/chatflow-db.js raises above the compression threads before anything uses the pool.
 */
class GzipPool {
  private readonly queue: Job[] = [];
  private running = 0;
  private closed = false;
  /** Input buffers whose compression is done, reused for the next chunks. */
  private readonly spare: ArrayBuffer[] = [];

  constructor(
    private readonly level: number,
    private readonly threads: number,
    private readonly chunkSize: number,
    private readonly maxSpare: number,
  ) {}

  /** A buffer of chunkSize bytes to fill: one whose compression is done, or a new one. */
  takeBuffer(): ArrayBuffer {
    return this.spare.pop() ?? new ArrayBuffer(this.chunkSize);
  }

  /** Compresses the first `length` bytes of `input` (not to be touched until this settles) into one member. */
  compress(input: ArrayBuffer, length: number): Promise<Buffer> {
    if (this.closed) return Promise.reject(new Error('gzip pool closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ input: new Uint8Array(input, 0, length), resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.running < this.threads && this.queue.length > 0) {
      const job = this.queue.shift() as Job;
      this.running++;
      gzip(job.input, { level: this.level, chunkSize: OUTPUT_CHUNK }, (error, out) => {
        this.running--;
        if (this.spare.length < this.maxSpare) this.spare.push(job.input.buffer as ArrayBuffer);
        if (error) job.reject(new Error(`gzip failed: ${error.message}`, { cause: error }));
        else job.resolve(out);
        this.pump();
      });
    }
  }

  close(): Promise<void> {
    this.closed = true;
    const error = new Error('gzip pool closed');
    for (const job of this.queue) job.reject(error);
    this.queue.length = 0;
    return Promise.resolve();
  }
}

interface Pending {
  result: Promise<Buffer>;
}

export class ParallelGzip extends Transform {
  private readonly pool: GzipPool;
  private readonly maxInFlight: number;
  private readonly pending: Pending[] = [];
  /** The chunk being filled: input is copied straight into a reusable buffer, no concatenation. */
  private current: Uint8Array | undefined;
  private filled = 0;
  private members = 0;
  private emitted = 0;

  constructor(options: ParallelGzipOptions) {
    super({ highWaterMark: 1 << 20 });
    const threads = Math.max(1, options.threads);
    const chunkSize = options.chunkSize ?? 1 << 20;
    this.maxInFlight = Math.max(1, options.maxInFlight ?? threads * 2);
    this.pool = new GzipPool(options.level, threads, chunkSize, this.maxInFlight);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.accept(chunk).then(() => callback(), callback);
  }

  override _flush(callback: TransformCallback): void {
    this.finish().then(() => callback(), callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.pool.close().then(
      () => callback(error),
      () => callback(error),
    );
  }

  private async accept(chunk: Buffer): Promise<void> {
    let offset = 0;
    while (offset < chunk.length) {
      this.current ??= new Uint8Array(this.pool.takeBuffer());
      const copied = chunk.copy(this.current, this.filled, offset);
      offset += copied;
      this.filled += copied;
      if (this.filled === this.current.length) await this.submit();
    }
  }

  private async finish(): Promise<void> {
    // An empty dump still becomes a valid (empty) gzip file.
    if (this.filled > 0 || this.members === 0) {
      this.current ??= new Uint8Array(this.pool.takeBuffer());
      await this.submit();
    }
    while (this.pending.length > 0) await this.emitOldest();
    await this.pool.close();
  }

  /** Hands the current chunk to the pool; waits for the oldest results while too many are pending. */
  private async submit(): Promise<void> {
    const buffer = this.current as Uint8Array;
    const result = this.pool.compress(buffer.buffer as ArrayBuffer, this.filled);
    this.current = undefined;
    this.filled = 0;
    this.members++;
    // Rejections are handled when the chunk is emitted; avoid an unhandled-rejection warning meanwhile.
    result.catch(() => undefined);
    this.pending.push({ result });
    while (this.pending.length >= this.maxInFlight) await this.emitOldest();
  }

  private async emitOldest(): Promise<void> {
    const oldest = this.pending.shift();
    if (oldest) this.push(await oldest.result);
    // Dead 64 KiB pipe reads and compressed chunks are external memory that V8 lets pile up to ~64 MiB
    // before it collects. A young-generation GC every 8 MiB of input (~0.05 ms) keeps the RSS flat once
    // V8 collects the old generation on its own; before its first such collection (the first ~64 MiB of
    // input) 40-50 MiB of dead buffers pile up there, so a full GC every 16 MiB until then (four of them,
    // ~10 ms each) cuts the peak by ~20 MiB (Node 24, bench/backup.ts).
    this.emitted++;
    if (this.emitted <= 64 && this.emitted % 16 === 0) fullGc();
    else if (this.emitted % 8 === 0) minorGc();
  }
}
