/**
 * psql as the restore's sink. Its exit code and the tail of its stderr are awaited apart from the stream
 * feeding it: a pipeline can finish cleanly while psql failed, and psql can exit 0 on input that was
 * cut short, so the caller weighs both.
 */
import { spawn } from 'node:child_process';
import type { Writable } from 'node:stream';
import { watchChild } from '../lib/process.js';

export interface PsqlExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The last few KiB of stderr (errors, notices). */
  stderrTail: string;
}

export interface PsqlProcess {
  stdin: Writable;
  exit: Promise<PsqlExit>;
  kill(): void;
}

const TAIL_BYTES = 4096;

/**
 * `psql -X -q -w -v ON_ERROR_STOP=1` reading SQL from stdin, connected by `env` (libpq variables, the
 * password included, never argv). No --single-transaction: the restore goes into a throwaway database
 * that is dropped on any failure, so a transaction adds nothing, and one spanning a whole dump can run
 * out of lock slots (max_locks_per_transaction) on schemas with many tables.
 */
export function spawnPsql(env: NodeJS.ProcessEnv, command = 'psql'): PsqlProcess {
  const child = spawn(command, ['-X', '-q', '-w', '-v', 'ON_ERROR_STOP=1'], {
    env,
    stdio: ['pipe', 'ignore', 'pipe'],
  });
  const exit = watchChild(child, TAIL_BYTES).then(({ code, signal, startError, stderrTail }): PsqlExit => ({
    code,
    signal,
    stderrTail: (startError ? `${stderrTail}\n${startError.message}` : stderrTail).trim(),
  }));
  // A write after psql exited raises EPIPE on stdin; the pipeline reports it, this keeps it off 'error'.
  child.stdin.on('error', () => undefined);
  return {
    stdin: child.stdin,
    exit,
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    },
  };
}

/** The last `lines` lines of psql's stderr, for an error message. */
export function lastLines(text: string, lines = 5): string {
  return text.split('\n').filter(Boolean).slice(-lines).join('\n');
}
