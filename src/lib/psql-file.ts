import { spawn } from 'node:child_process';
import { JobError } from './errors.js';
import { watchChild } from './process.js';

/**
 * Runs one SQL file with `psql -v ON_ERROR_STOP=1 -f` against the database `env` points to (libpq
 * variables, see db.ts libpqEnv). Resolves with psql's stderr (notices); rejects with its tail on failure.
 */
export function psqlFile(file: string, env: NodeJS.ProcessEnv): Promise<string> {
  const child = spawn('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-f', file], {
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  return watchChild(child, 64 * 1024).then(({ code, signal, startError, stderrTail }) => {
    if (startError)
      throw new JobError(`Cannot run psql for ${file}: ${startError.message}`, { cause: startError });
    if (code === 0) return stderrTail;
    throw new JobError(`psql -f ${file} failed (${signal ?? `exit code ${code}`}):\n${stderrTail.trim()}`);
  });
}
