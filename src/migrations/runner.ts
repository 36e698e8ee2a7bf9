/**
 * The migration runner behind `migrate`, `migrate create <name>` and `status`. The pure parts live beside
 * it (file parsing, statement splitting, planning, adoption); this module connects, locks and runs them.
 */
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Config } from '../config/load.js';
import { connectWithWait, type Client } from '../lib/db.js';
import { ChatflowError, ExitCode, UsageError } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { classifyDatabase, unknownDatabaseMessage, type DatabaseKind } from './adoption.js';
import { ensureTrackingTable, readAppliedRows, readInventory, trackingTableExists } from './inspect.js';
import { applyMigration, recordBaseline, rerecordChecksums } from './execute.js';
import { compareVersions, type MigrationFile } from './file.js';
import { acquireMigrationLock, releaseMigrationLock } from './lock.js';
import { planMigrations, type AppliedRow, type Plan, type PlanOptions } from './plan.js';
import { EARLIER_REVISIONS } from './revisions.js';
import { loadMigrations } from './folder.js';
import { migrationTemplate, nextMigrationFileName } from './template.js';

export interface MigrateOptions extends PlanOptions {
  /** Print the plan; change nothing (takes no lock). */
  dryRun?: boolean;
  /** Database to migrate instead of config.database.database (restore migrates its new database). */
  database?: string;
}

export interface MigrateResult {
  /** Files applied by this run (with dryRun: none). */
  applied: string[];
  /** Files still to apply after this run (with dryRun: what a run would apply). */
  pending: string[];
  /** Files recorded without running (--baseline). */
  baselined: string[];
  /** Applied files whose new checksum was recorded (--allow-changed). */
  rerecorded: string[];
  database: string;
  /** What the database was before this run: tracked, empty, legacy (adopted) or unknown (baselined). */
  kind: DatabaseKind;
  dryRun: boolean;
}

export type MigrationState = 'applied' | 'changed' | 'missing' | 'pending' | 'out-of-order';

export interface StatusEntry {
  version: string;
  file: string;
  state: MigrationState;
  appliedAt: string | null;
  durationMs: number | null;
  appliedBy: string | null;
}

export interface StatusResult {
  /** Applied files (by file name; a missing file by its recorded name). */
  applied: string[];
  /** Files not applied yet, in order. */
  pending: string[];
  database: string;
  kind: DatabaseKind;
  entries: StatusEntry[];
  /** What would make `migrate` refuse (changed, missing, out-of-order files; an unknown database). */
  refusals: string[];
}

const EXECUTION = { retries: 4, backoffMs: 1000 };

export async function migrate(
  config: Readonly<Config>,
  deps: { logger: Logger },
  options: MigrateOptions = {},
): Promise<MigrateResult> {
  const { logger } = deps;
  const database = options.database ?? config.database.database;
  const files = await loadMigrations(config.migrations.dir);
  const client = await connectWithWait(config.database, logger, database);
  let currentFile: string | undefined;
  client.on('notice', (notice) => logNotice(logger, currentFile, notice));
  const locked = !options.dryRun;
  try {
    if (locked) {
      await nameSession(client);
      await acquireMigrationLock(client, logger, config.migrations.lockTimeoutMs, database);
    }
    // Read after taking the lock: another replica may have just applied everything.
    const { kind, plan } = await readPlan(client, database, files, options);
    const result: MigrateResult = {
      applied: [],
      pending: plan.pending.map((f) => f.fileName),
      baselined: plan.baseline.map((f) => f.fileName),
      rerecorded: options.allowChanged ? plan.changed.map(({ file }) => file.fileName) : [],
      database,
      kind,
      dryRun: options.dryRun === true,
    };
    if (options.dryRun) return result;

    if (kind === 'legacy') {
      logger.info(
        { database },
        'adopting a legacy ChatFlow database: every migration runs and converges what is there',
      );
    }
    if (kind !== 'tracked') await ensureTrackingTable(client);
    if (result.rerecorded.length > 0) {
      await rerecordChecksums(
        client,
        plan.changed.map(({ file, row }) => ({ version: row.version, checksum: file.checksum })),
      );
      logger.warn(
        { files: result.rerecorded },
        'recorded the new checksums of edited migrations (--allow-changed)',
      );
    }
    if (plan.revised.length > 0) {
      await rerecordChecksums(
        client,
        plan.revised.map(({ file, row }) => ({ version: row.version, checksum: file.checksum })),
      );
      logger.info(
        { files: plan.revised.map(({ file }) => file.fileName) },
        'recorded the current checksums of migrations applied in an earlier chatflow-db revision',
      );
    }
    if (plan.baseline.length > 0) {
      await recordBaseline(client, plan.baseline);
      logger.info(
        { files: result.baselined },
        `baseline: recorded ${plan.baseline.length} migrations as applied without running them`,
      );
    }
    if (plan.missing.length > 0) {
      logger.warn(
        { missing: plan.missing.map((r) => r.name) },
        'going on without the files of applied migrations (--allow-missing)',
      );
    }
    const settings = {
      ...EXECUTION,
      lockTimeoutMs: config.migrations.ddlLockTimeoutMs,
      statementTimeoutMs: config.migrations.statementTimeoutMs,
    };
    for (const file of plan.pending) {
      currentFile = file.fileName;
      const durationMs = await applyMigration(client, file, settings, logger);
      currentFile = undefined;
      result.applied.push(file.fileName);
      result.pending.shift();
      logger.info({ file: file.fileName, durationMs }, `applied ${file.fileName}`);
      // Each file starts from a clean session, as under psql -f (a file's SET search_path must not leak).
      await client.query('RESET ALL');
      await nameSession(client);
    }
    return result;
  } finally {
    if (locked) await releaseMigrationLock(client).catch(() => undefined);
    await client.end().catch(() => undefined);
  }
}

export async function migrationStatus(
  config: Readonly<Config>,
  deps: { logger: Logger },
  options: { database?: string } = {},
): Promise<StatusResult> {
  const database = options.database ?? config.database.database;
  const files = await loadMigrations(config.migrations.dir);
  const client = await connectWithWait(config.database, deps.logger, database);
  try {
    const { kind, plan, refusals } = await readPlan(client, database, files, {}, false);
    const outOfOrder = new Set(plan.outOfOrder);
    const revised = new Set(plan.revised.map(({ file }) => file));
    const fromRow = (row: AppliedRow) => ({
      appliedAt: row.appliedAt?.toISOString() ?? null,
      durationMs: row.durationMs,
      appliedBy: row.appliedBy,
    });
    const entries: StatusEntry[] = [
      ...plan.applied.map(({ file, row }): StatusEntry => ({
        version: file.version,
        file: file.fileName,
        state: file.checksum === row.checksum || revised.has(file) ? 'applied' : 'changed',
        ...fromRow(row),
      })),
      ...plan.missing.map((row): StatusEntry => ({
        version: row.version,
        file: row.name,
        state: 'missing',
        ...fromRow(row),
      })),
      ...plan.pending.map((file): StatusEntry => ({
        version: file.version,
        file: file.fileName,
        state: outOfOrder.has(file) ? 'out-of-order' : 'pending',
        appliedAt: null,
        durationMs: null,
        appliedBy: null,
      })),
    ].sort((a, b) => compareVersions(a.version, b.version));
    return {
      applied: entries.filter((e) => e.state !== 'pending' && e.state !== 'out-of-order').map((e) => e.file),
      pending: plan.pending.map((f) => f.fileName),
      database,
      kind,
      entries,
      refusals,
    };
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** The database's kind and the plan; refuses (exit 5) what must not run unless `refuse` is off. */
async function readPlan(
  client: Client,
  database: string,
  files: MigrationFile[],
  options: PlanOptions,
  refuse = true,
): Promise<{ kind: DatabaseKind; plan: Plan<MigrationFile>; refusals: string[] }> {
  const tracked = await trackingTableExists(client);
  const inventory = tracked ? undefined : await readInventory(client);
  const kind = inventory ? classifyDatabase(inventory) : 'tracked';
  const rows = tracked ? await readAppliedRows(client) : [];
  const plan = planMigrations(files, rows, { ...options, earlierRevisions: EARLIER_REVISIONS });
  const refusals = [...plan.refusals];
  if (kind === 'unknown' && inventory && options.baseline === undefined) {
    refusals.unshift(unknownDatabaseMessage(database, inventory));
  }
  if (refuse && refusals.length > 0) {
    const header =
      refusals.length > 1 ? `Refusing to migrate "${database}" (${refusals.length} problems):\n  - ` : '';
    throw new ChatflowError(`${header}${refusals.join('\n  - ')}`, ExitCode.refused);
  }
  return { kind, plan, refusals };
}

/** Shows waiters (and DBAs in pg_stat_activity) which host and process hold the migration lock. */
async function nameSession(client: Client): Promise<void> {
  const name = `chatflow-db migrate ${hostname()}:${process.pid}`.slice(0, 63);
  await client.query("SELECT set_config('application_name', $1, false)", [name]);
}

function logNotice(
  logger: Logger,
  file: string | undefined,
  notice: { severity?: string; code?: string; message?: string; where?: string },
): void {
  const fields = { file, sqlState: notice.code };
  const message = notice.message ?? '';
  if (notice.severity === 'WARNING') logger.warn(fields, message);
  // A migration's RAISE NOTICE is meant for the operator; the server's "already exists, skipping" is not.
  else if (notice.where?.includes(' at RAISE')) logger.info(fields, message);
  else logger.debug(fields, message);
}

/** `migrate create <name>`: writes the next-numbered file from the template; returns its path. */
export async function createMigration(config: Readonly<Config>, name: string): Promise<string> {
  const dir = config.migrations.dir;
  await mkdir(dir, { recursive: true });
  const fileName = nextMigrationFileName(await readdir(dir), name);
  const path = join(dir, fileName);
  try {
    // 'wx': never overwrite, even if another `create` raced us to the same number.
    await writeFile(path, migrationTemplate(fileName), { flag: 'wx' });
  } catch (error) {
    throw new UsageError(`Cannot create ${path}: ${(error as Error).message}`, { cause: error });
  }
  return path;
}
