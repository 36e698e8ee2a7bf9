/**
 * Backup names, pure: the default `chatflow_backup_YYYYMMDD_HHMMSS_<database>` (wall-clock time in the
 * configured time zone, not the process's; the database so that two databases backed up into one store in
 * the same second get different names) and the rules a given name must follow. Names of the older default
 * shape without the database (`chatflow_backup_YYYYMMDD_HHMMSS`) stay default names. No I/O here; the
 * stores refuse a name that is taken, at the moment they create it.
 */
import { wallClockStamp } from '../lib/clock.js';
import { UsageError } from '../lib/errors.js';

export const DEFAULT_NAME_PREFIX = 'chatflow_backup_';
const DEFAULT_NAME = /^chatflow_backup_(\d{4})(\d{2})(\d{2})_(\d{2})(\d{2})(\d{2})(?:_[A-Za-z0-9._-]+)?$/;
const ALLOWED = /^[A-Za-z0-9._-]+$/;
export const MAX_NAME_LENGTH = 128;

/**
 * `chatflow_backup_YYYYMMDD_HHMMSS_<database>` for `date` in `timeZone` (without `database`, the older shape
 * `chatflow_backup_YYYYMMDD_HHMMSS`). Characters a name may not hold become `-`; at most 63 are kept.
 */
export function defaultBackupName(date: Date, timeZone: string, database?: string): string {
  const stamp = `${DEFAULT_NAME_PREFIX}${wallClockStamp(date, timeZone)}`;
  return database === undefined
    ? stamp
    : `${stamp}_${database.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 63)}`;
}

/** Whether `name` has a default (automatic) shape, with or without the database; only such are pruned. */
export function isDefaultName(name: string): boolean {
  return DEFAULT_NAME.test(name);
}

/** Why `name` cannot be a backup name, or undefined if it can. */
export function nameProblem(name: string): string | undefined {
  if (name === '') return 'a backup name must not be empty';
  if (name.length > MAX_NAME_LENGTH)
    return `a backup name has at most ${MAX_NAME_LENGTH} characters (got ${name.length})`;
  if (name === '.' || name === '..') return `"${name}" is not a backup name`;
  if (name.includes('/') || name.includes('\\'))
    return `a backup name must not contain a slash (got "${name}")`;
  if (!ALLOWED.test(name)) return `a backup name has only letters, digits, ".", "_" and "-" (got "${name}")`;
  return undefined;
}

/** Returns `name` if valid, else throws a UsageError (exit code 2) that says what is allowed. */
export function validateBackupName(name: string): string {
  const problem = nameProblem(name);
  if (problem !== undefined) {
    throw new UsageError(
      `Invalid backup name: ${problem}. Use letters, digits, ".", "_" and "-", up to ${MAX_NAME_LENGTH} characters.`,
    );
  }
  return name;
}
