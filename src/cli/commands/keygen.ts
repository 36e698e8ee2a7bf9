/**
 * `keygen [-o FILE]`: a new age identity and its recipient, as `age-keygen` prints them, for operators
 * without the `age` tool. The identity goes to stdout (or FILE, created 0600, never overwritten); like
 * age-keygen, the public key is also printed on stderr when the identity does not go to a terminal. Needs
 * no configuration.
 */
import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { CommandContext } from '../context.js';
import { generateKeyPair } from '../../lib/age.js';
import { UsageError } from '../../lib/errors.js';

export function registerKeygenCommand(program: Command, context: CommandContext): void {
  program
    .command('keygen')
    .description(
      'Print a new age identity (secret key) and its recipient (public key) for BACKUP_AGE_RECIPIENTS, like age-keygen',
    )
    .option('-o, --output <file>', 'write the identity to this new file (mode 0600) instead of stdout')
    .action(async (options: { output?: string }) => {
      const pair = await generateKeyPair();
      if (options.output !== undefined) {
        await writeFile(options.output, pair.text, { flag: 'wx', mode: 0o600 }).catch((error: unknown) => {
          const exists = (error as { code?: string }).code === 'EEXIST';
          throw new UsageError(
            exists
              ? `${options.output} exists already; keygen never overwrites a key file: choose another name`
              : `Cannot write ${options.output}: ${(error as Error).message}`,
            { cause: error },
          );
        });
        context.stderr(`Public key: ${pair.recipient}`);
        return;
      }
      context.stdout(pair.text);
      if (!process.stdout.isTTY) context.stderr(`Public key: ${pair.recipient}`);
    });
}
