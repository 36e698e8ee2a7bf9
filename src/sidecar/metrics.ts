/**
 * /metrics in the Prometheus text format. Every value is read from the sidecar state at scrape time,
 * so the state object stays the single source of truth (counters are re-set from it on each scrape).
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { SidecarState } from './state.js';

export const METRIC_PREFIX = 'chatflow_db_';

export interface Metrics {
  contentType: string;
  render(): Promise<string>;
}

export function createMetrics(state: SidecarState, options: { processMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  const seconds = (date: Date | undefined): number => (date ? date.getTime() / 1000 : 0);

  new Gauge({
    name: `${METRIC_PREFIX}backup_last_success_timestamp_seconds`,
    help: 'Unix time at which the last successful backup was due (0: none since start).',
    registers: [registry],
    collect() {
      this.set(seconds(state.lastSuccess?.at));
    },
  });
  new Gauge({
    name: `${METRIC_PREFIX}backup_newest_stored_timestamp_seconds`,
    help: 'Creation time of the newest complete scheduled backup of this database in the stores (0: none or not read yet); survives restarts.',
    registers: [registry],
    collect() {
      this.set(seconds(state.stored?.newest?.createdAt));
    },
  });
  new Gauge({
    name: `${METRIC_PREFIX}backup_last_duration_seconds`,
    help: 'Duration of the last successful backup.',
    registers: [registry],
    collect() {
      this.set((state.lastSuccess?.durationMs ?? 0) / 1000);
    },
  });
  new Gauge({
    name: `${METRIC_PREFIX}backup_last_size_bytes`,
    help: 'Size of the last successful backup archive (.sql.gz).',
    registers: [registry],
    collect() {
      this.set(state.lastSuccess?.size ?? 0);
    },
  });
  new Gauge({
    name: `${METRIC_PREFIX}backup_last_failure_timestamp_seconds`,
    help: 'Unix time at which the last failed backup was due (0: none since start).',
    registers: [registry],
    collect() {
      this.set(seconds(state.lastFailure?.at));
    },
  });
  new Gauge({
    name: `${METRIC_PREFIX}backup_running`,
    help: '1 while a backup is in flight.',
    registers: [registry],
    collect() {
      this.set(state.running ? 1 : 0);
    },
  });
  counter(registry, 'backups_total', 'Successful backups since start.', () => state.backupsTotal);
  counter(registry, 'backup_failures_total', 'Failed backups since start.', () => state.failuresTotal);
  counter(
    registry,
    'prune_failures_total',
    'Failed retention runs since start.',
    () => state.pruneFailuresTotal,
  );
  new Counter({
    name: `${METRIC_PREFIX}backups_skipped_total`,
    help: 'Scheduled backups skipped: overlap (previous one still running) or locked (another sidecar is backing up).',
    labelNames: ['reason'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [reason, count] of Object.entries(state.skippedTotal)) this.inc({ reason }, count);
    },
  });
  new Gauge({
    name: `${METRIC_PREFIX}migrations_pending`,
    help: 'Pending migrations at the last check (-1: unknown).',
    registers: [registry],
    collect() {
      this.set(state.pendingMigrations ?? -1);
    },
  });
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: METRIC_PREFIX });

  return { contentType: registry.contentType, render: () => registry.metrics() };
}

function counter(registry: Registry, name: string, help: string, value: () => number): void {
  new Counter({
    name: `${METRIC_PREFIX}${name}`,
    help,
    registers: [registry],
    collect() {
      this.reset();
      this.inc(value());
    },
  });
}
