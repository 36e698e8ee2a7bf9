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

export interface CronMatcher {
  match(date: Date): boolean;
}

interface LocalParts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let format = formatters.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, format);
  }
  return format;
}

export function localParts(ms: number, timeZone: string): LocalParts {
  const parts: Record<string, number> = {};
  for (const part of formatter(timeZone).formatToParts(new Date(ms))) {
    if (part.type !== 'literal') parts[part.type] = Number(part.value);
  }
  return {
    year: parts.year ?? 0,
    month: parts.month ?? 0,
    day: parts.day ?? 0,
    hour: parts.hour ?? 0,
    minute: parts.minute ?? 0,
    second: parts.second ?? 0,
  };
}

function asUtc(p: LocalParts): number {
  return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
}

function sameParts(a: LocalParts, b: LocalParts): boolean {
  return (
    a.year === b.year &&
    a.month === b.month &&
    a.day === b.day &&
    a.hour === b.hour &&
    a.minute === b.minute &&
    a.second === b.second
  );
}

/** The instant of a wall-clock time in `timeZone`, or undefined if it does not exist (DST gap). */
export function localToInstant(p: LocalParts, timeZone: string): number | undefined {
  const guess = asUtc(p);
  const first = guess - (asUtc(localParts(guess, timeZone)) - guess);
  const second = guess - (asUtc(localParts(first, timeZone)) - first);
  for (const candidate of [first, second]) {
    if (sameParts(localParts(candidate, timeZone), p)) return candidate;
  }
  return undefined;
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
  const now = localParts(atMs, timeZone);
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
          const instant = localToInstant({ ...day, hour, minute, second }, timeZone);
          if (instant === undefined || instant > atMs) continue;
          // An existing, allowed time that does not match means the day fields reject this day.
          return matcher.match(new Date(instant)) ? instant : undefined;
        }
      }
    }
    return undefined;
  }
}
