/**
 * Retention, pure: which backups `prune` deletes. Rules (a backup is kept if any rule keeps it; 0 turns a
 * rule off; all rules 0 keeps everything):
 *   keepLast N     the newest N
 *   keepDays N     those younger than N days
 *   keepDaily N    the newest backup of each of the last N days that have backups (restic/borg style:
 *   keepWeekly N   the same per ISO week       a pause in backups does not age the old ones out)
 *   keepMonthly N  the same per month
 * Days, weeks and months are calendar periods in the configured time zone.
 *
 * Only candidates are ever deleted: complete, automatic (default-named) backups of this database. Named
 * backups, other databases' backups and archives without a manifest are never touched, and the newest
 * candidate is always kept.
 */
import type { RetentionConfig } from '../config/load.js';
import { wallClock, wallClockDay } from '../lib/clock.js';
import { isDefaultName } from './names.js';

export interface RetentionBackup {
  name: string;
  createdAt: Date;
  /** From the manifest: made without a given name. */
  automatic: boolean;
  /** From the manifest. */
  database: string;
}

export interface RetentionDecision {
  name: string;
  /** Why it is kept (`last`, `days`, `daily`, `weekly`, `monthly`, `newest`, `all-rules-off`); empty = delete. */
  reasons: string[];
}

export interface RetentionPlan {
  keep: RetentionDecision[];
  delete: RetentionDecision[];
}

const DAY_MS = 86_400_000;

export function planRetention(
  backups: readonly RetentionBackup[],
  rules: RetentionConfig,
  context: { now: Date; timeZone: string; database: string },
): RetentionPlan {
  const candidates = backups
    .filter((b) => b.automatic && isDefaultName(b.name) && b.database === context.database)
    .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.name < b.name ? 1 : -1));
  const reasons = new Map(candidates.map((b) => [b.name, [] as string[]]));
  const keep = (b: RetentionBackup, reason: string): void => {
    reasons.get(b.name)?.push(reason);
  };

  const allOff =
    rules.keepLast + rules.keepDays + rules.keepDaily + rules.keepWeekly + rules.keepMonthly === 0;
  if (allOff) candidates.forEach((b) => keep(b, 'all-rules-off'));
  if (candidates[0]) keep(candidates[0], 'newest');
  candidates.slice(0, rules.keepLast).forEach((b) => keep(b, 'last'));
  if (rules.keepDays > 0) {
    const cutoff = context.now.getTime() - rules.keepDays * DAY_MS;
    candidates.filter((b) => b.createdAt.getTime() > cutoff).forEach((b) => keep(b, 'days'));
  }
  const periodic = (count: number, reason: string, period: (date: Date) => string): void => {
    const seen = new Set<string>();
    for (const b of candidates) {
      if (seen.size >= count) break;
      const key = period(b.createdAt);
      if (seen.has(key)) continue;
      seen.add(key);
      keep(b, reason);
    }
  };
  periodic(rules.keepDaily, 'daily', (d) => wallClockDay(d, context.timeZone));
  periodic(rules.keepWeekly, 'weekly', (d) => isoWeekKey(d, context.timeZone));
  periodic(rules.keepMonthly, 'monthly', (d) => wallClockDay(d, context.timeZone).slice(0, 7));

  const plan: RetentionPlan = { keep: [], delete: [] };
  for (const b of candidates) {
    const why = reasons.get(b.name) ?? [];
    (why.length > 0 ? plan.keep : plan.delete).push({ name: b.name, reasons: why });
  }
  return plan;
}

/** ISO 8601 week of `date`'s calendar day in `timeZone`, e.g. `2024-W06`. */
export function isoWeekKey(date: Date, timeZone: string): string {
  const t = wallClock(date, timeZone);
  const day = new Date(Date.UTC(t.year, t.month - 1, t.day));
  const weekday = (day.getUTCDay() + 6) % 7; // Monday = 0
  const thursday = new Date(day.getTime() + (3 - weekday) * DAY_MS);
  const year = thursday.getUTCFullYear();
  const week = 1 + Math.floor((thursday.getTime() - Date.UTC(year, 0, 1)) / (7 * DAY_MS));
  return `${year}-W${String(week).padStart(2, '0')}`;
}
