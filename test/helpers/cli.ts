/**
 * Runs the real chatflow-db CLI (bin/chatflow-db.js -> dist/) as a child process, with a clean
 * environment: only what the test passes plus PATH/HOME, so the developer's own variables never leak in.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../../bin/chatflow-db.js', import.meta.url));
export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function baseEnv(): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/tmp',
    LOG_FORMAT: 'json',
    LOG_LEVEL: 'info',
  };
}

/** The child's whole environment: the base plus the test's variables, an undefined value removing one. */
export function cliEnv(env: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(
    Object.entries({ ...baseEnv(), ...env }).filter(
      (entry): entry is [string, string] => entry[1] !== undefined,
    ),
  );
}

export function runCli(
  args: string[],
  env: Record<string, string | undefined>,
  options: { timeoutMs?: number; input?: string } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const fullEnv = cliEnv(env);
    const child = spawn(process.execPath, [CLI, ...args], { env: fullEnv, cwd: REPO_ROOT });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 110_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    if (options.input !== undefined) child.stdin.end(options.input);
    else child.stdin.end();
  });
}
