/**
 * Settles with `work`, or rejects with the signal's reason as soon as `signal` aborts. For read-only
 * steps (a stat, a version query) that cannot be cancelled themselves: a shutdown need not wait for them.
 */
export function unlessAborted<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work;
  if (signal.aborted) return Promise.reject(abortReason(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(abortReason(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

export const aborted = Symbol('aborted');

/**
 * Like unlessAborted, but an abort resolves to `aborted` instead of rejecting: start-up steps give way to
 * a shutdown request, and the abandoned step dies with the process.
 */
export async function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T | typeof aborted> {
  try {
    return await unlessAborted(work, signal);
  } catch (error) {
    if (signal.aborted) return aborted;
    throw error;
  }
}

function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason : new Error('aborted');
}
