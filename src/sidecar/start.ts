/**
 * The sidecar job (`chatflow-db start`), the image's default command. The CLI has already validated the
 * whole configuration (exit 2). Then: wait for the database, apply the application role (when
 * APP_DB_PASSWORD is set), migrate (the migrator's advisory lock makes replicas safe), read the stores for
 * backup freshness, log a start-up summary, serve /livez, /healthz, /metrics and the
 * status page, and back up on
 * BACKUP_SCHEDULE in TZ (each run within BACKUP_TIMEOUT) until SIGTERM/SIGINT. Shutdown aborts a backup
 * in flight (no partial object) and exits 0 within 10 s.
 */
import type { Clock } from '../lib/clock.js';
import type { Config } from '../config/load.js';
import { aborted, untilAborted } from '../lib/abort.js';
import { connectWithWait } from '../lib/db.js';
import { JobError } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { createBackupLoop } from './loop.js';
import { tryBackupLock } from './backup-lock.js';
import { createMetrics } from './metrics.js';
import { createNotifier } from './notify.js';
import { createProbe, pingDatabase, withTimeout } from './probe.js';
import { closeServer, createHealthServer, listen } from './server.js';
import { createState, decideHealth, healthBody, healthGraceMs, type SidecarState } from './state.js';
import { createFreshness } from './freshness.js';
import { trackSince } from './status-model.js';
import { createStatusSource, createVersionReader, migrationsOf } from './status-source.js';
import { startupSummary } from './summary.js';
import { backup } from '../backup/job.js';
import { prune } from '../backup/prune.js';
import { openStores } from '../storage/index.js';
import { migrate, migrationStatus, type StatusResult } from '../migrations/runner.js';
import { applyAppRole } from '../roles/apply.js';

/** The whole shutdown (abort, cleanup, close) must fit in Docker's default 10 s stop timeout. */
export const SHUTDOWN_DEADLINE_MS = 9000;
/** Time the in-flight backup gets to abort its upload and remove partial files. */
const BACKUP_ABORT_WAIT_MS = 6000;
/** /healthz re-reads the stores when it would be red and the last reading is older than this. */
const STORE_READING_MAX_AGE_MS = 60_000;
/** How long start-up and a /healthz request wait for a reading of the stores. */
const STORE_READING_WAIT_MS = 30_000;
const STORE_READING_WAIT_ON_REQUEST_MS = 5000;

export interface StartDeps {
  logger: Logger;
  clock: Clock;
}

export interface StartOptions {
  /** Aborting it shuts the sidecar down; start() then resolves. */
  signal: AbortSignal;
}

/** Runs the sidecar until `signal` aborts. Rejects if start-up fails (the CLI maps the exit code). */
export async function start(
  config: Readonly<Config>,
  deps: StartDeps,
  options: StartOptions,
): Promise<SidecarState | undefined> {
  const { logger, clock } = deps;
  const { signal } = options;

  // 1. Wait for the database (DB_WAIT_TIMEOUT), then 2. the role, then 3. migrations.
  const client = await untilAborted(connectWithWait(config.database, logger), signal);
  if (client === aborted) return undefined;
  await client.end().catch(() => undefined);

  if (config.appRole.password !== undefined) {
    if ((await untilAborted(applyAppRole(config, { logger }), signal)) === aborted) return undefined;
  } else {
    logger.info(
      { role: config.appRole.user },
      'APP_DB_PASSWORD is not set: leaving the application role alone (set it, or run `chatflow-db roles`, to manage it)',
    );
  }
  const migrated = await untilAborted(migrate(config, { logger }, {}), signal);
  if (migrated === aborted) return undefined;

  // 4. Health, metrics, notifications and the backup loop.
  const state = createState(clock.now());
  const quietLogger = logger.child({}, { level: logger.levelVal > 40 ? logger.level : 'warn' });
  // The probe's migration check also keeps the whole status for the status page.
  let migrations: StatusResult | undefined;
  const pendingCount = async (): Promise<number> => {
    migrations = await migrationStatus(config, { logger: quietLogger });
    return migrations.pending.length;
  };
  const probe = createProbe(
    { ping: () => pingDatabase(config.database), pending: pendingCount },
    2000,
    (count) => (state.pendingMigrations = count),
  );
  const notifier = createNotifier(config.notify, { logger });
  // One set of stores (and S3 client) for the life of the sidecar, not one per scheduled run.
  const stores = await openStores(config);
  // Freshness is judged from the stores (they survive restarts), read now, after each backup, and when
  // /healthz would be red on an old reading (another replica or a manual backup may have stored one).
  const freshness = createFreshness(stores, config.database.database, () => clock.now());
  let storeErrors = '';
  const readStores = async (waitMs: number): Promise<void> => {
    try {
      state.stored = await withTimeout(freshness.read(), waitMs, 'reading the stores');
      const errors = state.stored.errors.join('; ');
      if (errors !== '' && errors !== storeErrors)
        logger.warn({ errors: state.stored.errors }, 'could not read every store to judge backup freshness');
      storeErrors = errors;
    } catch (error) {
      logger.warn({ err: error }, 'could not read the stores to judge backup freshness');
    }
  };
  const loop = createBackupLoop(
    { schedule: config.backup.schedule, timeZone: config.timeZone },
    {
      logger,
      now: () => clock.now(),
      state,
      notifier,
      database: config.database.database,
      backup: async (abortSignal) => {
        try {
          return await backup(config, { logger, clock, stores }, { signal: abortSignal });
        } finally {
          statusSource.invalidate();
          void readStores(STORE_READING_WAIT_MS);
        }
      },
      prune: async () => {
        await prune(config, { logger, clock, stores }, { dryRun: false }).finally(() =>
          statusSource.invalidate(),
        );
      },
      tryLock: () => tryBackupLock(config.database),
    },
  );
  const metrics = createMetrics(state);
  // One health decision for /healthz and the status page; `since` remembers when each area began failing.
  let since = new Map<string, Date>();
  let lastProbe: Awaited<ReturnType<typeof probe>> | undefined;
  const currentHealth = async () => {
    const measured = await probe();
    lastProbe = measured;
    const decide = () => {
      const now = clock.now();
      const due = loop.previousRun(new Date(now.getTime() - healthGraceMs(loop.nextRuns(2))));
      const schedule = { due, next: loop.nextRun(), timeoutMs: config.backup.timeoutMs };
      return {
        now,
        schedule,
        decision: decideHealth(state, measured, { now, due, timeoutMs: schedule.timeoutMs }),
      };
    };
    let { now, schedule, decision } = decide();
    const stale =
      !state.stored || now.getTime() - state.stored.checkedAt.getTime() > STORE_READING_MAX_AGE_MS;
    if (stale && decision.reasons.some((reason) => reason.startsWith('backup: no '))) {
      await readStores(STORE_READING_WAIT_ON_REQUEST_MS);
      ({ now, schedule, decision } = decide());
    }
    since = trackSince(since, decision.reasons, now);
    return { measured, schedule, decision, since };
  };
  const retention = Object.values(config.retention).some((keep) => keep > 0);
  const statusSource = createStatusSource({
    config,
    logger,
    now: () => clock.now(),
    stores,
    async health() {
      const { decision, since: failingSince } = await currentHealth();
      return { reasons: decision.reasons, since: failingSince };
    },
    schedule: () => ({
      backupCron: config.backup.schedule,
      previousBackupSlot: (at) => loop.previousRun(at),
      nextBackup: loop.nextRun(),
      pruneEnabled: retention,
    }),
    migrations: () => {
      const probed = lastProbe?.migrations;
      return migrationsOf(migrations, probed && 'error' in probed ? probed.error : undefined);
    },
    versions: createVersionReader(config, quietLogger),
  });
  const server = createHealthServer({
    logger,
    async health() {
      const { measured, schedule, decision } = await currentHealth();
      return { healthy: decision.healthy, body: healthBody(state, measured, decision, schedule) };
    },
    metrics: async () => ({ contentType: metrics.contentType, body: await metrics.render() }),
    ...(config.server.statusPage ? { status: (page: number) => statusSource.status(page) } : {}),
  });

  // A stop request need not wait for a slow store; the shutdown below follows at once.
  await untilAborted(readStores(STORE_READING_WAIT_MS), signal);
  const summary = startupSummary(config, { nextRuns: loop.nextRuns(3), applied: migrated.applied });
  logger.info(summary.fields, summary.message);
  try {
    state.pendingMigrations = await pendingCount();
  } catch (error) {
    logger.warn({ err: error }, 'could not read the migration status after migrating');
  }
  if (config.server.healthPort > 0) {
    const address = await listen(server, config.server.healthPort, config.server.healthHost).catch(
      (error: unknown) => {
        throw new JobError(
          `Cannot serve /healthz on ${config.server.healthHost}:${config.server.healthPort} (${(error as Error).message}): choose a free HEALTH_PORT, or 0 for no server`,
          { cause: error },
        );
      },
    );
    logger.info(
      { host: address.address, port: address.port },
      config.server.statusPage
        ? 'health server listening (/livez, /healthz, /metrics, status page at / and /api/status)'
        : 'health server listening (/livez, /healthz, /metrics)',
    );
  } else {
    logger.info('HEALTH_PORT is 0: no health server');
  }
  loop.start();
  if (config.backup.onStart && !signal.aborted) void loop.runNow('start');

  // 5. Run until SIGTERM/SIGINT, then shut down in order: schedule, backup in flight, HTTP, notifications.
  await new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    signal.addEventListener('abort', () => resolve(), { once: true });
  });
  const stopping = Date.now();
  logger.info('shutting down: no new backups');
  await loop.stop(BACKUP_ABORT_WAIT_MS);
  await Promise.race([closeServer(server), clockTimeout(1000)]);
  server.closeAllConnections();
  // Notifications in flight get a moment (a dead webhook must not hold the stop up to the deadline).
  await notifier.close(Math.max(0, Math.min(3000, SHUTDOWN_DEADLINE_MS - (Date.now() - stopping) - 500)));
  for (const store of stores) store.close?.();
  logger.info({ backups: state.backupsTotal, failures: state.failuresTotal }, 'stopped');
  return state;
}

function clockTimeout(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
