/** Time as a dependency, so that naming and retention are testable with a fixed "now". */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A wall-clock time in some time zone. */
export interface WallClock {
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

/** The wall clock of `date` in `timeZone` (Intl, so the process's TZ never matters). */
export function wallClock(date: Date | number, timeZone: string): WallClock {
  const parts: Record<string, number> = {};
  for (const part of formatter(timeZone).formatToParts(date)) {
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

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/** `YYYY-MM-DD` of `date` in `timeZone`. */
export function wallClockDay(date: Date, timeZone: string): string {
  const t = wallClock(date, timeZone);
  return `${pad(t.year, 4)}-${pad(t.month)}-${pad(t.day)}`;
}

/** `YYYYMMDD_HHMMSS` of `date` in `timeZone`: the stamp in backup names and restore database names. */
export function wallClockStamp(date: Date, timeZone: string): string {
  const t = wallClock(date, timeZone);
  return `${pad(t.year, 4)}${pad(t.month)}${pad(t.day)}_${pad(t.hour)}${pad(t.minute)}${pad(t.second)}`;
}

/** `YYYY-MM-DD HH:MM` of `date` in `timeZone` (with `:SS` when the seconds are not 0), for people. */
export function wallClockText(date: Date, timeZone: string): string {
  const t = wallClock(date, timeZone);
  const seconds = t.second === 0 ? '' : `:${pad(t.second)}`;
  return `${pad(t.year, 4)}-${pad(t.month)}-${pad(t.day)} ${pad(t.hour)}:${pad(t.minute)}${seconds}`;
}

/** The instant of a wall-clock time in `timeZone`, or undefined if it does not exist (DST gap). */
export function wallClockInstant(p: WallClock, timeZone: string): number | undefined {
  const guess = asUtc(p);
  const first = guess - (asUtc(wallClock(guess, timeZone)) - guess);
  const second = guess - (asUtc(wallClock(first, timeZone)) - first);
  for (const candidate of [first, second]) {
    if (sameWallClock(wallClock(candidate, timeZone), p)) return candidate;
  }
  return undefined;
}

function asUtc(p: WallClock): number {
  return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
}

function sameWallClock(a: WallClock, b: WallClock): boolean {
  return (
    a.year === b.year &&
    a.month === b.month &&
    a.day === b.day &&
    a.hour === b.hour &&
    a.minute === b.minute &&
    a.second === b.second
  );
}
