// OWNER: restore helper. Contract: restore().
import type { Command } from 'commander';
import type { CommandContext } from '../src/command.js';
import { JobError } from '../src/errors.js';

export function registerRestoreCommand(program: Command, _context: CommandContext): void {
  program
    .command('restore')
    .description('Restore a backup (not implemented yet)')
    .action(() => {
      throw new JobError('restore: not implemented yet');
    });
}
