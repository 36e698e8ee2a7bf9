/** Small stream pieces the backup, verify and restore data paths share. */
import type { Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';

/** Counts bytes (and hashes them, if given a hash) on their way through. */
export class ByteMeter extends Transform {
  bytes = 0;
  constructor(private readonly hash?: Hash) {
    super();
  }
  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    this.hash?.update(chunk);
    callback(null, chunk);
  }
  /** The hex digest of what passed (empty without a hash); call once, after the stream ended. */
  digest(): string {
    return this.hash?.digest('hex') ?? '';
  }
}

/** `1.5 MiB`: binary units, one decimal above bytes. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}
