/**
 * Parallel gzip, pigz-style: the input is cut into fixed-size chunks, each chunk becomes a complete gzip
 * member compressed on a worker thread, and the members are emitted in input order. Concatenated gzip
 * members are one valid .gz file (RFC 1952 section 2.2): `gunzip -c`, `gzip -t` and zlib read it as one
 * stream. Independent members cost a little ratio (each chunk starts with an empty window): about 0.3 %
 * with 1 MiB chunks, measured in bench/backup.ts.
 *
 * Memory is bounded: at most `maxInFlight` chunks are being compressed or waiting to be emitted; when that
 * many are pending, the transform waits for the oldest before accepting more input (backpressure reaches
 * pg_dump through the pipe).
 */
import { Transform, type TransformCallback } from 'node:stream';
import { Worker } from 'node:worker_threads';

export interface ParallelGzipOptions {
  level: number;
  threads: number;
  /** Bytes of input per gzip member. */
  chunkSize?: number;
  /** Chunks compressing or waiting to be emitted; defaults to 2 x threads. */
  maxInFlight?: number;
}

// Inline (eval) worker: it works from dist/ and from the TypeScript sources under vitest alike.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { gzipSync } = require('node:zlib');
parentPort.on('message', ({ id, data }) => {
  try {
    parentPort.postMessage({ id, data: gzipSync(data, { level: workerData.level }) });
  } catch (error) {
    parentPort.postMessage({ id, error: String((error && error.message) || error) });
  }
});
`;

interface Job {
  id: number;
  data: Buffer;
  resolve: (out: Buffer) => void;
  reject: (error: Error) => void;
}

/** N workers, one job each at a time, jobs started in submission order. */
class GzipPool {
  private readonly workers: Worker[] = [];
  private readonly idle: Worker[] = [];
  private readonly queue: Job[] = [];
  private readonly running = new Map<Worker, Job>();
  private nextId = 0;
  private failure: Error | undefined;

  constructor(level: number, threads: number) {
    for (let i = 0; i < threads; i++) {
      const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { level } });
      worker.on('message', (message: { id: number; data?: Uint8Array; error?: string }) => {
        const job = this.running.get(worker);
        this.running.delete(worker);
        if (job) {
          if (message.error !== undefined || !message.data)
            job.reject(new Error(`gzip failed: ${message.error ?? 'no output'}`));
          else
            job.resolve(Buffer.from(message.data.buffer, message.data.byteOffset, message.data.byteLength));
        }
        this.idle.push(worker);
        this.pump();
      });
      worker.on('error', (error) =>
        this.fail(new Error(`gzip worker failed: ${error.message}`, { cause: error })),
      );
      worker.on('exit', (code) => {
        if (this.running.has(worker)) this.fail(new Error(`gzip worker exited with code ${code}`));
      });
      this.workers.push(worker);
      this.idle.push(worker);
    }
  }

  compress(data: Buffer): Promise<Buffer> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, data, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.idle.length > 0 && this.queue.length > 0) {
      const worker = this.idle.pop() as Worker;
      const job = this.queue.shift() as Job;
      this.running.set(worker, job);
      worker.postMessage({ id: job.id, data: job.data });
    }
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const job of [...this.running.values(), ...this.queue]) job.reject(error);
    this.running.clear();
    this.queue.length = 0;
  }

  async close(): Promise<void> {
    this.fail(new Error('gzip pool closed'));
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

interface Pending {
  result: Promise<Buffer>;
}

export class ParallelGzip extends Transform {
  private readonly pool: GzipPool;
  private readonly chunkSize: number;
  private readonly maxInFlight: number;
  private readonly pending: Pending[] = [];
  private buffered: Buffer[] = [];
  private bufferedBytes = 0;
  private members = 0;

  constructor(options: ParallelGzipOptions) {
    super({ highWaterMark: 1 << 20 });
    const threads = Math.max(1, options.threads);
    this.pool = new GzipPool(options.level, threads);
    this.chunkSize = options.chunkSize ?? 1 << 20;
    this.maxInFlight = Math.max(1, options.maxInFlight ?? threads * 2);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.buffered.push(chunk);
    this.bufferedBytes += chunk.length;
    this.drain(false).then(() => callback(), callback);
  }

  override _flush(callback: TransformCallback): void {
    this.drain(true).then(() => callback(), callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.pool.close().then(
      () => callback(error),
      () => callback(error),
    );
  }

  /** Submits full chunks (and the rest, at the end), emitting results in order while too many are pending. */
  private async drain(final: boolean): Promise<void> {
    while (
      this.bufferedBytes >= this.chunkSize ||
      (final && (this.bufferedBytes > 0 || this.members === 0))
    ) {
      const all = this.buffered.length === 1 ? (this.buffered[0] as Buffer) : Buffer.concat(this.buffered);
      const size = Math.min(this.chunkSize, all.length);
      const piece = all.subarray(0, size);
      const rest = all.subarray(size);
      this.buffered = rest.length > 0 ? [rest] : [];
      this.bufferedBytes = rest.length;
      this.submit(piece);
      while (this.pending.length >= this.maxInFlight) await this.emitOldest();
    }
    if (final) {
      while (this.pending.length > 0) await this.emitOldest();
      await this.pool.close();
    }
  }

  private submit(piece: Buffer): void {
    this.members++;
    const result = this.pool.compress(piece);
    // Rejections are handled when the chunk is emitted; avoid an unhandled-rejection warning meanwhile.
    result.catch(() => undefined);
    this.pending.push({ result });
  }

  private async emitOldest(): Promise<void> {
    const oldest = this.pending.shift();
    if (oldest) this.push(await oldest.result);
  }
}
