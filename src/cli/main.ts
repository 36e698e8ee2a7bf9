/**
 * The thin entry point: parse argv, load config, build dependencies, call one job, map the error to an
 * exit code. Each command module (cli/commands/) registers its subcommands and calls its job.
 */
import { Command, CommanderError } from 'commander';
import { loadConfig, type Config } from '../config/load.js';
import { defaultValue } from '../config/settings.js';
import { describeError, ExitCode, exitCodeOf, ChatflowError } from '../lib/errors.js';
import { createLogger, type Logger } from '../lib/logger.js';
import { routeWarningsToLogger } from '../lib/warnings.js';
import { packageVersion } from '../lib/package-root.js';
import type { CommandContext } from './context.js';

type Register = (program: Command, context: CommandContext) => void;

/** Logging before (or without) a valid configuration: the settings' defaults. */
const BEFORE_CONFIG_LOG = { level: defaultValue('LOG_LEVEL'), format: defaultValue('LOG_FORMAT') };

/**
 * Command modules by command name, loaded only when their command runs: a `status` need not load the AWS SDK,
 * which keeps start-up fast and a backup's memory small. Help and unknown commands load them all.
 */
const migrateModule = async (): Promise<Register> =>
  (await import('./commands/migrate.js')).registerMigrateCommands;
const backupModule = async (): Promise<Register> =>
  (await import('./commands/backup.js')).registerBackupCommands;
const COMMAND_MODULES: Record<string, () => Promise<Register>> = {
  migrate: migrateModule,
  status: migrateModule,
  roles: async () => (await import('./commands/roles.js')).registerRolesCommand,
  backup: backupModule,
  list: backupModule,
  verify: backupModule,
  prune: backupModule,
  restore: async () => (await import('./commands/restore.js')).registerRestoreCommand,
  start: async () => (await import('./commands/start.js')).registerStartCommand,
  keygen: async () => (await import('./commands/keygen.js')).registerKeygenCommand,
  doctor: async () => (await import('./commands/doctor.js')).registerDoctorCommand,
  drill: async () => (await import('./commands/drill.js')).registerDrillCommand,
};

/** Commands that need no configuration (a broken environment must not stop making a key). */
const WITHOUT_CONFIG = new Set(['keygen']);

async function loadCommands(command: string | undefined): Promise<Register[]> {
  const one = command === undefined ? undefined : COMMAND_MODULES[command];
  const loaders = one ? [one] : [...new Set(Object.values(COMMAND_MODULES))];
  return Promise.all(loaders.map((load) => load()));
}

function buildContext(): CommandContext {
  let config: Readonly<Config> | undefined;
  let logger: Logger | undefined;
  return {
    config: () => (config ??= loadConfig()),
    logger: () => (logger ??= createLogger(config?.log ?? BEFORE_CONFIG_LOG)),
    stdout: (text) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
    stderr: (text) => process.stderr.write(text.endsWith('\n') ? text : `${text}\n`),
    setExitCode: (code) => {
      process.exitCode = code;
    },
  };
}

async function main(argv: string[]): Promise<void> {
  const context = buildContext();
  routeWarningsToLogger(() => context.logger());
  const program = new Command('chatflow-db')
    .description('ChatFlow database operations: migrations, backups, restores and the sidecar.')
    .version(packageVersion(), '-V, --version', 'print the version')
    .showHelpAfterError('(run chatflow-db --help for usage)')
    .exitOverride();
  try {
    for (const register of await loadCommands(argv[2])) register(program, context);
    // Load the configuration before any job runs so that every problem is reported at once.
    program.hook('preAction', (_program, command) => {
      if (!WITHOUT_CONFIG.has(command.name())) context.config();
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
