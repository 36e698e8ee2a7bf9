/**
 * The live half of /healthz: does the database answer a SELECT 1, and how many migrations are
 * pending. Each check has a short timeout; concurrent requests share one probe and a result is reused
 * for `cacheMs`, so a busy scraper cannot pile up connections.
 */
import pg from 'pg';
import type { DatabaseConfig } from '../config/load.js';
import { clientOptions } from '../lib/db.js';
import { describeError } from '../lib/errors.js';
import type { HealthProbe } from './state.js';

export const PROBE_TIMEOUT_MS = 3000;

/** SELECT 1 on a fresh connection, within `timeoutMs` (connect included). */
export async function pingDatabase(
  db: DatabaseConfig,
  timeoutMs = PROBE_TIMEOUT_MS,
): Promise<HealthProbe['database']> {
  const client = new pg.Client({
    ...clientOptions(db),
    connectionTimeoutMillis: timeoutMs,
    query_timeout: timeoutMs,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return { ok: true };
  } catch (error) {
    return { ok: false, error: describeError(error).split('\n')[0] ?? 'unreachable' };
  } finally {
    await client.end().catch(() => undefined);
  }
}

export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export interface ProbeDeps {
  ping(): Promise<HealthProbe['database']>;
  /** Pending migration count (throws when it cannot be read). */
  pending(): Promise<number>;
  now?: () => number;
}

/** A cached, de-duplicated probe; `onPending` sees each successful migration count. */
export function createProbe(
  deps: ProbeDeps,
  cacheMs = 2000,
  onPending?: (count: number) => void,
): () => Promise<HealthProbe> {
  const now = deps.now ?? Date.now;
  let last: { at: number; result: Promise<HealthProbe> } | undefined;

  async function run(): Promise<HealthProbe> {
    const database = await deps.ping();
    if (!database.ok) return { database, migrations: { error: 'database unreachable' } };
    try {
      const pending = await withTimeout(deps.pending(), PROBE_TIMEOUT_MS, 'the migration status');
      onPending?.(pending);
      return { database, migrations: { pending } };
    } catch (error) {
      return { database, migrations: { error: describeError(error).split('\n')[0] ?? 'failed' } };
    }
  }

  return () => {
    if (last && now() - last.at < cacheMs) return last.result;
    const result = run();
    last = { at: now(), result };
    // Cache from completion, so a slow probe is not repeated immediately after it ends.
    void result.finally(() => {
      if (last?.result === result) last.at = now();
    });
    return result;
  };
}
