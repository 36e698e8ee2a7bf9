/**
 * Which migrations run, from the files on disk and the rows of the tracking table. Pure.
 *
 * Files and rows are matched by numeric version. Three states are refused unless overridden, because each
 * means the database and the folder disagree about history:
 *   - an applied file whose checksum changed (--allow-changed records the new checksum without running it);
 *   - an applied file that is gone (--allow-missing goes on without it);
 *   - a new file numbered below the highest applied one (--allow-out-of-order applies it anyway).
 * An applied file whose recorded checksum is an earlier revision that chatflow-db itself shipped is not a
 * refusal: the runner records the new checksum (see revisions.ts).
 */
import { UsageError } from '../lib/errors.js';
import { compareVersions, versionKey } from './file.js';

export interface FileRef {
  version: string;
  fileName: string;
  checksum: string;
}

export interface AppliedRow {
  version: string;
  name: string;
  checksum: string;
  appliedAt: Date | null;
  durationMs: number | null;
  appliedBy: string | null;
}

export interface PlanOptions {
  allowChanged?: boolean;
  allowMissing?: boolean;
  allowOutOfOrder?: boolean;
  /** Record the files up to this version as applied without running them (untracked databases only). */
  baseline?: string;
  /** Checksums of earlier shipped revisions, by file name: accepted in place of the file's own. */
  earlierRevisions?: ReadonlyMap<string, readonly string[]>;
}

export interface Plan<F extends FileRef> {
  /** Files with a tracking row (changed ones included), in version order. */
  applied: { file: F; row: AppliedRow }[];
  changed: { file: F; row: AppliedRow }[];
  /** Applied files recorded with an earlier shipped revision's checksum: re-recorded, never refused. */
  revised: { file: F; row: AppliedRow }[];
  /** Rows whose file is gone. */
  missing: AppliedRow[];
  /** Pending files numbered below the highest applied version. */
  outOfOrder: F[];
  /** Files to record as applied without running (--baseline). */
  baseline: F[];
  /** Files to run, in version order. */
  pending: F[];
  /** Why the runner must not go on (empty when it may); one message per file. */
  refusals: string[];
}

export function planMigrations<F extends FileRef>(
  files: readonly F[],
  rows: readonly AppliedRow[],
  options: PlanOptions = {},
): Plan<F> {
  const sorted = [...files].sort((a, b) => compareVersions(a.version, b.version));
  const rowByVersion = new Map(rows.map((row) => [versionKey(row.version), row]));
  const fileVersions = new Set(sorted.map((file) => versionKey(file.version)));

  const applied: Plan<F>['applied'] = [];
  const unapplied: F[] = [];
  for (const file of sorted) {
    const row = rowByVersion.get(versionKey(file.version));
    if (row) applied.push({ file, row });
    else unapplied.push(file);
  }
  const isEarlierRevision = ({ file, row }: { file: F; row: AppliedRow }): boolean =>
    options.earlierRevisions?.get(file.fileName)?.includes(row.checksum) === true;
  const differing = applied.filter(({ file, row }) => file.checksum !== row.checksum);
  const revised = differing.filter(isEarlierRevision);
  const changed = differing.filter((entry) => !isEarlierRevision(entry));
  const missing = rows
    .filter((row) => !fileVersions.has(versionKey(row.version)))
    .sort((a, b) => compareVersions(a.version, b.version));
  const highest = rows
    .map((row) => row.version)
    .sort(compareVersions)
    .at(-1);
  const outOfOrder =
    highest === undefined ? [] : unapplied.filter((f) => compareVersions(f.version, highest) < 0);

  const { baseline, pending } = splitBaseline(sorted, unapplied, rows, options.baseline);

  const refusals: string[] = [];
  if (!options.allowChanged) {
    for (const { file, row } of changed) {
      refusals.push(
        `${file.fileName} was edited after it was applied: recorded sha256 ${row.checksum}, file now ${file.checksum}. ` +
          'Put the change in a new migration and restore the file as it was applied, or run migrate --allow-changed ' +
          'to record the new checksum without running the file again.',
      );
    }
  }
  if (!options.allowMissing) {
    for (const row of missing) {
      refusals.push(
        `${row.name} (version ${row.version}) was applied${row.appliedAt ? ` at ${row.appliedAt.toISOString()}` : ''} but ` +
          'its file is gone from the migrations folder. Restore the file, or run migrate --allow-missing to go on without it.',
      );
    }
  }
  if (!options.allowOutOfOrder) {
    const top = rows.find((row) => row.version === highest)?.name ?? `version ${highest}`;
    for (const file of outOfOrder) {
      refusals.push(
        `${file.fileName} is new but numbered below ${top}, the highest applied migration. Renumber it above ` +
          '(migrate create picks the next number), or run migrate --allow-out-of-order to apply it anyway.',
      );
    }
  }
  return { applied, changed, revised, missing, outOfOrder, baseline, pending, refusals };
}

function splitBaseline<F extends FileRef>(
  sorted: readonly F[],
  unapplied: F[],
  rows: readonly AppliedRow[],
  version: string | undefined,
): { baseline: F[]; pending: F[] } {
  if (version === undefined) return { baseline: [], pending: unapplied };
  if (!/^\d+$/.test(version))
    throw new UsageError(`--baseline needs a migration version such as 005 (got "${version}")`);
  if (rows.length > 0) {
    throw new UsageError(
      `--baseline is for databases without recorded migrations; this one has ${rows.length} already. ` +
        'Run migrate without --baseline.',
    );
  }
  if (!sorted.some((file) => compareVersions(file.version, version) === 0)) {
    const known = sorted.map((file) => file.version).join(', ') || 'none';
    throw new UsageError(`--baseline ${version} names no migration file (versions: ${known})`);
  }
  return {
    baseline: unapplied.filter((file) => compareVersions(file.version, version) <= 0),
    pending: unapplied.filter((file) => compareVersions(file.version, version) > 0),
  };
}

/** Messages for files that share a version number ("001_a.sql" and "1_b.sql"). */
export function duplicateVersions(files: readonly FileRef[]): string[] {
  const byVersion = new Map<string, string[]>();
  for (const file of files) {
    const key = versionKey(file.version);
    byVersion.set(key, [...(byVersion.get(key) ?? []), file.fileName]);
  }
  return [...byVersion.values()]
    .filter((names) => names.length > 1)
    .map((names) => `${names.sort().join(' and ')} share a version number; renumber one of them`);
}
