/**
 * How a child process (pg_dump, psql) is awaited: its exit apart from its streams, because a pipeline can
 * end cleanly while the process behind it failed, and a bounded tail of its stderr for the error message
 * (a long run's notices must not grow without limit).
 */
import type { ChildProcess } from 'node:child_process';

export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the process could not be started (e.g. the command is not installed). */
  startError?: Error;
  /** The last `tailChars` characters of stderr, as written (not trimmed). */
  stderrTail: string;
}

/** Collects `child`'s stderr tail (the child must have been spawned with a piped stderr) and its exit. */
export function watchChild(child: ChildProcess, tailChars: number): Promise<ChildExit> {
  let tail = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    tail = (tail + chunk).slice(-tailChars);
  });
  return new Promise((resolve) => {
    let startError: Error | undefined;
    child.once('error', (error) => {
      startError = error;
      // A process that never started emits no 'close' on every Node version; settle here too.
      if (child.pid === undefined) resolve({ code: null, signal: null, startError, stderrTail: tail });
    });
    child.once('close', (code, signal) =>
      resolve({ code, signal, ...(startError ? { startError } : {}), stderrTail: tail }),
    );
  });
}
