#!/usr/bin/env node
// The compiled CLI lives in dist/ (built by `npm ci` through the `prepare` script).
import { availableParallelism } from 'node:os';

// Backups compress on libuv's thread pool (src/backup/gzip.ts), 4 threads unless told otherwise; it must
// hold the compression threads plus room for file I/O. Only read before the pool's first use, hence here.
if (process.env.UV_THREADPOOL_SIZE === undefined) {
  const threads = Number(process.env.BACKUP_COMPRESSION_THREADS) || availableParallelism();
  if (threads + 2 > 4) process.env.UV_THREADPOOL_SIZE = String(Math.min(1024, threads + 2));
}
await import('../dist/src/cli/main.js');
