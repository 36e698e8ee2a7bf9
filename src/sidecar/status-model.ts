/**
 * What `GET /api/status` returns and the status page renders: one plain, JSON-serialisable object built
 * by a pure function from facts the sidecar already has (catalog entries and manifests from the stores,
 * drill records, the /healthz decision, the schedule, the migration status, versions, now). Nothing here
 * does I/O, so the page works after a restart: everything but "since when" comes from the stores.
 *
 * What may never appear here: URLs, credentials, keys. A store is shown as `local` or `s3:<bucket>`.
 * Backup names come from a bucket anyone with write access can fill: they are data, the page escapes them.
 */
import type { BackupEntry } from '../backup/listing.js';
import type { Manifest } from '../backup/manifest.js';

export const STATUS_FORMAT = 'chatflow-db-status/1';
/** Backups per page of the table. */
export const PAGE_SIZE = 50;
/** The plots cover this many days up to now. */
export const TREND_DAYS = 90;
/** A backup this much before its slot still covers it (clock skew, a slot fired a little early). */
export const SLOT_TOLERANCE_MS = 60_000;
/** More expected slots than this in the window (e.g. a per-minute schedule): gaps are not computed. */
export const MAX_SLOTS = 3000;

// ---------------------------------------------------------------------------------------------------
// The model (JSON). Times are ISO 8601 strings in UTC; the page shows them in `timeZone`.
// ---------------------------------------------------------------------------------------------------

export interface Status {
  /** Version of this shape; a change that breaks readers changes the number. */
  format: typeof STATUS_FORMAT;
  /** When these facts were put together (ISO, UTC). */
  generatedAt: string;
  /** IANA zone (TZ) in which schedules fire and the page shows times. */
  timeZone: string;
  /** Name of the database this sidecar backs up. */
  database: string;
  verdict: Verdict;
  backups: BackupPage;
  /** What the plots draw: the last TREND_DAYS days, independent of the table's page. */
  trend: Trend;
  schedule: ScheduleStatus;
  migrations: MigrationsStatus;
  versions: Versions;
}

/** The same truth as /healthz, plus the drill rule of issue 13 while /healthz does not know drills yet. */
export interface Verdict {
  /** True when there is no problem. */
  ok: boolean;
  /** What is wrong, most urgent first; empty when ok. */
  problems: Problem[];
  /** Creation time of the newest complete backup, or null when there is none. */
  lastBackupAt: string | null;
  /** The newest drill, or null when none was recorded. */
  lastDrill: { at: string; ok: boolean } | null;
}

export interface Problem {
  /** The part that is wrong: `database`, `migrations`, `backup`, `drill` (the prefix of the reason). */
  area: string;
  /** The reason in words, as /healthz gives it. */
  message: string;
  /** Since when it has been wrong (ISO), or null when unknown (first seen just now). */
  since: string | null;
}

export interface BackupPage {
  /** Backups of this database in all stores (one per name, however many stores hold it). */
  total: number;
  /** 1-based page shown; clamped to 1..pages. */
  page: number;
  pageSize: number;
  /** Number of pages (at least 1, also when there are no backups). */
  pages: number;
  /** This page's backups, newest first. */
  items: BackupStatus[];
}

export interface BackupStatus {
  /** Backup name (untrusted text from the store). */
  name: string;
  /** When it was made (ISO): the manifest's time, else the newest archive's modification time. */
  createdAt: string;
  /** Bytes of the archive (the manifest's figure when there is one). */
  size: number;
  /** Seconds pg_dump and the upload took, from the manifest; null without a manifest. */
  durationSeconds: number | null;
  /** Where it is stored: `local`, `s3:<bucket>`; sorted. */
  stores: string[];
  /** Has a manifest: a complete backup of chatflow-db. */
  complete: boolean;
  verified: VerifiedStatus;
  /** The newest restore drill of this backup, or null when it was never drilled. */
  drill: DrillStatus | null;
  /** The archive is encrypted (from the manifest; false when the manifest does not say). */
  encrypted: boolean;
}

export interface VerifiedStatus {
  /**
   * `passed`/`failed`: a recorded verification (or an inconsistency visible from the listing: no
   * manifest, a store's size differing from it); `not-run`: consistent listing, checksum not re-read.
   */
  result: 'passed' | 'failed' | 'not-run';
  /** When a recorded verification ran (ISO), else null. */
  at: string | null;
  /** One line for a person. */
  detail: string;
}

export interface DrillStatus {
  /** When the drill ran (ISO). */
  at: string;
  /** Every check passed. */
  ok: boolean;
  /** Measured restore time in seconds (the recovery-time figure). */
  durationSeconds: number;
  /** Names of the checks that failed (empty when ok). */
  failedChecks: string[];
}

export interface Trend {
  /** Start of the window (ISO): now minus TREND_DAYS days. */
  from: string;
  /** End of the window (ISO): now. */
  to: string;
  /** Typical seconds between scheduled backups (median gap of the slots), or null when unknown. */
  intervalSeconds: number | null;
  /** Every backup made in the window, oldest first. */
  backups: TrendPoint[];
  /** Scheduled slots in the window that no backup covers (ISO, oldest first). */
  missedSlots: string[];
  /** False when the schedule is too dense to check slot by slot (missedSlots is then empty). */
  slotsChecked: boolean;
  /** Drills in the window, oldest first. */
  drills: DrillPoint[];
}

export interface TrendPoint {
  name: string;
  at: string;
  size: number;
  durationSeconds: number | null;
  /** Has a manifest; an incomplete archive is drawn apart, not joined to the line. */
  complete: boolean;
  /** Points with the same segment are joined by a line; a missed slot between two backups splits them. */
  segment: number;
}

export interface DrillPoint {
  /** The drilled backup. */
  name: string;
  at: string;
  ok: boolean;
  durationSeconds: number;
}

export interface ScheduleStatus {
  /** BACKUP_SCHEDULE (cron, in timeZone). */
  backupCron: string;
  /** Next scheduled backup (ISO), or null. */
  nextBackup: string | null;
  /** Next retention run (ISO), or null when retention is off. Retention runs after each backup. */
  nextPrune: string | null;
  /** DRILL_SCHEDULE, or null when drills are off. */
  drillCron: string | null;
  /** Next scheduled drill (ISO), or null. */
  nextDrill: string | null;
}

export type MigrationsStatus =
  | {
      known: true;
      /** Number of applied migrations. */
      applied: number;
      /** File name of the newest applied migration, or null. */
      latest: string | null;
      /** File names of pending migrations, in the order they would run. */
      pending: string[];
    }
  | { known: false; /** Why the status could not be read. */ error: string };

export interface Versions {
  /** This tool's version. */
  chatflowDb: string;
  /** PostgreSQL server version, or null when unknown. */
  server: string | null;
  /** pg_dump version, or null when unknown. */
  pgDump: string | null;
}

// ---------------------------------------------------------------------------------------------------
// Inputs
// ---------------------------------------------------------------------------------------------------

/** What the builder needs from a manifest (`encrypted` is optional: older manifests do not say). */
export type ManifestFacts = Pick<Manifest, 'createdAt' | 'size' | 'durationMs'> & { encrypted?: boolean };

/** A drill record (`<name>.drill.json`, issue 13) reduced to what the page shows. */
export interface DrillFacts {
  at: Date;
  ok: boolean;
  /** Restore time. */
  durationMs: number;
  failedChecks: readonly string[];
}

/** A recorded `verify` outcome, when one is kept. */
export interface VerifyFacts {
  at: Date;
  ok: boolean;
  problem?: string;
}

export interface StatusInputs {
  now: Date;
  timeZone: string;
  database: string;
  /** Catalog entries as listBackups gives them: one per store holding a name. */
  entries: readonly BackupEntry[];
  /**
   * Manifests by backup name. Completeness comes from the entries; a complete backup whose manifest is
   * not here shows the catalog's time and size and no duration, so a caller may read only the manifests
   * of the trend window and the page shown, and cache them (a manifest never changes once written).
   */
  manifests: ReadonlyMap<string, ManifestFacts>;
  /** Drill records by backup name, any order. */
  drills?: ReadonlyMap<string, readonly DrillFacts[]>;
  verifications?: ReadonlyMap<string, VerifyFacts>;
  health: {
    /** decideHealth's reasons ("area: message"). */
    reasons: readonly string[];
    /** First time each area was seen failing without a break (trackSince). */
    since?: ReadonlyMap<string, Date>;
  };
  schedule: {
    backupCron: string;
    /** The latest backup slot at or before a moment (the loop's previousRun). */
    previousBackupSlot: (at: Date) => Date | undefined;
    nextBackup: Date | undefined;
    /** Retention is configured (it then runs after each backup). */
    pruneEnabled: boolean;
    drill?: { cron: string; next: Date | undefined; previousSlot: (at: Date) => Date | undefined };
  };
  migrations: MigrationsStatus;
  versions: Versions;
  /** Requested page (1-based); out of range is clamped. */
  page?: number;
  pageSize?: number;
}

// ---------------------------------------------------------------------------------------------------
// Builder
// ---------------------------------------------------------------------------------------------------

const DAY_MS = 86_400_000;
const iso = (date: Date): string => date.toISOString();

/** The page number in a `?page=` value: a positive integer, else 1. */
export function parsePage(value: string | null | undefined): number {
  if (!value || !/^[1-9][0-9]{0,5}$/.test(value)) return 1;
  return Number(value);
}

/** How a store is shown: `local` or `s3:<bucket>` (never a prefix, endpoint or credential). */
export function storeLabel(entry: Pick<BackupEntry, 'store' | 'location'>): string {
  if (entry.store !== 's3') return entry.store;
  const bucket = entry.location.replace(/^s3:\/\//, '').split('/')[0] ?? '';
  return `s3:${bucket}`;
}

/** The area of a health reason: the text before the first colon. */
export function reasonArea(reason: string): string {
  const colon = reason.indexOf(':');
  return colon > 0 ? reason.slice(0, colon).trim() : 'health';
}

/**
 * Since when each failing area has failed: keeps the first time of an area that is still failing,
 * adds now for a new one, forgets areas that recovered. The server keeps the map between requests.
 */
export function trackSince(
  previous: ReadonlyMap<string, Date>,
  reasons: readonly string[],
  now: Date,
): Map<string, Date> {
  const next = new Map<string, Date>();
  for (const area of reasons.map(reasonArea)) next.set(area, previous.get(area) ?? now);
  return next;
}

export function buildStatus(input: StatusInputs): Status {
  const all = groupBackups(input);
  const pageSize = input.pageSize ?? PAGE_SIZE;
  const pages = Math.max(1, Math.ceil(all.length / pageSize));
  const page = Math.min(Math.max(1, Math.floor(input.page ?? 1)), pages);
  const drills = allDrills(input.drills);

  return {
    format: STATUS_FORMAT,
    generatedAt: iso(input.now),
    timeZone: input.timeZone,
    database: input.database,
    verdict: buildVerdict(input, all, drills),
    backups: {
      total: all.length,
      page,
      pageSize,
      pages,
      items: all.slice((page - 1) * pageSize, page * pageSize),
    },
    trend: buildTrend(input, all, drills),
    schedule: {
      backupCron: input.schedule.backupCron,
      nextBackup: input.schedule.nextBackup ? iso(input.schedule.nextBackup) : null,
      nextPrune:
        input.schedule.pruneEnabled && input.schedule.nextBackup ? iso(input.schedule.nextBackup) : null,
      drillCron: input.schedule.drill?.cron ?? null,
      nextDrill: input.schedule.drill?.next ? iso(input.schedule.drill.next) : null,
    },
    migrations: input.migrations,
    versions: input.versions,
  };
}

/** One row per backup name, newest first. */
function groupBackups(input: StatusInputs): BackupStatus[] {
  const byName = new Map<string, BackupEntry[]>();
  for (const entry of input.entries) {
    const copies = byName.get(entry.name);
    if (copies) copies.push(entry);
    else byName.set(entry.name, [entry]);
  }
  const rows: BackupStatus[] = [];
  for (const [name, copies] of byName) {
    const complete = copies.some((copy) => copy.complete);
    const manifest = complete ? input.manifests.get(name) : undefined;
    const newestCopy = Math.max(...copies.map((copy) => copy.modifiedAt.getTime()));
    const createdAt = manifest ? new Date(manifest.createdAt) : new Date(newestCopy);
    const drill = newest(input.drills?.get(name) ?? []);
    rows.push({
      name,
      createdAt: iso(Number.isNaN(createdAt.getTime()) ? new Date(newestCopy) : createdAt),
      size: manifest?.size ?? Math.max(...copies.map((copy) => copy.size)),
      durationSeconds: manifest ? manifest.durationMs / 1000 : null,
      stores: [...new Set(copies.map(storeLabel))].sort(),
      complete,
      verified: verifiedOf(copies, manifest, input.verifications?.get(name)),
      drill: drill ? drillStatus(drill) : null,
      encrypted: manifest?.encrypted === true,
    });
  }
  return rows.sort((a, b) =>
    a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : a.name < b.name ? 1 : -1,
  );
}

function verifiedOf(
  copies: readonly BackupEntry[],
  manifest: ManifestFacts | undefined,
  recorded: VerifyFacts | undefined,
): VerifiedStatus {
  if (recorded) {
    return {
      result: recorded.ok ? 'passed' : 'failed',
      at: iso(recorded.at),
      detail: recorded.ok ? 'checksum and gzip stream verified' : (recorded.problem ?? 'verification failed'),
    };
  }
  const withoutManifest = copies.filter((copy) => !copy.complete);
  if (withoutManifest.length === copies.length) {
    return { result: 'failed', at: null, detail: 'no manifest: interrupted, or not made by chatflow-db' };
  }
  if (withoutManifest.length > 0) {
    return {
      result: 'failed',
      at: null,
      detail: `${withoutManifest.map(storeLabel).join(', ')} holds the archive without its manifest`,
    };
  }
  if (!manifest) return { result: 'not-run', at: null, detail: 'manifest not read' };
  const differing = copies.filter((copy) => copy.size !== manifest.size);
  if (differing.length > 0) {
    const copy = differing[0]!;
    return {
      result: 'failed',
      at: null,
      detail: `${storeLabel(copy)} holds ${copy.size} bytes, the manifest says ${manifest.size}`,
    };
  }
  return { result: 'not-run', at: null, detail: 'sizes match the manifest; checksum not re-read' };
}

function drillStatus(drill: DrillFacts): DrillStatus {
  return {
    at: iso(drill.at),
    ok: drill.ok,
    durationSeconds: drill.durationMs / 1000,
    failedChecks: [...drill.failedChecks],
  };
}

function newest(drills: readonly DrillFacts[]): DrillFacts | undefined {
  let best: DrillFacts | undefined;
  for (const drill of drills) if (!best || drill.at > best.at) best = drill;
  return best;
}

/** Every drill of every backup, oldest first. */
function allDrills(byName: StatusInputs['drills']): (DrillFacts & { name: string })[] {
  const list: (DrillFacts & { name: string })[] = [];
  for (const [name, drills] of byName ?? []) for (const drill of drills) list.push({ ...drill, name });
  return list.sort((a, b) => a.at.getTime() - b.at.getTime());
}

function buildVerdict(
  input: StatusInputs,
  backups: readonly BackupStatus[],
  drills: readonly (DrillFacts & { name: string })[],
): Verdict {
  const since = input.health.since ?? new Map<string, Date>();
  const problems: Problem[] = input.health.reasons.map((message) => {
    const area = reasonArea(message);
    const at = since.get(area);
    return { area, message, since: at ? iso(at) : null };
  });
  if (!problems.some((problem) => problem.area === 'drill')) {
    const drill = drillProblem(input, backups, drills);
    if (drill) problems.push(drill);
  }
  const lastDrill = drills.at(-1);
  return {
    ok: problems.length === 0,
    problems,
    lastBackupAt: backups.find((backup) => backup.complete)?.createdAt ?? null,
    lastDrill: lastDrill ? { at: iso(lastDrill.at), ok: lastDrill.ok } : null,
  };
}

/**
 * Issue 13's rule: wrong when the newest drill failed, or, with drills scheduled, none succeeded within
 * twice the drill interval (judged only once a backup old enough to have been drilled exists). The
 * problem's since is the first drill of the current run of failures, so it survives restarts.
 */
export function drillProblem(
  input: Pick<StatusInputs, 'now' | 'schedule'>,
  backups: readonly Pick<BackupStatus, 'createdAt' | 'complete'>[],
  drills: readonly (DrillFacts & { name: string })[],
): Problem | undefined {
  const last = drills.at(-1);
  if (last && !last.ok) {
    let first = last;
    for (let i = drills.length - 1; i >= 0 && !drills[i]!.ok; i--) first = drills[i]!;
    const checks = last.failedChecks.length > 0 ? ` (${last.failedChecks.join(', ')})` : '';
    return {
      area: 'drill',
      message: `drill: the last drill of ${last.name} at ${iso(last.at)} failed${checks}`,
      since: iso(first.at),
    };
  }
  const schedule = input.schedule.drill;
  if (!schedule) return undefined;
  const interval = intervalOf(schedule.previousSlot, schedule.next, input.now);
  if (interval === undefined) return undefined;
  const limit = input.now.getTime() - 2 * interval;
  const lastOk = [...drills].reverse().find((drill) => drill.ok);
  if (lastOk && lastOk.at.getTime() >= limit) return undefined;
  const oldest = backups.filter((backup) => backup.complete).at(-1);
  if (!oldest || Date.parse(oldest.createdAt) > limit) return undefined;
  return {
    area: 'drill',
    message: lastOk
      ? `drill: no successful drill since ${iso(lastOk.at)} (more than twice the drill interval)`
      : 'drill: no successful drill yet (more than twice the drill interval)',
    since: new Date(lastOk ? lastOk.at.getTime() + 2 * interval : limit).toISOString(),
  };
}

/** Time between two consecutive slots around now, from the previous-slot function and the next slot. */
function intervalOf(
  previousSlot: (at: Date) => Date | undefined,
  next: Date | undefined,
  now: Date,
): number | undefined {
  const last = previousSlot(now);
  if (last && next && next > last) return next.getTime() - last.getTime();
  const before = last ? previousSlot(new Date(last.getTime() - 1000)) : undefined;
  return last && before ? last.getTime() - before.getTime() : undefined;
}

function buildTrend(
  input: StatusInputs,
  backups: readonly BackupStatus[],
  drills: readonly (DrillFacts & { name: string })[],
): Trend {
  const to = input.now.getTime();
  const from = to - TREND_DAYS * DAY_MS;
  const inWindow = backups
    .filter((backup) => {
      const at = Date.parse(backup.createdAt);
      return at >= from && at <= to;
    })
    .reverse();

  // Slots are judged from the oldest backup on: before the first backup there is no history to miss.
  const oldest = backups.at(-1);
  const slotFrom = oldest ? Math.max(from, Date.parse(oldest.createdAt) - SLOT_TOLERANCE_MS) : to;
  const slots = expectedSlots(input.schedule.previousBackupSlot, slotFrom, to);
  const times = inWindow.map((backup) => Date.parse(backup.createdAt));
  // Only a complete backup covers a slot: an archive without a manifest is not a backup.
  const covering = inWindow.filter((backup) => backup.complete).map((backup) => Date.parse(backup.createdAt));
  const missed = slots ? missedSlots(slots, covering, to) : [];

  const backupsOut: TrendPoint[] = [];
  let segment = 0;
  let missIndex = 0;
  for (const [i, backup] of inWindow.entries()) {
    const at = times[i]!;
    // A missed slot between the previous point and this one breaks the line.
    let broken = false;
    while (missIndex < missed.length && missed[missIndex]! < at) {
      broken = true;
      missIndex += 1;
    }
    if (broken && i > 0) segment += 1;
    backupsOut.push({
      name: backup.name,
      at: backup.createdAt,
      size: backup.size,
      durationSeconds: backup.durationSeconds,
      complete: backup.complete,
      segment,
    });
  }

  return {
    from: iso(new Date(from)),
    to: iso(input.now),
    intervalSeconds: (slots && medianGapSeconds(slots)) ?? intervalSecondsAround(input),
    backups: backupsOut,
    missedSlots: missed.map((at) => iso(new Date(at))),
    slotsChecked: slots !== undefined,
    drills: drills
      .filter((drill) => drill.at.getTime() >= from && drill.at.getTime() <= to)
      .map((drill) => ({
        name: drill.name,
        at: iso(drill.at),
        ok: drill.ok,
        durationSeconds: drill.durationMs / 1000,
      })),
  };
}

function intervalSecondsAround(input: StatusInputs): number | null {
  const interval = intervalOf(input.schedule.previousBackupSlot, input.schedule.nextBackup, input.now);
  return interval === undefined ? null : interval / 1000;
}

/**
 * The slots in [from, to) that are due (oldest first), walking back with the previous-slot function;
 * undefined when there are more than MAX_SLOTS. The slot still within the tolerance of now is not due.
 */
export function expectedSlots(
  previousSlot: (at: Date) => Date | undefined,
  from: number,
  to: number,
): number[] | undefined {
  const slots: number[] = [];
  let slot = previousSlot(new Date(to - SLOT_TOLERANCE_MS));
  // Two slots tell the density: give up at once rather than walk thousands of them on every request.
  const before = slot ? previousSlot(new Date(slot.getTime() - 1000)) : undefined;
  if (slot && before && (to - from) / (slot.getTime() - before.getTime()) > MAX_SLOTS) return undefined;
  while (slot && slot.getTime() >= from) {
    if (slots.length >= MAX_SLOTS) return undefined;
    slots.push(slot.getTime());
    slot = previousSlot(new Date(slot.getTime() - 1000));
  }
  return slots.reverse();
}

/**
 * Slots no backup covers: slot i is covered by a backup made in [slot_i - tolerance, slot_i+1 - tolerance)
 * (the last slot's range ends at `end`). `times` ascending.
 */
export function missedSlots(slots: readonly number[], times: readonly number[], end: number): number[] {
  const missed: number[] = [];
  let t = 0;
  for (const [i, slot] of slots.entries()) {
    const start = slot - SLOT_TOLERANCE_MS;
    const stop = i + 1 < slots.length ? slots[i + 1]! - SLOT_TOLERANCE_MS : end + 1;
    while (t < times.length && times[t]! < start) t += 1;
    if (!(t < times.length && times[t]! < stop)) missed.push(slot);
  }
  return missed;
}

function medianGapSeconds(slots: readonly number[]): number | null {
  if (slots.length < 2) return null;
  const gaps = slots
    .slice(1)
    .map((slot, i) => slot - slots[i]!)
    .sort((a, b) => a - b);
  return gaps[Math.floor(gaps.length / 2)]! / 1000;
}
