/**
 * Scheduled restore drills of `start` (DRILL_SCHEDULE in TZ): each run drills the newest backup. A drill
 * never overlaps a backup: it waits while this sidecar backs up, runs under the same cross-sidecar backup
 * lock, and a backup that comes due during a drill stops the drill first (backups come first; the
 * interrupted drill leaves no verdict and no scratch database). The outcome goes into DrillState, which
 * /metrics and /healthz read; a failure is notified.
 */
import { createTask, type ScheduledTask, type TaskContext } from 'node-cron';
import { sleep } from '../lib/clock.js';
import { describeError } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import type { DrillRecord } from '../drill/record.js';
import type { HeldLock } from './backup-lock.js';
import { previousRun } from './cron.js';
import type { Notifier } from './notify.js';
import type { DrillFacts } from './status-model.js';

export interface DrillState {
  running: boolean;
  /** Drills known (read back from the stores at start, then each run), oldest first. */
  drills: (DrillFacts & { name: string })[];
  lastSuccessAt: Date | undefined;
  /** Whole duration of the last drill, seconds. */
  lastDurationSeconds: number | undefined;
  failuresTotal: number;
}

export function createDrillState(): DrillState {
  return {
    running: false,
    drills: [],
    lastSuccessAt: undefined,
    lastDurationSeconds: undefined,
    failuresTotal: 0,
  };
}

/** What a drill record contributes to the state (also used for records read back at start). */
export function drillFacts(record: DrillRecord): DrillFacts & { name: string } {
  return {
    name: record.backup,
    at: new Date(record.finishedAt),
    ok: record.ok,
    durationMs: record.restoreSeconds * 1000,
    failedChecks: record.checks.filter((check) => !check.ok).map((check) => check.name),
  };
}

export function recordDrill(state: DrillState, record: DrillRecord): void {
  const facts = drillFacts(record);
  state.drills.push(facts);
  state.drills.sort((a, b) => a.at.getTime() - b.at.getTime());
  if (state.drills.length > 100) state.drills.splice(0, state.drills.length - 100);
  if (record.ok && (!state.lastSuccessAt || facts.at > state.lastSuccessAt)) state.lastSuccessAt = facts.at;
}

export interface DrillLoopDeps {
  logger: Logger;
  now: () => Date;
  state: DrillState;
  notifier: Notifier;
  database: string;
  /** Drills the newest backup. */
  drill(signal: AbortSignal): Promise<DrillRecord>;
  /** This sidecar is backing up now. */
  backupRunning(): boolean;
  tryLock(): Promise<HeldLock | undefined>;
}

export type DrillOutcome = 'passed' | 'failed' | 'skipped' | 'interrupted' | 'stopped';

export interface DrillLoop {
  start(): void;
  runNow(): Promise<DrillOutcome>;
  /** Stops a drill in flight (a backup comes first) and waits until it cleaned up. */
  interrupt(): Promise<void>;
  stop(timeoutMs: number): Promise<void>;
  previousRun(at: Date): Date | undefined;
  nextRun(): Date | undefined;
}

export function createDrillLoop(
  options: { schedule: string; timeZone: string },
  deps: DrillLoopDeps,
): DrillLoop {
  const { logger, state } = deps;
  let inFlight: Promise<DrillOutcome> | undefined;
  let controller: AbortController | undefined;
  let stopping = false;
  const task: ScheduledTask = createTask(options.schedule, (_context: TaskContext) => run(), {
    name: 'chatflow-db-drill',
    timezone: options.timeZone,
    noOverlap: true,
  });

  function run(): Promise<DrillOutcome> {
    if (stopping) return Promise.resolve('stopped');
    if (inFlight) return Promise.resolve('skipped');
    const current = execute().finally(() => {
      inFlight = undefined;
      controller = undefined;
      state.running = false;
    });
    inFlight = current;
    return current;
  }

  async function execute(): Promise<DrillOutcome> {
    const abort = new AbortController();
    controller = abort;
    state.running = true;
    // A backup of this sidecar in flight: wait for it (the drill then drills what it wrote).
    while (deps.backupRunning() && !abort.signal.aborted) await sleep(500);
    if (abort.signal.aborted) return 'interrupted';
    let lock: HeldLock | undefined;
    const started = deps.now();
    try {
      lock = await deps.tryLock();
      if (!lock) {
        logger.info('scheduled drill skipped: another sidecar is backing up this database');
        return 'skipped';
      }
      logger.info('restore drill starting');
      const record = await deps.drill(abort.signal);
      recordDrill(state, record);
      state.lastDurationSeconds = record.totalSeconds;
      if (record.ok) {
        logger.info(
          { backup: record.backup, restoreSeconds: record.restoreSeconds },
          `restore drill of ${record.backup} passed`,
        );
        return 'passed';
      }
      state.failuresTotal += 1;
      const failed = record.checks.filter((check) => !check.ok);
      const message = failed.map((check) => `${check.name}: ${check.detail}`).join('; ');
      deps.notifier.notify({
        event: 'drill.failed',
        status: 'failure',
        database: deps.database,
        message: `Restore drill of ${record.backup} failed (${failed.map((check) => check.name).join(', ')}).`,
        error: message,
      });
      return 'failed';
    } catch (error) {
      if (abort.signal.aborted) {
        logger.warn(
          'restore drill interrupted (a backup or shutdown comes first); it runs again at its next slot',
        );
        return 'interrupted';
      }
      // The drill could not even run (no backup, drill server unreachable): a failure too.
      const message = describeError(error);
      state.failuresTotal += 1;
      state.lastDurationSeconds = (deps.now().getTime() - started.getTime()) / 1000;
      state.drills.push({
        name: '(none)',
        at: deps.now(),
        ok: false,
        durationMs: 0,
        failedChecks: ['restore'],
      });
      logger.error(`restore drill failed: ${message}`);
      deps.notifier.notify({
        event: 'drill.failed',
        status: 'failure',
        database: deps.database,
        message: `Restore drill of ${deps.database} could not run.`,
        error: message,
      });
      return 'failed';
    } finally {
      await lock?.release();
    }
  }

  async function interrupt(timeoutMs = 30_000): Promise<void> {
    const current = inFlight;
    if (!current) return;
    controller?.abort(new Error('a backup comes first'));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([current, new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
  }

  return {
    start() {
      void task.start();
      logger.info(
        { schedule: options.schedule, timeZone: options.timeZone, next: this.nextRun()?.toISOString() },
        'restore drills scheduled',
      );
    },
    runNow: run,
    interrupt: () => interrupt(),
    async stop(timeoutMs) {
      stopping = true;
      await task.destroy();
      await interrupt(timeoutMs);
    },
    previousRun: (at) => previousRun(options.schedule, task, options.timeZone, at),
    nextRun: () => task.getNextRuns(1)[0],
  };
}
