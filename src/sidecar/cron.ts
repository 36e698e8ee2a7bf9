/**
 * The latest cron slot at or before a moment, in a time zone. node-cron only looks forward
 * (getNextRun); the health check needs the slot that should already have produced a backup.
 *
 * The walk goes back day by day over the wall-clock dates of the zone and, per day, tries the allowed
 * times newest first; node-cron's own `match` decides, so `L`, `W`, `#` and names mean what they mean
 * to the scheduler. A time that exists on that day and is allowed by the time fields but does not
 * match can only fail on the day fields, so the rest of that day is skipped.
 */
import { parse } from 'node-cron';
import { wallClock, wallClockInstant } from '../lib/clock.js';

export interface CronMatcher {
  match(date: Date): boolean;
}

const descending = (values: number[]): number[] => [...values].sort((a, b) => b - a);

/** The latest slot of `pattern` at or before `at` (whole seconds), looking back at most `maxDays`. */
export function previousRun(
  pattern: string,
  matcher: CronMatcher,
  timeZone: string,
  at: Date,
  maxDays = 400,
): Date | undefined {
  const fields = parse(pattern);
  const seconds = descending(fields.second);
  const minutes = descending(fields.minute);
  const hours = descending(fields.hour);
  const months = new Set(fields.month);
  const atMs = Math.floor(at.getTime() / 1000) * 1000;
  const now = wallClock(atMs, timeZone);
  const nowSeconds = now.hour * 3600 + now.minute * 60 + now.second;

  for (let back = 0; back <= maxDays; back++) {
    const date = new Date(Date.UTC(now.year, now.month - 1, now.day - back));
    const day = { year: date.getUTCFullYear(), month: date.getUTCMonth() + 1, day: date.getUTCDate() };
    if (!months.has(day.month)) continue;
    const found = latestOnDay(day, back === 0 ? nowSeconds : Infinity);
    if (found !== undefined) return new Date(found);
  }
  return undefined;

  function latestOnDay(day: { year: number; month: number; day: number }, limit: number): number | undefined {
    for (const hour of hours) {
      if (hour * 3600 > limit) continue;
      for (const minute of minutes) {
        if (hour * 3600 + minute * 60 > limit) continue;
        for (const second of seconds) {
          if (hour * 3600 + minute * 60 + second > limit) continue;
          const instant = wallClockInstant({ ...day, hour, minute, second }, timeZone);
          if (instant === undefined || instant > atMs) continue;
          // An existing, allowed time that does not match means the day fields reject this day.
          return matcher.match(new Date(instant)) ? instant : undefined;
        }
      }
    }
    return undefined;
  }
}
