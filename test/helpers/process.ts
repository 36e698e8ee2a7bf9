/**
 * A long-running chatflow-db (e.g. `start`) as a child process that a test can watch and signal:
 * stderr is parsed as pino JSON lines as it arrives, `waitForLog` waits for a line, `exited` resolves
 * with the exit code. Same clean environment as runCli.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { CLI, cliEnv, REPO_ROOT, type CliResult } from './cli.js';

export type LogLine = Record<string, unknown> & { msg?: string; level?: number };

export interface RunningCli {
  readonly pid: number;
  readonly child: ChildProcessWithoutNullStreams;
  stdout(): string;
  stderr(): string;
  /** Every JSON log line so far. */
  logs(): LogLine[];
  /** Resolves with the first log line (past or future) matching `predicate`. */
  waitForLog(predicate: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  signal(signal: NodeJS.Signals): void;
  readonly exited: Promise<CliResult>;
  /** SIGKILL if still running, then wait (for afterAll). */
  kill(): Promise<void>;
}

export function spawnCli(args: string[], env: Record<string, string | undefined>): RunningCli {
  const fullEnv = cliEnv(env);
  const child = spawn(process.execPath, [CLI, ...args], { env: fullEnv, cwd: REPO_ROOT });
  let stdout = '';
  let stderr = '';
  let partial = '';
  const lines: LogLine[] = [];
  const waiters = new Set<{ predicate: (line: LogLine) => boolean; resolve: (line: LogLine) => void }>();
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
    partial += chunk;
    const complete = partial.split('\n');
    partial = complete.pop() ?? '';
    for (const text of complete) {
      let line: LogLine;
      try {
        line = JSON.parse(text) as LogLine;
      } catch {
        continue;
      }
      lines.push(line);
      for (const waiter of waiters) {
        if (waiter.predicate(line)) {
          waiters.delete(waiter);
          waiter.resolve(line);
        }
      }
    }
  });
  child.stdin.end();
  let running = true;
  const exited = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      running = false;
      resolve({ code, signal, stdout, stderr });
    });
  });

  return {
    pid: child.pid ?? -1,
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    logs: () => [...lines],
    waitForLog(predicate, timeoutMs = 30_000) {
      const found = lines.find(predicate);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const waiter = {
          predicate,
          resolve: (line: LogLine) => {
            clearTimeout(timer);
            resolve(line);
          },
        };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(
            new Error(`no matching log line within ${timeoutMs} ms; stderr so far:\n${stderr.slice(-4000)}`),
          );
        }, timeoutMs);
        waiters.add(waiter);
        void exited.then(() => {
          if (!waiters.has(waiter)) return;
          waiters.delete(waiter);
          clearTimeout(timer);
          reject(new Error(`the process exited before a matching log line; stderr:\n${stderr.slice(-4000)}`));
        });
      });
    },
    signal: (signal) => {
      if (running) child.kill(signal);
    },
    exited,
    async kill() {
      if (running) child.kill('SIGKILL');
      await exited.catch(() => undefined);
    },
  };
}

/** Polls `check` until it returns a value other than undefined, or throws after `timeoutMs`. */
export async function eventually<T>(
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 30_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`, { cause: lastError });
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
