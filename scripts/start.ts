// OWNER: sidecar helper.
import type { Command } from 'commander';
import type { CommandContext } from '../src/command.js';
import { JobError } from '../src/errors.js';

export function registerStartCommand(program: Command, _context: CommandContext): void {
  program
    .command('start')
    .description('Run the sidecar (not implemented yet)')
    .action(() => {
      throw new JobError('start: not implemented yet');
    });
}
