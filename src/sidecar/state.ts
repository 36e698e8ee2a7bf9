/**
 * What the sidecar knows about its own backups, as one small plain object, and the pure health decision
 * made from it. The scheduler writes it, /healthz and /metrics read it; nothing here does I/O.
 */

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

export interface SidecarState {
  readonly startedAt: Date;
  /** The backup in flight, if any. */
  running: { at: Date; reason: RunReason } | undefined;
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

export function recordStarted(state: SidecarState, at: Date, reason: RunReason): void {
  state.running = { at, reason };
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

/** A scheduled run counts as covering a slot if it was started at most this long before the slot. */
const SLOT_TOLERANCE_MS = 1000;

/**
 * Healthy when the database answers, no migration is pending, and the newest backup outcome is not a
 * failure and covers the last slot that is due (`due`: the latest cron slot older than the grace, or
 * undefined). A slot due before this process started is not ours to judge ("none due yet"); a running
 * backup, or a skip because another sidecar held the lock, covers it.
 */
export function decideHealth(state: SidecarState, probe: HealthProbe, due: Date | undefined): HealthDecision {
  const reasons: string[] = [];
  if (!probe.database.ok) reasons.push(`database: ${probe.database.error}`);
  if ('error' in probe.migrations) {
    if (probe.database.ok) reasons.push(`migrations: status unknown (${probe.migrations.error})`);
  } else if (probe.migrations.pending > 0) {
    reasons.push(`migrations: ${probe.migrations.pending} pending (run \`chatflow-db migrate\`)`);
  }

  const failure = state.lastFailure;
  const newerOutcome = Math.max(
    state.lastSuccess?.at.getTime() ?? -Infinity,
    state.lastLockedAt?.getTime() ?? -Infinity,
  );
  if (failure && failure.at.getTime() >= newerOutcome) {
    reasons.push(
      `backup: the last backup (due ${failure.at.toISOString()}) failed: ${failure.error ?? 'unknown error'}`,
    );
  } else if (due && due.getTime() >= state.startedAt.getTime() && state.running === undefined) {
    const covered = newerOutcome >= due.getTime() - SLOT_TOLERANCE_MS;
    if (!covered) reasons.push(`backup: no successful backup since the one due at ${due.toISOString()}`);
  }
  return { healthy: reasons.length === 0, reasons };
}

/** The /healthz response body: the decision, what it was made from, and the schedule around now. */
export function healthBody(
  state: SidecarState,
  probe: HealthProbe,
  decision: HealthDecision,
  schedule: { due: Date | undefined; next: Date | undefined },
): Record<string, unknown> {
  return {
    status: decision.healthy ? 'ok' : 'unhealthy',
    reasons: decision.reasons,
    database: probe.database.ok ? 'ok' : 'unreachable',
    pendingMigrations: 'pending' in probe.migrations ? probe.migrations.pending : null,
    backup: {
      running: state.running !== undefined,
      lastSuccess: state.lastSuccess ?? null,
      lastFailure: state.lastFailure ?? null,
      due: schedule.due?.toISOString() ?? null,
      next: schedule.next?.toISOString() ?? null,
    },
  };
}
