/**
 * Runs a step that must not be cut in half by SIGINT/SIGTERM (a restore's cut-over): while it runs, those
 * signals are noted and logged instead of taking their default action (a second Ctrl-C would otherwise
 * kill the process between two committed statements). The job's own abort handling sees the signal
 * before or after the step, never inside it. SIGKILL cannot be caught: what it leaves is repaired later.
 */
import type { Logger } from './logger.js';

export async function withSignalsDeferred<T>(
  what: string,
  logger: Logger,
  work: () => Promise<T>,
): Promise<T> {
  const note = (signal: NodeJS.Signals): void => {
    logger.warn({ signal }, `${signal} received during ${what}: it finishes first (a few seconds at most)`);
  };
  process.on('SIGINT', note);
  process.on('SIGTERM', note);
  try {
    return await work();
  } finally {
    process.off('SIGINT', note);
    process.off('SIGTERM', note);
  }
}
