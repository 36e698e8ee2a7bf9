/** `drill [name|latest] [--json]`: wiring and rendering only. The job is src/drill/drill.ts. */
import type { Command } from 'commander';
import type { CommandContext } from '../context.js';
import { withSignals } from '../signals.js';
import { drill } from '../../drill/drill.js';
import { systemClock } from '../../lib/clock.js';
import { ExitCode } from '../../lib/errors.js';

export function registerDrillCommand(program: Command, context: CommandContext): void {
  program
    .command('drill')
    .description(
      'Restore a backup into a scratch database and check it (psql, row counts, migrations, schema); exit 1 if any check fails',
    )
    .argument('[name]', 'backup name, or "latest" (default) for the newest complete backup', 'latest')
    .option('--json', 'print the drill record as JSON')
    .action(async (name: string, flags: { json?: boolean }) => {
      const config = context.config();
      const result = await withSignals((signal) =>
        drill(config, { logger: context.logger(), clock: systemClock }, { name, signal }),
      );
      const { record } = result;
      if (flags.json) {
        context.stdout(JSON.stringify(record, null, 2));
      } else {
        const lines = [
          `drill of ${record.backup}: ${record.ok ? 'PASSED' : 'FAILED'}`,
          `restore time ${record.restoreSeconds} s (total ${record.totalSeconds} s), scratch database ${record.target} on the ${record.server} server (dropped)`,
          ...record.checks.map(
            (check) =>
              `  ${check.ok ? 'ok    ' : 'FAILED'}  ${check.name.padEnd(10)}  ${check.seconds} s  ${check.detail}`,
          ),
          result.recordError
            ? `the result could not be kept in ${result.store}: ${result.recordError}`
            : `result kept as ${record.backup}.drill.json in ${result.store}`,
        ];
        context.stdout(lines.join('\n'));
      }
      if (!record.ok) context.setExitCode(ExitCode.failed);
    });
}
