/**
 * What the sidecar knows about its backups, as one small plain object, and the pure health decision
 * made from it. The scheduler writes its own runs, freshness.ts writes what the stores hold (so the
 * judgement survives restarts), /healthz and /metrics read it; nothing here does I/O.
 */
import { formatDuration } from '../lib/duration.js';

export interface BackupRecord {
  /** When the run was due (the cron slot) or, for BACKUP_ON_START, when it began. */
  at: Date;
  finishedAt: Date;
  durationMs: number;
  name?: string;
  size?: number;
  error?: string;
}

export type SkipReason = 'overlap' | 'locked';

/** The newest complete scheduled backup of this database in the stores (manifest facts). */
export interface StoredBackup {
  name: string;
  /** The manifest's creation time. */
  createdAt: Date;
  location: string;
}

/** The last reading of the stores. */
export interface StoreReading {
  newest: StoredBackup | undefined;
  checkedAt: Date;
  /** Stores that could not be read (`location: message`); the others were. */
  errors: string[];
}

export interface SidecarState {
  readonly startedAt: Date;
  /** The backup in flight, if any: the slot it stands for and when it began. */
  running: { at: Date; reason: RunReason; startedAt: Date } | undefined;
  /** What the stores held at the last reading; undefined until one finished. */
  stored: StoreReading | undefined;
  lastSuccess: BackupRecord | undefined;
  lastFailure: BackupRecord | undefined;
  /** Last run skipped because another sidecar held the backup lock (that replica covers the slot). */
  lastLockedAt: Date | undefined;
  backupsTotal: number;
  failuresTotal: number;
  skippedTotal: Record<SkipReason, number>;
  pruneFailuresTotal: number;
  /** From the last migration status check; undefined until one succeeded. */
  pendingMigrations: number | undefined;
}

export type RunReason = 'scheduled' | 'start';

export function createState(now: Date): SidecarState {
  return {
    startedAt: now,
    running: undefined,
    stored: undefined,
    lastSuccess: undefined,
    lastFailure: undefined,
    lastLockedAt: undefined,
    backupsTotal: 0,
    failuresTotal: 0,
    skippedTotal: { overlap: 0, locked: 0 },
    pruneFailuresTotal: 0,
    pendingMigrations: undefined,
  };
}

export function recordStarted(state: SidecarState, at: Date, reason: RunReason, startedAt = at): void {
  state.running = { at, reason, startedAt };
}

export function recordSuccess(state: SidecarState, record: BackupRecord): void {
  state.running = undefined;
  state.lastSuccess = record;
  state.backupsTotal += 1;
}

export function recordFailure(state: SidecarState, record: BackupRecord): void {
  state.running = undefined;
  state.lastFailure = record;
  state.failuresTotal += 1;
}

/** A run that ended without an outcome (aborted by shutdown): neither success nor failure. */
export function recordAborted(state: SidecarState): void {
  state.running = undefined;
}

export function recordSkipped(state: SidecarState, reason: SkipReason, at: Date): void {
  state.skippedTotal[reason] += 1;
  if (reason === 'locked') state.lastLockedAt = at;
}

/** What a health request measured just now. */
export interface HealthProbe {
  database: { ok: true } | { ok: false; error: string };
  /** Pending migrations, or an error if the status could not be read. */
  migrations: { pending: number } | { error: string };
}

export interface HealthDecision {
  healthy: boolean;
  /** Why it is unhealthy (empty when healthy). */
  reasons: string[];
}

/** Where the sidecar stands against its schedule when /healthz is asked. */
export interface HealthClock {
  now: Date;
  /** The latest cron slot older than the grace (healthGraceMs), or undefined. */
  due: Date | undefined;
  /** BACKUP_TIMEOUT in milliseconds. */
  timeoutMs: number;
}

/** A backup made at most this long before a slot still covers it (a slot fired a little early). */
const SLOT_TOLERANCE_MS = 1000;
/** A slot counts as due this long after it fired: time for the scheduler to start and lock. */
export const HEALTH_GRACE_MS = 60_000;

/**
 * The grace after a slot fired before it is judged: 60 s, or half the interval between the next two
 * slots when the schedule fires more often (so a per-second schedule is judged each second).
 */
export function healthGraceMs(nextRuns: readonly Date[]): number {
  const [first, second] = nextRuns;
  if (!first || !second) return HEALTH_GRACE_MS;
  return Math.min(HEALTH_GRACE_MS, Math.floor((second.getTime() - first.getTime()) / 2));
}

/**
 * Healthy when the database answers, no migration is pending, and backups are on time:
 * - the newest outcome is not a failure (a failure counts until a later success, here or in the stores);
 * - a backup in flight has not run past its slot (the next slot came due) nor past BACKUP_TIMEOUT;
 * - the last slot that is due (`clock.due`) is covered: by a complete scheduled backup of this database
 *   made at or after it (in the stores, which survive restarts, or by this process), by the backup of
 *   that slot still in flight, or, for at most BACKUP_TIMEOUT, by another sidecar holding the lock.
 */
export function decideHealth(state: SidecarState, probe: HealthProbe, clock: HealthClock): HealthDecision {
  const reasons: string[] = [];
  if (!probe.database.ok) reasons.push(`database: ${probe.database.error}`);
  if ('error' in probe.migrations) {
    if (probe.database.ok) reasons.push(`migrations: status unknown (${probe.migrations.error})`);
  } else if (probe.migrations.pending > 0) {
    reasons.push(`migrations: ${probe.migrations.pending} pending (run \`chatflow-db migrate\`)`);
  }
  const backup = backupReason(state, clock);
  if (backup !== undefined) reasons.push(`backup: ${backup}`);
  return { healthy: reasons.length === 0, reasons };
}

function backupReason(state: SidecarState, clock: HealthClock): string | undefined {
  const { now, due, timeoutMs } = clock;
  const newestSuccess = Math.max(
    state.lastSuccess?.at.getTime() ?? -Infinity,
    state.stored?.newest?.createdAt.getTime() ?? -Infinity,
  );
  const locked = state.lastLockedAt?.getTime() ?? -Infinity;
  const failure = state.lastFailure;
  if (failure && failure.at.getTime() >= Math.max(newestSuccess, locked)) {
    return `the last backup (due ${failure.at.toISOString()}) failed: ${failure.error ?? 'unknown error'}`;
  }

  const running = state.running;
  if (running) {
    if (due && due.getTime() > running.at.getTime()) {
      return `the backup due at ${running.at.toISOString()} is still running past the slot due at ${due.toISOString()}`;
    }
    const ranMs = now.getTime() - running.startedAt.getTime();
    if (ranMs > timeoutMs) {
      return `the backup due at ${running.at.toISOString()} has been running for ${formatDuration(ranMs)}, longer than BACKUP_TIMEOUT (${formatDuration(timeoutMs)})`;
    }
  }

  if (!due) return undefined;
  const from = due.getTime() - SLOT_TOLERANCE_MS;
  const covered =
    newestSuccess >= from ||
    (running !== undefined && running.at.getTime() >= from) ||
    (locked >= from && now.getTime() - locked <= timeoutMs);
  if (covered) return undefined;
  const unread = state.stored?.errors.length
    ? ` (stores could not be read: ${state.stored.errors.join('; ')})`
    : '';
  const newest = state.stored?.newest;
  if (newestSuccess === -Infinity) {
    return `no complete scheduled backup of this database in the stores, and the slot due at ${due.toISOString()} has none${unread}`;
  }
  const known = newest ? `; newest: ${newest.name} of ${newest.createdAt.toISOString()}` : '';
  return `no successful backup since the one due at ${due.toISOString()}${known}${unread}`;
}

/** The /healthz response body: the decision, what it was made from, and the schedule around now. */
export function healthBody(
  state: SidecarState,
  probe: HealthProbe,
  decision: HealthDecision,
  schedule: { due: Date | undefined; next: Date | undefined; timeoutMs: number },
): Record<string, unknown> {
  return {
    status: decision.healthy ? 'ok' : 'unhealthy',
    reasons: decision.reasons,
    database: probe.database.ok ? 'ok' : 'unreachable',
    pendingMigrations: 'pending' in probe.migrations ? probe.migrations.pending : null,
    backup: {
      running: state.running !== undefined,
      runningSince: state.running?.startedAt.toISOString() ?? null,
      timeoutSeconds: schedule.timeoutMs / 1000,
      newestStored: state.stored?.newest
        ? { ...state.stored.newest, createdAt: state.stored.newest.createdAt.toISOString() }
        : null,
      storesCheckedAt: state.stored?.checkedAt.toISOString() ?? null,
      storeErrors: state.stored?.errors ?? [],
      lastSuccess: state.lastSuccess ?? null,
      lastFailure: state.lastFailure ?? null,
      due: schedule.due?.toISOString() ?? null,
      next: schedule.next?.toISOString() ?? null,
    },
  };
}
