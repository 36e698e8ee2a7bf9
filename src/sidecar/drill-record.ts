/**
 * Reading `<name>.drill.json`, the record a restore drill leaves next to the backup it drilled (format
 * agreed between helpers: `chatflow-db-drill/1`). The status page only reads them, and reads them
 * tolerantly: a record that is missing, malformed, of another format or about another backup gives no
 * drill information rather than an error. Pure: no I/O here.
 */
import type { DrillFacts } from './status-model.js';

export const DRILL_RECORD_SUFFIX = '.drill.json';
export const DRILL_RECORD_FORMAT = 'chatflow-db-drill/1';
/** A drill record is a few hundred bytes; anything much larger is not one. */
export const DRILL_RECORD_MAX_BYTES = 256 * 1024;

/** The backup a store object records a drill of, or undefined when the object is not a drill record. */
export function drilledBackup(objectName: string): string | undefined {
  if (!objectName.endsWith(DRILL_RECORD_SUFFIX)) return undefined;
  const name = objectName.slice(0, -DRILL_RECORD_SUFFIX.length);
  return name === '' ? undefined : name;
}

/**
 * The drill a record's text describes, or undefined when it is not a usable record of `backup` (of
 * `database`, when the record names one: records outlive the backups retention deletes, and a store may be
 * shared by several databases).
 */
export function parseDrillRecord(text: string, backup: string, database?: string): DrillFacts | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isObject(value) || value.format !== DRILL_RECORD_FORMAT || value.backup !== backup) return undefined;
  if (typeof value.ok !== 'boolean') return undefined;
  if (database !== undefined && typeof value.database === 'string' && value.database !== database)
    return undefined;
  const at = timeOf(value.finishedAt) ?? timeOf(value.startedAt);
  if (!at) return undefined;
  const seconds = secondsOf(value.restoreSeconds) ?? secondsOf(value.totalSeconds);
  if (seconds === undefined) return undefined;
  const checks = Array.isArray(value.checks) ? value.checks : [];
  const failedChecks = checks
    .filter((check): check is { name: string } => isObject(check) && check.ok === false)
    .map((check) => check.name)
    .filter((name) => typeof name === 'string' && name !== '');
  return { at, ok: value.ok, durationMs: seconds * 1000, failedChecks: value.ok ? [] : failedChecks };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function timeOf(value: unknown): Date | undefined {
  if (typeof value !== 'string') return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : new Date(ms);
}

function secondsOf(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;
}
