/** The backup list that `list` and `restore` without a name print: a table, or JSON with --json. */
import type { CommandContext } from './context.js';
import { formatBackupTable } from '../backup/format.js';
import { listBackups } from '../backup/listing.js';
import { systemClock } from '../lib/clock.js';
import { readLastDrills } from '../drill/record.js';
import { JobError } from '../lib/errors.js';
import { LocalStorage, openStores } from '../storage/index.js';

export async function printBackupList(context: CommandContext, options: { json: boolean }): Promise<void> {
  const stores = await openStores(context.config());
  for (const store of stores) {
    if (store instanceof LocalStorage && (await store.missing()))
      context
        .logger()
        .warn(
          { store: store.location },
          `BACKUP_DIR ${store.location} does not exist: no backup was ever written there, or the volume is not mounted; check BACKUP_DIR`,
        );
  }
  const entries = await listBackups(context.config(), { stores }).catch((error: unknown) => {
    throw new JobError(`Cannot list backups: ${(error as Error).message}`, { cause: error });
  });
  await readLastDrills(entries, stores);
  const now = systemClock.now();
  if (options.json) {
    const rows = entries.map((e) => ({
      name: e.name,
      store: e.store,
      location: e.location,
      archive: e.archive,
      encrypted: e.encrypted,
      size: e.size,
      modifiedAt: e.modifiedAt.toISOString(),
      ageSeconds: Math.max(0, Math.round((now.getTime() - e.modifiedAt.getTime()) / 1000)),
      manifest: e.complete,
      lastDrill: e.lastDrill ? { at: e.lastDrill.at.toISOString(), ok: e.lastDrill.ok } : null,
    }));
    context.stdout(JSON.stringify(rows, null, 2));
  } else {
    context.stdout(entries.length === 0 ? 'No backups.' : formatBackupTable(entries, now));
  }
}
