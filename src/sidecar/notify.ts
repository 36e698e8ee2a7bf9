/**
 * Webhook notifications: a JSON POST to NOTIFY_WEBHOOK_URL, fire-and-forget so that a slow or dead
 * receiver never delays the schedule. Each attempt has its own timeout; failed attempts are retried
 * with exponential backoff. The URL is never logged: it often carries a token.
 */
import { hostname } from 'node:os';
import type { Logger } from '../lib/logger.js';

export type NotifyEventName = 'backup.failed' | 'backup.succeeded' | 'prune.failed' | 'drill.failed';

export interface NotifyPayload {
  source: 'chatflow-db';
  event: NotifyEventName;
  status: 'failure' | 'success';
  host: string;
  database: string;
  /** ISO 8601, UTC. */
  at: string;
  message: string;
  backup?: { name: string; size: number; durationMs: number; locations: string[] };
  error?: string;
}

export interface NotifyOptions {
  webhookUrl: string | undefined;
  onSuccess: boolean;
  timeoutMs: number;
  retries: number;
}

export interface Notifier {
  /** Sends in the background; returns at once. */
  notify(payload: Omit<NotifyPayload, 'source' | 'host' | 'at'>): void;
  /** Waits for sends in flight, aborting them after `timeoutMs` (shutdown). */
  close(timeoutMs: number): Promise<void>;
}

export interface NotifierDeps {
  logger: Logger;
  fetch?: typeof globalThis.fetch;
  /** First retry delay; doubles per retry (capped at 30 s). */
  backoffMs?: number;
}

export function createNotifier(options: NotifyOptions, deps: NotifierDeps): Notifier {
  const { logger } = deps;
  const fetchFn = deps.fetch ?? globalThis.fetch;
  const backoffMs = deps.backoffMs ?? 1000;
  const closing = new AbortController();
  const inFlight = new Set<Promise<void>>();
  const url = options.webhookUrl;

  async function send(payload: NotifyPayload): Promise<void> {
    if (url === undefined) return;
    const body = JSON.stringify(payload);
    for (let attempt = 1; attempt <= options.retries + 1; attempt++) {
      if (closing.signal.aborted) return;
      let problem: string;
      try {
        const response = await fetchFn(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'user-agent': 'chatflow-db' },
          body,
          signal: AbortSignal.any([closing.signal, AbortSignal.timeout(options.timeoutMs)]),
        });
        await response.body?.cancel().catch(() => undefined);
        if (response.ok) {
          logger.debug({ event: payload.event, attempt }, 'notification sent');
          return;
        }
        problem = `HTTP ${response.status}`;
      } catch (error) {
        problem = describeFetchError(error);
      }
      const last = attempt > options.retries;
      logger.warn(
        { event: payload.event, attempt, problem },
        last ? 'notification failed; giving up' : 'notification failed; retrying',
      );
      if (!last) await delay(Math.min(backoffMs * 2 ** (attempt - 1), 30_000), closing.signal);
    }
  }

  return {
    notify(partial) {
      if (url === undefined) return;
      if (partial.status === 'success' && !options.onSuccess) return;
      const payload: NotifyPayload = {
        source: 'chatflow-db',
        host: hostname(),
        at: new Date().toISOString(),
        ...partial,
      };
      const promise = send(payload).catch((error: unknown) => {
        logger.warn({ event: payload.event, problem: describeFetchError(error) }, 'notification failed');
      });
      inFlight.add(promise);
      void promise.finally(() => inFlight.delete(promise));
    },
    async close(timeoutMs) {
      const timer = setTimeout(() => closing.abort(), timeoutMs);
      await Promise.allSettled([...inFlight]);
      clearTimeout(timer);
      closing.abort();
    },
  };
}

/** The reason of a failed fetch without its URL: the error name or code, never the target. */
function describeFetchError(error: unknown): string {
  if (error instanceof Error) {
    if (error.name === 'TimeoutError') return 'timed out';
    if (error.name === 'AbortError') return 'aborted';
    const code = (error.cause as { code?: unknown } | undefined)?.code;
    // Messages may quote the URL (e.g. a parse error), so only the name and the system code are kept.
    return typeof code === 'string' ? `${error.name} (${code})` : error.name;
  }
  return 'unknown error';
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
