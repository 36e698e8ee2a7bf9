/**
 * The backup loop of `start`: node-cron fires BACKUP_SCHEDULE in TZ; each run takes the backup lock,
 * backs up, prunes, records the outcome in the state and notifies. At most one run is in flight per
 * process (a run that would overlap is skipped and logged) and per database (advisory lock).
 */
import { createTask, type ScheduledTask, type TaskContext } from 'node-cron';
import { describeError } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { previousRun } from './cron.js';
import type { HeldLock } from './backup-lock.js';
import type { Notifier } from './notify.js';
import {
  recordAborted,
  recordFailure,
  recordSkipped,
  recordStarted,
  recordSuccess,
  type RunReason,
  type SidecarState,
} from './state.js';

export interface BackupSummary {
  name: string;
  size: number;
  durationMs: number;
  locations: string[];
}

export interface LoopDeps {
  logger: Logger;
  now: () => Date;
  state: SidecarState;
  notifier: Notifier;
  /** Database name, for notifications. */
  database: string;
  backup(signal: AbortSignal): Promise<BackupSummary>;
  /** Retention after a successful backup. */
  prune(): Promise<void>;
  /** The cross-sidecar lock; undefined when another sidecar holds it. */
  tryLock(): Promise<HeldLock | undefined>;
}

export type RunOutcome =
  'succeeded' | 'failed' | 'skipped-overlap' | 'skipped-locked' | 'aborted' | 'stopped';

export interface BackupLoop {
  /** Starts firing on the schedule. */
  start(): void;
  /** One run now (BACKUP_ON_START, tests); `at` is the slot it stands for. */
  runNow(reason: RunReason, at?: Date): Promise<RunOutcome>;
  /** Stops scheduling, aborts the run in flight and waits up to `timeoutMs` for it to clean up. */
  stop(timeoutMs: number): Promise<void>;
  /** The latest slot at or before `at`. */
  previousRun(at: Date): Date | undefined;
  nextRun(): Date | undefined;
  /** The next `count` slots. */
  nextRuns(count: number): Date[];
}

export function createBackupLoop(
  options: { schedule: string; timeZone: string },
  deps: LoopDeps,
): BackupLoop {
  const { logger, state } = deps;
  let inFlight: Promise<RunOutcome> | undefined;
  let controller: AbortController | undefined;
  let stopping = false;

  const task: ScheduledTask = createTask(
    options.schedule,
    (context: TaskContext) => run('scheduled', context.date),
    {
      name: 'chatflow-db-backup',
      timezone: options.timeZone,
      // node-cron skips a tick while the previous one is still pending; run() guards on-start runs too.
      noOverlap: true,
      logger: cronLogger(logger),
    },
  );
  task.on('execution:overlap', (context) => skipOverlap(context.date));
  task.on('execution:missed', (context) => {
    logger.warn(
      { due: context.date.toISOString() },
      'a scheduled backup slot was missed (the process was busy or asleep)',
    );
  });

  function skipOverlap(due: Date): void {
    recordSkipped(state, 'overlap', due);
    logger.warn(
      { due: due.toISOString(), runningSince: state.running?.at.toISOString() },
      'scheduled backup skipped: the previous backup is still running',
    );
  }

  function run(reason: RunReason, at: Date): Promise<RunOutcome> {
    if (stopping) return Promise.resolve('stopped');
    if (inFlight) {
      skipOverlap(at);
      return Promise.resolve('skipped-overlap');
    }
    const current = execute(reason, at).finally(() => {
      inFlight = undefined;
      controller = undefined;
    });
    inFlight = current;
    return current;
  }

  async function execute(reason: RunReason, at: Date): Promise<RunOutcome> {
    const abort = new AbortController();
    controller = abort;
    let lock: HeldLock | undefined;
    const startedAt = deps.now();
    recordStarted(state, at, reason, startedAt);
    try {
      lock = await deps.tryLock();
      if (!lock) {
        recordAborted(state);
        recordSkipped(state, 'locked', at);
        logger.info(
          { due: at.toISOString() },
          'scheduled backup skipped: another sidecar is backing up this database',
        );
        return 'skipped-locked';
      }
      if (abort.signal.aborted) {
        recordAborted(state);
        return 'aborted';
      }
      logger.info({ reason, due: at.toISOString() }, 'backup starting');
      const result = await deps.backup(abort.signal);
      recordSuccess(state, {
        at,
        finishedAt: deps.now(),
        durationMs: result.durationMs,
        name: result.name,
        size: result.size,
      });
      logger.info(
        { name: result.name, size: result.size, durationMs: result.durationMs, locations: result.locations },
        'backup succeeded',
      );
      deps.notifier.notify({
        event: 'backup.succeeded',
        status: 'success',
        database: deps.database,
        message: `Backup ${result.name} of ${deps.database} succeeded (${result.size} bytes).`,
        backup: {
          name: result.name,
          size: result.size,
          durationMs: result.durationMs,
          locations: result.locations,
        },
      });
      await pruneAfter();
      return 'succeeded';
    } catch (error) {
      if (abort.signal.aborted) {
        recordAborted(state);
        logger.warn({ due: at.toISOString() }, 'backup aborted by shutdown; nothing was stored');
        return 'aborted';
      }
      const message = describeError(error);
      const finishedAt = deps.now();
      recordFailure(state, {
        at,
        finishedAt,
        durationMs: finishedAt.getTime() - startedAt.getTime(),
        error: message.split('\n')[0],
      });
      logger.error({ reason, due: at.toISOString() }, `backup failed: ${message}`);
      deps.notifier.notify({
        event: 'backup.failed',
        status: 'failure',
        database: deps.database,
        message: `Backup of ${deps.database} due ${at.toISOString()} failed.`,
        error: message,
      });
      return 'failed';
    } finally {
      await lock?.release();
    }
  }

  async function pruneAfter(): Promise<void> {
    try {
      await deps.prune();
    } catch (error) {
      state.pruneFailuresTotal += 1;
      const message = describeError(error);
      logger.error(`retention (prune) failed after a successful backup: ${message}`);
      deps.notifier.notify({
        event: 'prune.failed',
        status: 'failure',
        database: deps.database,
        message: `Retention after a backup of ${deps.database} failed; old backups were kept.`,
        error: message,
      });
    }
  }

  return {
    start() {
      void task.start();
      logger.info(
        { schedule: options.schedule, timeZone: options.timeZone, next: this.nextRun()?.toISOString() },
        'backups scheduled',
      );
    },
    runNow: (reason, at) => run(reason, at ?? deps.now()),
    async stop(timeoutMs) {
      stopping = true;
      await task.destroy();
      const current = inFlight;
      if (!current) return;
      logger.info('aborting the backup in flight');
      controller?.abort(new Error('shutdown'));
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([current, new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
      clearTimeout(timer);
    },
    previousRun: (at) => previousRun(options.schedule, task, options.timeZone, at),
    nextRun: () => task.getNextRuns(1)[0],
    nextRuns: (count) => task.getNextRuns(count),
  };
}

/** node-cron's own messages go to pino; overlaps and misses are logged by the loop itself. */
function cronLogger(logger: Logger): NonNullable<Parameters<typeof createTask>[2]>['logger'] {
  const text = (message: string | Error): string => (message instanceof Error ? message.message : message);
  return {
    info: (message) => logger.debug(`node-cron: ${message}`),
    warn: (message) => logger.debug(`node-cron: ${message}`),
    error: (message, err) => logger.error({ err }, `node-cron: ${text(message)}`),
    debug: (message) => logger.debug(`node-cron: ${text(message)}`),
  };
}
