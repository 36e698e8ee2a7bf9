/** Reads MIGRATIONS_DIR into parsed, validated migration files (every problem reported at once). */
import { readdirSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UsageError } from '../lib/errors.js';
import { compareVersions, MigrationFileError, parseMigration, type MigrationFile } from './file.js';
import { duplicateVersions } from './plan.js';

export async function loadMigrations(dir: string): Promise<MigrationFile[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    throw new UsageError(
      `Cannot read the migrations folder ${dir} (MIGRATIONS_DIR): ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  // Other files (README.md, .gitkeep) may live beside the migrations; every .sql file must be one.
  const names = entries
    .filter((entry) => entry.isFile() && entry.name.endsWith('.sql'))
    .map((entry) => entry.name);
  const problems: string[] = [];
  const files: MigrationFile[] = [];
  await Promise.all(
    names.map(async (name) => {
      try {
        files.push(parseMigration(name, await readFile(join(dir, name), 'utf8')));
      } catch (error) {
        if (!(error instanceof MigrationFileError)) throw error;
        problems.push(error.message);
      }
    }),
  );
  problems.push(...duplicateVersions(files));
  if (problems.length > 0) {
    throw new UsageError(
      `Invalid migration files in ${dir}; nothing ran:\n  - ${problems.sort().join('\n  - ')}`,
    );
  }
  return files.sort((a, b) => compareVersions(a.version, b.version));
}

/** `NNN_name.sql` files of a migrations folder, in the order they apply. */
export function migrationFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((name) => /^\d+_.+\.sql$/.test(name))
    .sort()
    .map((name) => join(dir, name));
}
