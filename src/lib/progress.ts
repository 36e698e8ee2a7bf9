/**
 * The one progress reporter of backup, restore and verify: at a steady interval it logs the same fields in
 * the same units for all three, and a message that carries the figures itself (a terminal shows no JSON
 * fields):
 *
 *   restore: 412.0 MiB of 590.3 MiB (69.8 %) read, 38.2 MiB/s, 11 s elapsed, about 5 s left
 *
 * Fields: `bytes` (archive bytes: written by a backup, read by restore and verify), `totalBytes` and
 * `percent` where the total is known, `mibPerSecond` (of those same bytes), `elapsedSeconds`, and
 * `etaSeconds` where the total is known. A phase that is not about bytes (the indexes and constraints
 * a restore builds after the data) reports through `phase`: its own fields and text, the same timing.
 */
import type { Logger } from './logger.js';
import { formatBytes } from './streams.js';

export interface ProgressPhase {
  /** Extra fields for the log line. */
  fields: Record<string, unknown>;
  /** The figures of the phase, for the message. */
  text: string;
}

export interface ProgressOptions {
  logger: Logger;
  /** `backup`, `restore`, `verify`: the start of every message. */
  label: string;
  intervalMs: number;
  /** Bytes so far (a ByteMeter's count). */
  bytes: () => number;
  /** The total, when known (a restore's manifest size); enables percent and ETA. */
  totalBytes?: number | undefined;
  /** What `bytes` are: `read`, `written`. */
  verb: string;
  /** Extra figures for the message and the fields (e.g. a backup's uncompressed SQL bytes). */
  extra?: () => ProgressPhase | undefined;
  /** A phase that replaces the byte figures (e.g. a restore's post-data), or undefined while bytes flow. */
  phase?: () => ProgressPhase | undefined;
  now?: () => number;
}

export interface ProgressReport {
  fields: Record<string, unknown>;
  message: string;
}

/** One report: pure, for tests and for the reporter below. */
export function progressReport(options: ProgressOptions, startedMs: number, nowMs: number): ProgressReport {
  const elapsed = Math.max((nowMs - startedMs) / 1000, 0.001);
  const bytes = options.bytes();
  const total = options.totalBytes;
  const mibPerSecond = Math.round((bytes / 1048576 / elapsed) * 10) / 10;
  const rateBytes = bytes / elapsed;
  const known = total !== undefined && total > 0;
  const percent = known ? Math.min(100, Math.round((bytes / total) * 1000) / 10) : undefined;
  const etaSeconds =
    known && rateBytes > 0 ? Math.max(0, Math.round((total - bytes) / rateBytes)) : undefined;
  const phase = options.phase?.();
  const extra = options.extra?.();
  const fields: Record<string, unknown> = {
    bytes,
    totalBytes: total,
    percent,
    mibPerSecond,
    elapsedSeconds: Math.round(elapsed),
    etaSeconds: phase ? undefined : etaSeconds,
    ...extra?.fields,
    ...phase?.fields,
  };
  const timing = `${Math.round(elapsed)} s elapsed`;
  if (phase) return { fields, message: `${options.label}: ${phase.text}, ${timing}` };
  const amount = known
    ? `${formatBytes(bytes)} of ${formatBytes(total)} (${percent} %) ${options.verb}`
    : `${formatBytes(bytes)} ${options.verb}`;
  const left = etaSeconds !== undefined ? `, about ${etaSeconds} s left` : '';
  const more = extra ? `, ${extra.text}` : '';
  return {
    fields,
    message: `${options.label}: ${amount}${more}, ${mibPerSecond} MiB/s, ${timing}${left}`,
  };
}

/** Logs a report every `intervalMs` until stopped (the timer never keeps the process alive). */
export function startProgress(options: ProgressOptions): { stop(options?: { final?: boolean }): void } {
  const now = options.now ?? Date.now;
  const started = now();
  const timer = setInterval(() => {
    const report = progressReport(options, started, now());
    options.logger.info(report.fields, report.message);
  }, options.intervalMs);
  timer.unref();
  return {
    // A job shorter than one interval still says what it moved: the final line on success.
    stop: ({ final = false }: { final?: boolean } = {}) => {
      clearInterval(timer);
      if (!final) return;
      const report = progressReport(options, started, now());
      options.logger.info(report.fields, report.message);
    },
  };
}
