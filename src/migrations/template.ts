/** `migrate create <name>`: the next file name and its starting text. Pure. */
import { UsageError } from '../lib/errors.js';
import { compareVersions, parseFileName } from './file.js';

const NAME = /^[a-z][a-z0-9_]{0,59}$/;

/** The next free `NNN_name.sql` after `existing` (file names in MIGRATIONS_DIR); refuses bad and taken names. */
export function nextMigrationFileName(existing: readonly string[], name: string): string {
  if (!NAME.test(name)) {
    const suggestion = name
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '_')
      .replace(/^[^a-z]+|_+$/g, '');
    throw new UsageError(
      `Migration names are lower-case letters, digits and underscores, starting with a letter, at most 60 characters ` +
        `(got "${name}"${suggestion && suggestion !== name ? `; try "${suggestion}"` : ''})`,
    );
  }
  const migrations = existing.flatMap((fileName) => {
    const parsed = parseFileName(fileName);
    return parsed ? [{ fileName, ...parsed }] : [];
  });
  const taken = migrations.find((m) => m.name === name);
  if (taken)
    throw new UsageError(`A migration named "${name}" exists already: ${taken.fileName}. Pick another name.`);
  const highest = migrations
    .map((m) => m.version)
    .sort(compareVersions)
    .at(-1);
  const next = highest === undefined ? 1n : BigInt(highest) + 1n;
  // Keep the folder's zero-padding so that file names sort in version order.
  const width = Math.max(3, highest?.length ?? 0);
  return `${next.toString().padStart(width, '0')}_${name}.sql`;
}

export function migrationTemplate(fileName: string): string {
  return `-- ${fileName}: what this migration changes, and why.
--
-- chatflow-db migrate runs this file in one transaction and records it; the BEGIN/COMMIT below make plain
-- psql -f atomic too. Legacy databases run every file, so write it to converge: IF NOT EXISTS, and DO blocks
-- that check the catalog before changing anything. Never edit this file once it is applied somewhere:
-- write a new migration instead.
--
-- Header directives (lines of the form "-- chatflow-db: <directive>" above the first statement):
--   no-transaction            run each statement on its own (CREATE INDEX CONCURRENTLY); drop BEGIN/COMMIT then
--   lock-timeout=30s          lock_timeout for this file (default MIGRATE_DDL_LOCK_TIMEOUT)
--   statement-timeout=2h      statement_timeout for this file (default MIGRATE_STATEMENT_TIMEOUT)

BEGIN;


COMMIT;
`;
}
