// OWNER: schema helper. Contract (others call this): applyAppRole().
import type { Command } from 'commander';
import type { CommandContext } from '../src/command.js';
import type { Config } from '../src/config.js';
import { JobError } from '../src/errors.js';
import type { Logger } from '../src/logger.js';

export interface RoleResult {
  role: string;
  created: boolean;
}

/** Creates or updates the application role and grants it row access on `database` (default: configured). */
export async function applyAppRole(
  _config: Readonly<Config>,
  _deps: { logger: Logger },
  _options: { database?: string } = {},
): Promise<RoleResult> {
  await Promise.resolve();
  throw new JobError('roles: not implemented yet');
}

export function registerRolesCommand(program: Command, _context: CommandContext): void {
  program
    .command('roles')
    .description('Create or update the limited application role (APP_DB_USER).')
    .action(() => {
      throw new JobError('roles: not implemented yet');
    });
}
