// OWNER: backup helper. Contract (others call these): backup(), listBackups(), prune(), verifyBackup().
import type { Command } from 'commander';
import type { Clock } from '../src/clock.js';
import type { CommandContext } from '../src/command.js';
import type { Config } from '../src/config.js';
import { JobError } from '../src/errors.js';
import type { Logger } from '../src/logger.js';

export interface BackupDeps {
  logger: Logger;
  clock: Clock;
}

export interface BackupOptions {
  /** Given name; default chatflow_backup_YYYYMMDD_HHMMSS in config.timeZone. */
  name?: string;
  /** Aborts the backup cleanly (no partial object, multipart upload aborted). */
  signal?: AbortSignal;
}

export interface BackupResult {
  name: string;
  sha256: string;
  size: number;
  durationMs: number;
  /** Locations written, e.g. ['/backups', 's3://bucket/prefix']. */
  locations: string[];
}

export async function backup(
  _config: Readonly<Config>,
  _deps: BackupDeps,
  _options: BackupOptions = {},
): Promise<BackupResult> {
  await Promise.resolve();
  throw new JobError('backup: not implemented yet');
}

export function registerBackupCommands(program: Command, _context: CommandContext): void {
  program
    .command('backup')
    .description('Take a backup (not implemented yet)')
    .action(() => {
      throw new JobError('backup: not implemented yet');
    });
}
