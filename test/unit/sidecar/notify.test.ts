import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createNotifier, type NotifyOptions } from '../../../src/sidecar/notify.js';
import { createMetrics } from '../../../src/sidecar/metrics.js';
import { createState, recordFailure, recordSkipped, recordSuccess } from '../../../src/sidecar/state.js';

const URL_WITH_TOKEN = 'https://hooks.example.com/services/T000/B000/SECRET-TOKEN';

function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(chunk.toString());
      callback();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines };
}

type FetchCall = { url: string; init: RequestInit };

function fakeFetch(responses: Array<number | Error | 'hang'>, calls: FetchCall[]): typeof fetch {
  return ((url: string, init: RequestInit) => {
    calls.push({ url, init });
    const next = responses.shift() ?? 200;
    if (next === 'hang') {
      return new Promise((_, reject) =>
        init.signal?.addEventListener('abort', () => reject(init.signal?.reason as Error)),
      );
    }
    if (next instanceof Error) return Promise.reject(next);
    return Promise.resolve(new Response('ok', { status: next }));
  }) as typeof fetch;
}

const options = (extra: Partial<NotifyOptions> = {}): NotifyOptions => ({
  webhookUrl: URL_WITH_TOKEN,
  onSuccess: false,
  timeoutMs: 50,
  retries: 2,
  ...extra,
});
const failure = {
  event: 'backup.failed' as const,
  status: 'failure' as const,
  database: 'chatflow',
  message: 'Backup failed.',
  error: 'boom',
};

describe('notifier', () => {
  it('POSTs the JSON payload of a failure', async () => {
    const calls: FetchCall[] = [];
    const notifier = createNotifier(options(), { logger: capture().logger, fetch: fakeFetch([200], calls) });
    notifier.notify(failure);
    await notifier.close(1000);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.url).toBe(URL_WITH_TOKEN);
    expect(calls[0]?.init.method).toBe('POST');
    const body = JSON.parse(calls[0]?.init.body as string) as Record<string, unknown>;
    expect(body).toMatchObject({ source: 'chatflow-db', ...failure });
    expect(typeof body.host).toBe('string');
    expect(new Date(body.at as string).getTime()).not.toBeNaN();
  });

  it('retries with backoff, then gives up, never logging the URL', async () => {
    const calls: FetchCall[] = [];
    const { logger, lines } = capture();
    const notifier = createNotifier(options(), {
      logger,
      fetch: fakeFetch(
        [500, Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } }), 'hang'],
        calls,
      ),
      backoffMs: 5,
    });
    notifier.notify(failure);
    await notifier.close(2000);
    expect(calls).toHaveLength(3);
    const log = lines.join('');
    expect(log).toContain('HTTP 500');
    expect(log).toContain('ECONNREFUSED');
    expect(log).toContain('timed out');
    expect(log).toContain('giving up');
    expect(log).not.toContain('SECRET-TOKEN');
    expect(log).not.toContain('hooks.example.com');
  });

  it('returns at once (fire-and-forget)', () => {
    const notifier = createNotifier(options({ timeoutMs: 10_000 }), {
      logger: capture().logger,
      fetch: fakeFetch(['hang'], []),
    });
    const began = Date.now();
    notifier.notify(failure);
    expect(Date.now() - began).toBeLessThan(50);
    return notifier.close(10);
  });

  it('sends successes only with NOTIFY_ON_SUCCESS, and nothing without a URL', async () => {
    const success = {
      event: 'backup.succeeded' as const,
      status: 'success' as const,
      database: 'chatflow',
      message: 'ok',
    };
    const calls: FetchCall[] = [];
    for (const extra of [{}, { onSuccess: true }, { webhookUrl: undefined, onSuccess: true }]) {
      const notifier = createNotifier(options(extra), {
        logger: capture().logger,
        fetch: fakeFetch([], calls),
      });
      notifier.notify(success);
      await notifier.close(1000);
    }
    expect(calls).toHaveLength(1);
  });
});

describe('metrics', () => {
  it('renders the state in the Prometheus text format', async () => {
    const state = createState(new Date('2024-02-10T00:00:00Z'));
    recordSuccess(state, {
      at: new Date('2024-02-10T02:00:00Z'),
      finishedAt: new Date(),
      durationMs: 1500,
      size: 4096,
      name: 'n',
    });
    recordSuccess(state, {
      at: new Date('2024-02-10T03:00:00Z'),
      finishedAt: new Date(),
      durationMs: 2500,
      size: 8192,
      name: 'n',
    });
    recordFailure(state, {
      at: new Date('2024-02-10T04:00:00Z'),
      finishedAt: new Date(),
      durationMs: 10,
      error: 'x',
    });
    recordSkipped(state, 'overlap', new Date());
    state.pendingMigrations = 0;
    const metrics = createMetrics(state, { processMetrics: false });
    const text = await metrics.render();
    expect(metrics.contentType).toMatch(/^text\/plain/);
    expect(text).toContain(
      `chatflow_db_backup_last_success_timestamp_seconds ${Date.parse('2024-02-10T03:00:00Z') / 1000}`,
    );
    expect(text).toContain('chatflow_db_backup_last_duration_seconds 2.5');
    expect(text).toContain('chatflow_db_backup_last_size_bytes 8192');
    expect(text).toContain('# TYPE chatflow_db_backups_total counter');
    expect(text).toContain('chatflow_db_backups_total 2');
    expect(text).toContain('chatflow_db_backup_failures_total 1');
    expect(text).toContain('chatflow_db_backups_skipped_total{reason="overlap"} 1');
    expect(text).toContain('chatflow_db_migrations_pending 0');
    // Scraping twice does not double the counters.
    expect(await metrics.render()).toContain('chatflow_db_backups_total 2');
  });

  it('adds the process metrics by default', async () => {
    expect(await createMetrics(createState(new Date())).render()).toContain(
      'chatflow_db_process_resident_memory_bytes',
    );
  });
});
