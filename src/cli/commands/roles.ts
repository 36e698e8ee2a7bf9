/** `roles`: wiring and rendering only. */
import type { Command } from 'commander';
import type { CommandContext } from '../context.js';
import { applyAppRole } from '../../roles/apply.js';

export function registerRolesCommand(program: Command, context: CommandContext): void {
  program
    .command('roles')
    .description('Create or update the limited application role (APP_DB_USER, password APP_DB_PASSWORD).')
    .action(async () => {
      const result = await applyAppRole(context.config(), { logger: context.logger() });
      context.stdout(`application role ${result.role} ${result.created ? 'created' : 'updated'}`);
    });
}
