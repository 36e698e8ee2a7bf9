/** Payload sizes around age's 64 KiB STREAM chunk: empty, one byte, a full chunk, one over, many chunks. */
export const AGE_CHUNK = 64 * 1024;

export const STREAM_SIZES: [title: string, size: number][] = [
  ['0 bytes', 0],
  ['1 byte', 1],
  ['64 KiB exactly', AGE_CHUNK],
  ['64 KiB + 1', AGE_CHUNK + 1],
  ['5 MiB', 5 << 20],
];
