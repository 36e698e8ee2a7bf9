/**
 * `chatflow-db doctor`: everything a deployment needs, checked in one run and reported check by check
 * (checks.ts). Nothing is changed, except a probe object written to and removed from each store. The
 * database checks need a connection: when the database cannot be reached they are skipped, and the
 * `database` problem says why.
 */
import type { Config } from '../config/load.js';
import { connect, describeTarget, type Client } from '../lib/db.js';
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';
import { migrationStatus } from '../migrations/runner.js';
import { pgDumpVersion } from '../backup/source.js';
import { listStore } from '../backup/listing.js';
import { openStores } from '../storage/index.js';
import type { Storage } from '../storage/storage.js';
import {
  checkAppRole,
  checkDumpVersion,
  checkOwnerRights,
  checkSchedule,
  checkStoreWritable,
  effectiveConfig,
  freeBytes,
  judgeFreeSpace,
  ok,
  problem,
  readOwnerRights,
  skipped,
  type Check,
} from './checks.js';

export interface DoctorDeps {
  logger: Logger;
  clock: Clock;
  stores?: readonly Storage[];
}

export interface DoctorResult {
  /** True when no check found a problem (skipped checks are not problems). */
  ok: boolean;
  config: Record<string, string>;
  checks: Check[];
}

export async function doctor(config: Readonly<Config>, deps: DoctorDeps): Promise<DoctorResult> {
  const checks: Check[] = [ok('config', 'the configuration is valid')];
  const guard = async (name: string, run: () => Promise<Check>): Promise<Check> => {
    try {
      return await run();
    } catch (error) {
      return problem(name, (error as Error).message, 'see the message; run with LOG_LEVEL=debug for more');
    }
  };

  let client: Client | undefined;
  try {
    client = await connect(config.database);
  } catch (error) {
    checks.push(
      problem(
        'database',
        (error as Error).message,
        'check PGHOST/PGPORT/PGUSER/PGPASSWORD/PGDATABASE (or DATABASE_URL) and that the server is up',
      ),
    );
  }
  const dbChecks = ['pg_dump', 'owner', 'app-role', 'migrations'];
  if (client === undefined) {
    for (const name of dbChecks) checks.push(skipped(name, 'not checked: the database cannot be reached'));
  } else {
    const db = client;
    try {
      const version = await db.query<{ num: string; text: string }>(
        "SELECT current_setting('server_version_num') AS num, current_setting('server_version') AS text",
      );
      const server = version.rows[0];
      checks.push(
        ok('database', `${describeTarget(config.database)} is reachable: PostgreSQL ${server?.text ?? '?'}`),
      );
      checks.push(
        await guard('pg_dump', async () => checkDumpVersion(await pgDumpVersion(), Number(server?.num ?? 0))),
      );
      checks.push(await guard('owner', async () => checkOwnerRights(await readOwnerRights(db))));
      checks.push(await guard('app-role', () => checkAppRole(db, config)));
    } finally {
      await db.end().catch(() => undefined);
    }
    checks.push(await guard('migrations', () => checkMigrations(config, deps)));
  }

  const stores = deps.stores ?? (await openStores(config));
  const now = deps.clock.now();
  const writable = new Map<Storage, boolean>();
  for (const store of stores) {
    const result = await checkStoreWritable(store, now);
    writable.set(store, result.status === 'ok');
    checks.push(result);
  }
  checks.push(checkSchedule(config.backup.schedule, config.timeZone));
  const local = stores.find((s) => s.kind === 'local');
  if (local === undefined) checks.push(skipped('disk', 'no BACKUP_DIR: backups go to S3 only'));
  else if (!writable.get(local))
    checks.push(skipped('disk', `not checked: ${local.location} cannot be written`));
  else checks.push(await guard('disk', () => checkDisk(local)));

  return {
    ok: checks.every((c) => c.status !== 'problem'),
    config: effectiveConfig(config),
    checks,
  };
}

async function checkMigrations(config: Readonly<Config>, deps: DoctorDeps): Promise<Check> {
  const status = await migrationStatus(config, { logger: deps.logger });
  if (status.refusals.length > 0)
    return problem(
      'migrations',
      `migrate would refuse: ${status.refusals.join('; ')}`,
      'see `chatflow-db status` and the README, "Migrations"',
    );
  if (status.pending.length > 0)
    return problem(
      'migrations',
      `${status.pending.length} pending on "${status.database}": ${status.pending.slice(0, 3).join(', ')}${status.pending.length > 3 ? ', …' : ''}`,
      'run `chatflow-db migrate` (the sidecar does it at start)',
    );
  return ok('migrations', `"${status.database}" is up to date (${status.applied.length} applied)`);
}

async function checkDisk(store: Storage): Promise<Check> {
  const [last] = await listStore(store);
  return judgeFreeSpace(store.location, await freeBytes(store.location), last?.size);
}
