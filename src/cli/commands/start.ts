/** `start`: wiring only; the sidecar is src/sidecar/start.ts. */
import type { Command } from 'commander';
import type { CommandContext } from '../context.js';
import { withSignals } from '../signals.js';
import { systemClock } from '../../lib/clock.js';
import { SHUTDOWN_DEADLINE_MS, start } from '../../sidecar/start.js';

export function registerStartCommand(program: Command, context: CommandContext): void {
  program
    .command('start')
    .description(
      'Run the sidecar: wait for the database, apply the role, migrate, then serve /healthz and /metrics and back up on BACKUP_SCHEDULE until SIGTERM.',
    )
    .action(async () => {
      const config = context.config();
      const logger = context.logger();
      await withSignals(
        (signal) => start(config, { logger, clock: systemClock }, { signal }),
        (signal) => {
          logger.info({ signal }, 'received a stop signal');
          // A second signal takes the default action (immediate exit); this is the backstop for a hang.
          setTimeout(() => {
            logger.error('shutdown did not finish in time; exiting anyway');
            process.exit(1);
          }, SHUTDOWN_DEADLINE_MS + 500).unref();
        },
      );
      // A start-up step abandoned by the signal (e.g. waiting for the database) may still hold a timer.
      setTimeout(() => process.exit(), 200).unref();
    });
}
