/**
 * Status inputs for tests: a daily schedule at 02:00 UTC and a history of backups built from a list of
 * days (0 = today's 02:00 slot, 1 = yesterday's...), as the catalog and manifests would give them.
 */
import type { BackupEntry } from '../../src/backup/listing.js';
import type { DrillFacts, ManifestFacts, StatusInputs } from '../../src/sidecar/status-model.js';

export const DAY = 86_400_000;
export const NOW = new Date('2026-11-30T07:30:00Z');

/** The latest 02:00 UTC at or before `at`. */
export function dailyAt2(at: Date): Date {
  const day = Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate(), 2);
  return new Date(day <= at.getTime() ? day : day - DAY);
}

export function slotOfDay(daysAgo: number, now = NOW): Date {
  return new Date(dailyAt2(now).getTime() - daysAgo * DAY);
}

export interface HistoryBackup {
  daysAgo: number;
  name?: string;
  size?: number;
  durationMs?: number;
  stores?: ('local' | 's3')[];
  complete?: boolean;
  encrypted?: boolean;
}

export function history(
  backups: readonly HistoryBackup[],
  now = NOW,
): Pick<StatusInputs, 'entries' | 'manifests'> {
  const entries: BackupEntry[] = [];
  const manifests = new Map<string, ManifestFacts>();
  for (const backup of backups) {
    // The backup starts at the slot and takes a few seconds.
    const at = new Date(slotOfDay(backup.daysAgo, now).getTime() + 5000);
    const name = backup.name ?? defaultName(at);
    const size = backup.size ?? 1_000_000 + backup.daysAgo * 1000;
    const complete = backup.complete ?? true;
    for (const store of backup.stores ?? ['local']) {
      entries.push({
        name,
        store,
        location: store === 's3' ? 's3://chatflow-backups/prod/' : '/backups',
        archive: `${name}.sql.gz`,
        encrypted: false,
        size,
        modifiedAt: at,
        complete,
        defaultNamed: backup.name === undefined,
      });
    }
    if (complete) {
      manifests.set(name, {
        createdAt: at.toISOString(),
        size,
        durationMs: backup.durationMs ?? 4000,
        ...(backup.encrypted === undefined ? {} : { encrypted: backup.encrypted }),
      });
    }
  }
  return { entries, manifests };
}

export function defaultName(at: Date): string {
  const s = at.toISOString();
  return `chatflow_backup_${s.slice(0, 10).replaceAll('-', '')}_${s.slice(11, 19).replaceAll(':', '')}`;
}

/** Inputs with everything healthy; `overrides` replace fields. */
export function inputs(
  backups: readonly HistoryBackup[],
  overrides: Partial<StatusInputs> = {},
  now = NOW,
): StatusInputs {
  return {
    now,
    timeZone: 'Europe/Berlin',
    database: 'chatflow',
    ...history(backups, now),
    health: { reasons: [] },
    schedule: {
      backupCron: '0 2 * * *',
      previousBackupSlot: dailyAt2,
      nextBackup: new Date(dailyAt2(now).getTime() + DAY),
      pruneEnabled: true,
    },
    migrations: { known: true, applied: 12, latest: '0012_reactions.sql', pending: [] },
    versions: { chatflowDb: '0.1.0', server: '15.8', pgDump: '15.8' },
    ...overrides,
  };
}

/** Daily backups for the last `count` days (0 = today). */
export function daily(count: number): HistoryBackup[] {
  return Array.from({ length: count }, (_, daysAgo) => ({ daysAgo }));
}

export function drill(at: Date, ok: boolean, durationMs = 8000, failedChecks: string[] = []): DrillFacts {
  return { at, ok, durationMs, failedChecks: ok ? [] : failedChecks };
}
