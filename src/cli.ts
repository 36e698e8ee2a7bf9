/**
 * The thin entry point: parse argv, load config, build dependencies, call one job, map the error to an
 * exit code. Each job module registers its own subcommand (scripts/*.ts).
 */
import { Command, CommanderError } from 'commander';
import { loadConfig, type Config } from './config.js';
import { describeError, ExitCode, exitCodeOf, ChatflowError } from './errors.js';
import { createLogger, type Logger } from './logger.js';
import type { CommandContext } from './command.js';
import { registerMigrateCommands } from '../scripts/migrate.js';
import { registerRolesCommand } from '../scripts/roles.js';
import { registerBackupCommands } from '../scripts/backup.js';
import { registerRestoreCommand } from '../scripts/restore.js';
import { registerStartCommand } from '../scripts/start.js';

function buildContext(): CommandContext {
  let config: Readonly<Config> | undefined;
  let logger: Logger | undefined;
  return {
    config: () => (config ??= loadConfig()),
    logger: () => (logger ??= createLogger(config?.log ?? { level: 'info', format: 'auto' })),
    stdout: (text) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
    setExitCode: (code) => {
      process.exitCode = code;
    },
  };
}

async function main(argv: string[]): Promise<void> {
  const context = buildContext();
  const program = new Command('chatflow-db')
    .description('ChatFlow database operations: migrations, backups, restores and the sidecar.')
    .showHelpAfterError('(run chatflow-db --help for usage)')
    .exitOverride();
  registerMigrateCommands(program, context);
  registerRolesCommand(program, context);
  registerBackupCommands(program, context);
  registerRestoreCommand(program, context);
  registerStartCommand(program, context);
  try {
    // Load the configuration before any job runs so that every problem is reported at once.
    program.hook('preAction', () => {
      context.config();
    });
    await program.parseAsync(argv);
  } catch (error) {
    process.exitCode = report(error, context);
  }
}

/** The one place where a failure is reported; returns the exit code. */
function report(error: unknown, context: CommandContext): ExitCode {
  if (error instanceof CommanderError) {
    // Help and version are successes; every other parse error is bad usage (commander printed it).
    return error.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
  }
  const exitCode = exitCodeOf(error);
  const logger = context.logger();
  if (error instanceof ChatflowError) logger.error({ exitCode }, describeError(error));
  else logger.error({ exitCode, err: error }, `Unexpected failure: ${describeError(error)}`);
  return exitCode;
}

await main(process.argv);
