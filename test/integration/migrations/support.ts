/** Helpers of the migrate*.test.ts files: temporary migration folders, running the CLI, reading results. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, REPO_ROOT, type CliResult } from '../../helpers/cli.js';
import { dbEnv, withDb } from '../../helpers/database.js';

export const REAL_MIGRATIONS = join(REPO_ROOT, 'migrations');

const folders: string[] = [];

/** A temporary MIGRATIONS_DIR holding `files` (name -> SQL). */
export function migrationsDir(files: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'cfdb-migrations-'));
  folders.push(dir);
  for (const [name, sql] of Object.entries(files)) writeFileSync(join(dir, name), sql);
  return dir;
}

export function removeMigrationDirs(): void {
  for (const dir of folders.splice(0)) rmSync(dir, { recursive: true, force: true });
}

export function cli(
  database: string,
  args: string[],
  env: Record<string, string | undefined> = {},
  timeoutMs?: number,
): Promise<CliResult> {
  return runCli(args, { ...dbEnv(database), MIGRATIONS_DIR: REAL_MIGRATIONS, ...env }, { timeoutMs });
}

/** The JSON log lines of a run (LOG_FORMAT=json). */
export function logs(result: CliResult): { level: number; msg: string; [key: string]: unknown }[] {
  return result.stderr
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { level: number; msg: string });
}

/** The error the CLI reported (its last error-level log line). */
export function reportedError(result: CliResult): string {
  return (
    logs(result)
      .filter((line) => line.level >= 50)
      .map((line) => line.msg)
      .at(-1) ?? result.stderr
  );
}

export async function trackedFiles(database: string): Promise<string[]> {
  return withDb(database, async (client) => {
    const { rows } = await client.query<{ name: string }>(
      `SELECT name FROM chatflow_db.schema_migrations ORDER BY version::numeric`,
    );
    return rows.map((row) => row.name);
  });
}
