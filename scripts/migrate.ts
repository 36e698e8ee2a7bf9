// OWNER: migration-runner helper. Contract (others call these): migrate(), migrationStatus().
import type { Command } from 'commander';
import type { CommandContext } from '../src/command.js';
import type { Config } from '../src/config.js';
import { JobError } from '../src/errors.js';
import type { Logger } from '../src/logger.js';

export interface MigrateOptions {
  dryRun?: boolean;
  /** Database to migrate instead of config.database.database (restore migrates its new database). */
  database?: string;
}

export interface MigrateResult {
  applied: string[];
  pending: string[];
}

export interface StatusResult {
  applied: string[];
  pending: string[];
}

export async function migrate(
  _config: Readonly<Config>,
  _deps: { logger: Logger },
  _options: MigrateOptions = {},
): Promise<MigrateResult> {
  await Promise.resolve();
  throw new JobError('migrate: not implemented yet');
}

export async function migrationStatus(
  _config: Readonly<Config>,
  _deps: { logger: Logger },
  _options: { database?: string } = {},
): Promise<StatusResult> {
  await Promise.resolve();
  throw new JobError('status: not implemented yet');
}

export function registerMigrateCommands(program: Command, _context: CommandContext): void {
  program
    .command('migrate')
    .description('Apply pending migrations (not implemented yet)')
    .action(() => {
      throw new JobError('migrate: not implemented yet');
    });
}
