/**
 * `npm run schema:stamp`: rewrites the block of initdb/init-complete.sql that records every migration as
 * applied (between the stamp markers), from the current migrations/ files. A fresh deployment already has
 * everything they bring, so its first `migrate` must apply nothing. A unit test fails when the block is stale.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { PACKAGE_ROOT } from '../src/lib/package-root.js';
import { JobError } from '../src/lib/errors.js';
import type { Logger } from '../src/lib/logger.js';
import { migrationChecksum } from '../src/migrations/checksum.js';
import { migrationFiles } from '../src/migrations/folder.js';
import { runAsMain } from './run-as-main.js';

export const STAMP_BEGIN = '-- chatflow-db:stamp:begin';
export const STAMP_END = '-- chatflow-db:stamp:end';

export interface MigrationText {
  /** The file name, e.g. `001_initial_schema.sql`. */
  name: string;
  text: string;
}

/** The INSERT that stamps `migrations` (version = leading digits, checksum as the runner computes it). */
export function stampBlock(migrations: readonly MigrationText[]): string {
  if (migrations.length === 0) return '';
  const rows = migrations.map(({ name, text }) => {
    const version = /^(\d+)_/.exec(name)?.[1];
    if (version === undefined) throw new JobError(`${name} is not a migration file name (NNN_name.sql)`);
    return `    ('${version}', '${name}', '${migrationChecksum(text)}', 0)`;
  });
  return `INSERT INTO chatflow_db.schema_migrations (version, name, checksum, duration_ms) VALUES\n${rows.join(',\n')};\n`;
}

/** The text between the markers (exclusive), or an error if they are missing. */
export function currentStamp(initSql: string): string {
  const begin = initSql.indexOf(`${STAMP_BEGIN}\n`);
  const end = initSql.indexOf(STAMP_END);
  if (begin < 0 || end < begin) {
    throw new JobError(
      `init-complete.sql must contain the lines "${STAMP_BEGIN}" and "${STAMP_END}", in that order`,
    );
  }
  return initSql.slice(begin + STAMP_BEGIN.length + 1, end);
}

/** `initSql` with the text between the markers replaced by `block`. */
export function replaceStamp(initSql: string, block: string): string {
  const old = currentStamp(initSql);
  const start = initSql.indexOf(`${STAMP_BEGIN}\n`) + STAMP_BEGIN.length + 1;
  return initSql.slice(0, start) + block + initSql.slice(start + old.length);
}

export function readMigrations(dir: string): MigrationText[] {
  return migrationFiles(dir).map((file) => ({ name: basename(file), text: readFileSync(file, 'utf8') }));
}

/** Rewrites the stamp of `initFile` from `migrationsDir`; returns whether the file changed. */
export function stampInitFile(initFile: string, migrationsDir: string, logger: Logger): boolean {
  const before = readFileSync(initFile, 'utf8');
  const migrations = readMigrations(migrationsDir);
  const after = replaceStamp(before, stampBlock(migrations));
  if (after === before) {
    logger.info({ initFile, migrations: migrations.length }, 'init-complete.sql stamp is up to date');
    return false;
  }
  // Written under a temporary name and renamed: an interrupted run never leaves half a file.
  const temporary = `${initFile}.tmp-${process.pid}`;
  writeFileSync(temporary, after);
  renameSync(temporary, initFile);
  logger.info({ initFile, migrations: migrations.length }, 'init-complete.sql stamp rewritten');
  return true;
}

await runAsMain(import.meta.url, ({ logger }) => {
  stampInitFile(join(PACKAGE_ROOT, 'initdb', 'init-complete.sql'), join(PACKAGE_ROOT, 'migrations'), logger);
});
