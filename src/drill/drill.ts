/**
 * The restore drill (`chatflow-db drill [name|latest]`, and DRILL_SCHEDULE in `start`): proves that a backup
 * restores, not only that its bytes are intact. It restores the backup into a scratch database on the
 * configured server (or on DRILL_DATABASE_URL's), through the restore's own loading path (restoreInto), and
 * checks:
 *
 *   restore     psql succeeded, sha256/size match the manifest, the SQL ends with pg_dump's closing line
 *   row-counts  every table holds exactly the rows the manifest counted while dumping
 *   migrations  the migrations apply on top
 *   schema      the result's schema fingerprint equals that of a fresh init-complete.sql database
 *
 * then drops its scratch databases whatever happened, and keeps the result as `<name>.drill.json` next to
 * the backup. It never connects to the configured database: only to the drill server's maintenance
 * database and to its own scratch databases.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { pgDumpVersion } from '../backup/source.js';
import type { Config, DatabaseConfig } from '../config/load.js';
import type { Clock } from '../lib/clock.js';
import { connectWithWait, libpqEnv, quoteIdent, withClient, type Client } from '../lib/db.js';
import { describeError, JobError } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { PACKAGE_ROOT } from '../lib/package-root.js';
import { watchChild } from '../lib/process.js';
import { psqlFile } from '../lib/psql-file.js';
import { migrate } from '../migrations/runner.js';
import { fingerprintSchema, firstDifference } from '../migrations/schema-fingerprint.js';
import { resolveArchive, type ResolvedArchive } from '../restore/archive.js';
import { createDatabase, dropDatabase, roleNames } from '../restore/database.js';
import { lastLines, spawnPsql } from '../restore/psql.js';
import { loadAsRestoreRole } from '../restore/restore.js';
import { decryptionKeys } from '../backup/encryption.js';
import { openStores } from '../storage/index.js';
import type { Storage } from '../storage/storage.js';
import {
  DRILL_FORMAT,
  writeDrillRecord,
  type CheckName,
  type DrillCheck,
  type DrillRecord,
} from './record.js';
import { dropLeftovers, holdScratch, scratchNames, type ScratchNames } from './scratch.js';

export interface DrillDeps {
  logger: Logger;
  clock: Clock;
  /** Default: the stores the configuration names (local first). */
  stores?: readonly Storage[];
  /** Reference fingerprints by init file checksum and server, kept by a long-lived caller (the sidecar). */
  referenceCache?: Map<string, string>;
}

export interface DrillOptions {
  /** A backup name or `latest`. */
  name: string;
  signal?: AbortSignal;
  /** The init file the schema is compared with (tests). */
  initFile?: string;
}

export interface DrillResult {
  record: DrillRecord;
  /** Where the record was written, or the error that kept it from being written. */
  store: string;
  recordError?: string;
}

const CHECKS: readonly CheckName[] = ['restore', 'row-counts', 'migrations', 'schema'];

export async function drill(
  config: Readonly<Config>,
  deps: DrillDeps,
  options: DrillOptions,
): Promise<DrillResult> {
  const { logger } = deps;
  const startedAt = deps.clock.now();
  const stores = deps.stores ?? (await openStores(config));
  const archive = await resolveArchive(stores, options.name, config.database.database);
  // An encrypted archive nobody here can open is refused now (exit 2), before any database is made.
  const identities = await decryptionKeys(archive, config.ageIdentities);
  const log = logger.child({ drill: archive.name, store: archive.store.location });
  const server = config.drill.server;
  // Every connection of the drill (psql, migrations, counts) goes to the drill server.
  const drillConfig: Readonly<Config> = { ...config, database: server };
  const names = scratchNames(startedAt, config.timeZone);
  const initFile = options.initFile ?? join(PACKAGE_ROOT, 'initdb', 'init-complete.sql');
  const checks = new Map<CheckName, DrillCheck>();
  const pass = (name: CheckName, seconds: number, detail: string): void => {
    checks.set(name, { name, ok: true, detail, seconds });
  };
  const fail = (name: CheckName, seconds: number, detail: string): void => {
    checks.set(name, { name, ok: false, detail, seconds });
  };
  let restoreSeconds = 0;
  let serverVersion = 'unknown';

  const control = await connectWithWait(server, logger, server.database);
  try {
    await dropLeftovers(control, log);
    await holdScratch(control, names);
    serverVersion = await showServerVersion(control);
    const knownRoles = await roleNames(control);
    log.info(
      { database: names.target, server: config.drill.serverKind },
      'drill: restoring into a scratch database',
    );

    // The reference schema is built while the backup loads (it is small; the restore is the long part).
    const reference = referenceFingerprint(control, server, names, initFile, serverVersion, deps);
    reference.catch(() => undefined);

    const restoreStarted = Date.now();
    let restored = false;
    try {
      // As in a restore, the archive runs as a temporary role without privileges.
      const stream = await loadAsRestoreRole(
        control,
        drillConfig,
        { logger: log, clock: deps.clock },
        archive,
        identities,
        { database: names.target, like: undefined, knownRoles, signal: options.signal },
      );
      restoreSeconds = elapsed(restoreStarted);
      restored = true;
      pass(
        'restore',
        restoreSeconds,
        `psql loaded ${stream.sqlBytes} bytes of SQL; ${archive.manifest ? 'sha256 matches the manifest' : 'no manifest: no checksum to compare'}`,
      );
    } catch (error) {
      restoreSeconds = elapsed(restoreStarted);
      fail('restore', restoreSeconds, describeError(error));
    }

    if (restored && !options.signal?.aborted) {
      await timed('row-counts', () => checkRowCounts(server, names.target, archive));
      await timed('migrations', async () => {
        const result = await migrate(drillConfig, { logger: log }, { database: names.target });
        return {
          ok: true,
          detail:
            result.applied.length === 0
              ? 'no migration was pending'
              : `applied ${result.applied.length}: ${result.applied.join(', ')}`,
        };
      });
      if (checks.get('migrations')?.ok) {
        await timed('schema', async () => {
          const expected = await reference;
          const actual = await withClient(server, fingerprintSchema, names.target);
          const difference = firstDifference(expected, actual, ['init-complete.sql', 'restored backup']);
          return difference === undefined
            ? { ok: true, detail: 'the schema equals a fresh init-complete.sql database' }
            : {
                ok: false,
                detail: `the schema differs from a fresh init-complete.sql database: ${difference}`,
              };
        });
      }
    }
    await reference.catch(() => undefined);
  } finally {
    for (const name of [names.target, names.reference, names.roundTrip]) {
      await dropDatabase(control, name).catch((error: unknown) => {
        log.error(
          { err: error, database: name },
          `could not drop the drill database "${name}"; the next drill or start drops it`,
        );
      });
    }
    await control.end().catch(() => undefined);
  }

  if (options.signal?.aborted) {
    // Stopped from outside (shutdown, a backup that comes first): no verdict, no record.
    throw new JobError(`The drill of "${archive.name}" was interrupted; its scratch databases were dropped`);
  }
  const finishedAt = deps.clock.now();
  const all = CHECKS.map(
    (name) => checks.get(name) ?? { name, ok: false, detail: 'not run: an earlier check failed', seconds: 0 },
  );
  const record: DrillRecord = {
    format: DRILL_FORMAT,
    backup: archive.name,
    database: archive.manifest?.database ?? 'unknown',
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    ok: all.every((check) => check.ok),
    restoreSeconds: round(restoreSeconds),
    totalSeconds: round((finishedAt.getTime() - startedAt.getTime()) / 1000),
    checks: all,
    versions: {
      chatflowDb: packageVersion(),
      server: serverVersion,
      pgDump: await pgDumpVersion().catch(() => 'unknown'),
    },
    target: names.target,
    server: config.drill.serverKind,
  };
  for (const check of all) {
    const line = `drill check ${check.name}: ${check.ok ? 'ok' : 'FAILED'} (${check.seconds} s): ${check.detail}`;
    if (check.ok) log.info(line);
    else log.error(line);
  }
  let recordError: string | undefined;
  try {
    await writeDrillRecord(archive.store, record);
  } catch (error) {
    recordError = describeError(error);
    log.error({ err: error }, `the drill result could not be kept in ${archive.store.location}`);
  }
  return { record, store: archive.store.location, ...(recordError ? { recordError } : {}) };

  async function timed(
    name: CheckName,
    check: () => Promise<{ ok: boolean; detail: string }>,
  ): Promise<void> {
    const started = Date.now();
    try {
      const outcome = await check();
      (outcome.ok ? pass : fail)(name, elapsed(started), outcome.detail);
    } catch (error) {
      fail(name, elapsed(started), describeError(error));
    }
  }
}

/** Rows of every table the manifest counted, against the manifest; names each table that differs. */
async function checkRowCounts(
  server: DatabaseConfig,
  database: string,
  archive: ResolvedArchive,
): Promise<{ ok: boolean; detail: string }> {
  const expected = archive.manifest?.rowCounts;
  if (expected === undefined) {
    return {
      ok: true,
      detail: 'not checked: the manifest has no row counts (a backup taken before chatflow-db recorded them)',
    };
  }
  const tables = Object.keys(expected);
  const problems: string[] = [];
  let rows = 0;
  await withClient(
    server,
    async (client) => {
      for (const table of tables) {
        // The manifest is untrusted: the server resolves the name; only catalog names reach the SQL.
        const found = await client
          .query<{ schema: string; name: string }>(
            `SELECT n.nspname AS schema, c.relname AS name
               FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = to_regclass($1)`,
            [table],
          )
          .catch(() => ({ rows: [] }));
        const relation = found.rows[0];
        if (!relation) {
          problems.push(`${table}: missing (the manifest counted ${expected[table]} rows)`);
          continue;
        }
        const counted = await client.query<{ n: string }>(
          `SELECT count(*)::text AS n FROM ONLY ${quoteIdent(relation.schema)}.${quoteIdent(relation.name)}`,
        );
        const actual = Number(counted.rows[0]?.n ?? -1);
        rows += actual;
        if (actual !== expected[table]) {
          problems.push(`${table}: ${actual} rows restored, the manifest counted ${expected[table]}`);
        }
      }
    },
    database,
  );
  if (problems.length > 0) return { ok: false, detail: `row counts differ: ${problems.join('; ')}` };
  return { ok: true, detail: `${tables.length} tables, ${rows} rows, each as the manifest counted` };
}

/**
 * The fingerprint of a fresh init-complete.sql database on the drill server, after the same trip the
 * backup made: built in `names.reference`, then `pg_dump --schema-only` of it loaded into `names.roundTrip`.
 * PostgreSQL prints some expressions differently after a dump and restore (a CHECK with `= ANY (ARRAY[...])`
 * of varchar), so only a database that went through pg_dump and psql too compares equal to a restored one.
 * Cached (by a long-lived caller) for the same file and server version. The caller drops both databases.
 */
async function referenceFingerprint(
  control: Client,
  server: DatabaseConfig,
  names: ScratchNames,
  initFile: string,
  serverVersion: string,
  deps: DrillDeps,
): Promise<string> {
  const key = `${createHash('sha256').update(readFileSync(initFile)).digest('hex')} ${server.host}:${server.port} ${serverVersion}`;
  const cached = deps.referenceCache?.get(key);
  if (cached !== undefined) return cached;
  await createDatabase(control, names.reference, server.user, undefined);
  await psqlFile(initFile, libpqEnv(server, names.reference));
  await createDatabase(control, names.roundTrip, server.user, undefined);
  await copySchema(libpqEnv(server, names.reference), libpqEnv(server, names.roundTrip));
  const fingerprint = await withClient(server, fingerprintSchema, names.roundTrip);
  deps.referenceCache?.set(key, fingerprint);
  // Dropped now, while the backup still loads: each DROP DATABASE costs about a second (the caller's
  // drops in its finally are then no-ops).
  for (const name of [names.reference, names.roundTrip]) await dropDatabase(control, name);
  return fingerprint;
}

/** `pg_dump --schema-only` (from `fromEnv`'s database) streamed into psql (into `toEnv`'s). */
async function copySchema(fromEnv: NodeJS.ProcessEnv, toEnv: NodeJS.ProcessEnv): Promise<void> {
  const dump = spawn('pg_dump', ['--schema-only', '--no-password'], {
    env: fromEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const dumped = watchChild(dump, 4096);
  const psql = spawnPsql(toEnv);
  const piped = pipeline(dump.stdout, psql.stdin).catch((error: unknown) => error);
  const [dumpExit, psqlExit, pipeError] = await Promise.all([dumped, psql.exit, piped]);
  if (dumpExit.code !== 0)
    throw new Error(
      `pg_dump --schema-only of the reference failed: ${dumpExit.stderrTail.trim() || (dumpExit.startError?.message ?? `exit ${dumpExit.code}`)}`,
    );
  if (psqlExit.code !== 0)
    throw new Error(
      `loading the reference schema failed: ${lastLines(psqlExit.stderrTail) || `psql exit ${psqlExit.code}`}`,
    );
  if (pipeError !== undefined) throw pipeError as Error;
}

async function showServerVersion(client: Client): Promise<string> {
  const { rows } = await client.query<{ server_version: string }>('SHOW server_version');
  return rows[0]?.server_version ?? 'unknown';
}

let version: string | undefined;
function packageVersion(): string {
  if (version === undefined) {
    try {
      version = (JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version?: string })
        .version;
    } catch {
      version = undefined;
    }
  }
  return version ?? 'unknown';
}

const elapsed = (since: number): number => round((Date.now() - since) / 1000);
const round = (n: number): number => Math.round(n * 1000) / 1000;
