/** `doctor [--json]`: wiring and rendering only. The checks are src/doctor/. */
import type { Command } from 'commander';
import type { CommandContext } from '../context.js';
import { doctor, type DoctorResult } from '../../doctor/doctor.js';
import { systemClock } from '../../lib/clock.js';
import { ExitCode } from '../../lib/errors.js';

function render(result: DoctorResult): string {
  const width = Math.max(...Object.keys(result.config).map((key) => key.length));
  const lines = ['Configuration (secrets redacted):'];
  for (const [key, value] of Object.entries(result.config)) lines.push(`  ${key.padEnd(width)}  ${value}`);
  lines.push('', 'Checks:');
  for (const check of result.checks) {
    const mark = check.status === 'ok' ? 'ok     ' : check.status === 'skipped' ? 'skipped' : 'PROBLEM';
    lines.push(`  ${mark}  ${check.name}: ${check.detail}`);
    if (check.fix !== undefined) lines.push(`           fix: ${check.fix}`);
  }
  const problems = result.checks.filter((c) => c.status === 'problem').length;
  lines.push(
    '',
    problems === 0
      ? `All ${result.checks.length} checks passed.`
      : `${problems} of ${result.checks.length} checks found a problem.`,
  );
  return lines.join('\n');
}

export function registerDoctorCommand(program: Command, context: CommandContext): void {
  program
    .command('doctor')
    .description(
      'Check everything a deployment needs (database, pg_dump, privileges, migrations, stores, schedule, disk); exit 1 on any problem',
    )
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const result = await doctor(context.config(), { logger: context.logger(), clock: systemClock });
      context.stdout(options.json === true ? JSON.stringify(result, null, 2) : render(result));
      if (!result.ok) context.setExitCode(ExitCode.failed);
    });
}
