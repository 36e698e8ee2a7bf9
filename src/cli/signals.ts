/**
 * SIGINT/SIGTERM abort the signal a job runs with, so a stopped backup or restore cleans up after itself
 * (no partial object, the new database dropped) and the sidecar shuts down in order. The handlers are
 * removed when the job settles, so a second signal after that takes the default action.
 */
import { JobError } from '../lib/errors.js';

export async function withSignals<T>(
  job: (signal: AbortSignal) => Promise<T>,
  onSignal?: (signal: NodeJS.Signals) => void,
): Promise<T> {
  const controller = new AbortController();
  const stop = (signal: NodeJS.Signals): void => {
    onSignal?.(signal);
    controller.abort(new JobError(`stopped by ${signal}`));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    return await job(controller.signal);
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}
