/**
 * What `start` does about restore drills, in one place: drop scratch databases left by drills that died,
 * read the drill history back from the stores (so it survives restarts), run DRILL_SCHEDULE's loop, and
 * say what /healthz must say about drills (status-model.ts drillProblem: red when the last drill failed,
 * or when none succeeded within twice the drill interval once a backup old enough exists).
 */
import type { Config } from '../config/load.js';
import type { Clock } from '../lib/clock.js';
import { connectWithWait } from '../lib/db.js';
import type { Logger } from '../lib/logger.js';
import { listStores } from '../backup/listing.js';
import { drill } from '../drill/drill.js';
import { readDrillRecord } from '../drill/record.js';
import { dropLeftovers } from '../drill/scratch.js';
import type { Storage } from '../storage/storage.js';
import { tryBackupLock } from './backup-lock.js';
import {
  createDrillLoop,
  createDrillState,
  recordDrill,
  type DrillLoop,
  type DrillState,
} from './drill-loop.js';
import type { Notifier } from './notify.js';
import { drillProblem, type StatusInputs } from './status-model.js';
import type { SidecarState } from './state.js';

export interface SidecarDrills {
  state: DrillState;
  loop: DrillLoop | undefined;
  /** /healthz reasons about drills (each starting with `drill:`). */
  reasons(now: Date): string[];
  /** The drill part of the /healthz body. */
  body(): Record<string, unknown>;
}

export interface DrillSetupDeps {
  logger: Logger;
  clock: Clock;
  stores: readonly Storage[];
  notifier: Notifier;
  backups: SidecarState;
  /** Called after each drill that left a record. */
  onDrill?: () => void;
}

/** Drops scratch databases of drills that are no longer running, on the drill server; never fails start. */
export async function dropLeftoverScratch(config: Readonly<Config>, logger: Logger): Promise<void> {
  try {
    const server = config.drill.server;
    const client = await connectWithWait({ ...server, waitTimeoutMs: 0 }, logger, server.database);
    try {
      await dropLeftovers(client, logger);
    } finally {
      await client.end().catch(() => undefined);
    }
  } catch (error) {
    logger.warn({ err: error }, 'could not look for scratch databases left by drills; the next drill does');
  }
}

export function setUpDrills(config: Readonly<Config>, deps: DrillSetupDeps): SidecarDrills {
  const { logger, clock, stores } = deps;
  const state = createDrillState();
  let oldestBackup: Date | undefined;
  // In the background: a slow or unreachable store must not hold up start (the state fills in when read).
  void (async () => {
    try {
      const entries = await listStores(stores);
      oldestBackup = entries.filter((entry) => entry.complete).at(-1)?.modifiedAt;
      for (const entry of entries.filter((e) => e.drilled)) {
        const store = stores.find((s) => s.kind === entry.store && s.location === entry.location);
        const record = store ? await readDrillRecord(store, entry.name).catch(() => undefined) : undefined;
        if (record) recordDrill(state, record);
      }
    } catch (error) {
      logger.warn({ err: error }, 'could not read the drill history from the stores');
    }
  })();
  const schedule = config.drill.schedule;
  const referenceCache = new Map<string, string>();
  const loop =
    schedule === undefined
      ? undefined
      : createDrillLoop(
          { schedule, timeZone: config.timeZone },
          {
            logger,
            now: () => clock.now(),
            state,
            notifier: deps.notifier,
            database: config.database.database,
            drill: async (signal) => {
              const result = await drill(
                config,
                { logger, clock, stores, referenceCache },
                { name: 'latest', signal },
              );
              deps.onDrill?.();
              return result.record;
            },
            backupRunning: () => deps.backups.running !== undefined,
            tryLock: () => tryBackupLock(config.database),
          },
        );

  return {
    state,
    loop,
    reasons(now) {
      if (!loop || schedule === undefined) {
        const last = state.drills.at(-1);
        return last && !last.ok
          ? [`drill: the last drill of ${last.name} at ${last.at.toISOString()} failed`]
          : [];
      }
      const newestBackupDone = deps.backups.lastSuccess?.finishedAt;
      const oldest = oldestBackup ?? newestBackupDone;
      const input = {
        now,
        schedule: {
          drill: { cron: schedule, next: loop.nextRun(), previousSlot: (at: Date) => loop.previousRun(at) },
        },
      } as Pick<StatusInputs, 'now' | 'schedule'>;
      const problem = drillProblem(
        input,
        oldest ? [{ createdAt: oldest.toISOString(), complete: true }] : [],
        state.drills,
      );
      return problem ? [problem.message] : [];
    },
    body() {
      const last = state.drills.at(-1);
      return {
        schedule: schedule ?? null,
        running: state.running,
        last: last
          ? { backup: last.name, at: last.at.toISOString(), ok: last.ok, failedChecks: last.failedChecks }
          : null,
        lastSuccess: state.lastSuccessAt?.toISOString() ?? null,
        next: loop?.nextRun()?.toISOString() ?? null,
      };
    },
  };
}
