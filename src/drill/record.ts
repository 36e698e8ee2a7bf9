/**
 * `<name>.drill.json`: the result of the last restore drill of a backup, kept next to it in the store the
 * drill read it from (format agreed in DRILL_FORMAT.md), so drill history survives restarts and `list`
 * can show it. Stores never replace an object, so a newer drill deletes the older record first.
 */
import { Readable } from 'node:stream';
import type { BackupEntry } from '../backup/listing.js';
import { readSmallText, type Storage } from '../storage/storage.js';

export const DRILL_SUFFIX = '.drill.json';
export const DRILL_FORMAT = 'chatflow-db-drill/1';

export type CheckName = 'restore' | 'row-counts' | 'migrations' | 'schema';

export interface DrillCheck {
  name: CheckName;
  ok: boolean;
  detail: string;
  seconds: number;
}

export interface DrillRecord {
  format: typeof DRILL_FORMAT;
  backup: string;
  database: string;
  startedAt: string;
  finishedAt: string;
  ok: boolean;
  /** psql restore time: the recovery-time figure. */
  restoreSeconds: number;
  totalSeconds: number;
  checks: DrillCheck[];
  versions: { chatflowDb: string; server: string; pgDump: string };
  /** The scratch database. */
  target: string;
  server: 'configured' | 'drill';
}

export const drillRecordName = (backup: string): string => `${backup}${DRILL_SUFFIX}`;

export function parseDrillRecord(text: string): DrillRecord {
  const value = JSON.parse(text) as Partial<DrillRecord> | null;
  if (!value || typeof value !== 'object' || value.format !== DRILL_FORMAT)
    throw new Error(`not a ${DRILL_FORMAT} record`);
  if (
    typeof value.backup !== 'string' ||
    typeof value.ok !== 'boolean' ||
    typeof value.finishedAt !== 'string'
  )
    throw new Error('drill record fields backup/ok/finishedAt are missing');
  if (!Array.isArray(value.checks)) throw new Error('drill record has no checks');
  return value as DrillRecord;
}

/** The record of `backup`'s last drill in `store`, or undefined if it was never drilled there. */
export async function readDrillRecord(store: Storage, backup: string): Promise<DrillRecord | undefined> {
  if ((await store.stat(drillRecordName(backup))) === undefined) return undefined;
  return parseDrillRecord(await readSmallText(store, drillRecordName(backup), 'a drill record'));
}

/** Replaces the backup's drill record (delete, then create: stores never overwrite). */
export async function writeDrillRecord(store: Storage, record: DrillRecord): Promise<void> {
  const name = drillRecordName(record.backup);
  await store.delete(name);
  await store.put(name, Readable.from([`${JSON.stringify(record, null, 2)}\n`]));
}

/**
 * Fills in `lastDrill` of the entries that have a drill record, reading each record from its store. An
 * unreadable record shows as a failed drill (its result cannot be trusted).
 */
export async function readLastDrills(entries: BackupEntry[], stores: readonly Storage[]): Promise<void> {
  await Promise.all(
    entries
      .filter((entry) => entry.drilled)
      .map(async (entry) => {
        const store = stores.find((s) => s.kind === entry.store && s.location === entry.location);
        if (!store) return;
        const record = await readDrillRecord(store, entry.name).catch(() => undefined);
        entry.lastDrill = record
          ? { at: new Date(record.finishedAt), ok: record.ok }
          : { at: entry.modifiedAt, ok: false };
      }),
  );
}
