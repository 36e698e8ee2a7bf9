/** `migrate`, `migrate create <name>` and `status`: wiring and rendering only. */
import type { Command } from 'commander';
import type { CommandContext } from '../context.js';
import { ExitCode } from '../../lib/errors.js';
import {
  createMigration,
  migrate,
  migrationStatus,
  type MigrateResult,
  type StatusResult,
} from '../../migrations/runner.js';

function renderMigrate(result: MigrateResult): string {
  const lines: string[] = [];
  const list = (title: string, files: string[]) => {
    if (files.length > 0) lines.push(title, ...files.map((f) => `  ${f}`));
  };
  const adopt =
    result.kind === 'legacy' ? ' (legacy ChatFlow database: adopted, every file converges it)' : '';
  if (result.dryRun) {
    lines.push(`Plan for "${result.database}" (${result.kind})${adopt}; nothing was changed:`);
    list('would record the new checksum of (--allow-changed):', result.rerecorded);
    list('would record as applied without running (--baseline):', result.baselined);
    list('would apply:', result.pending);
    if (result.pending.length + result.baselined.length + result.rerecorded.length === 0)
      lines.push('nothing to do');
  } else {
    list('recorded new checksums (--allow-changed):', result.rerecorded);
    list('recorded as applied without running (--baseline):', result.baselined);
    list(`applied to "${result.database}"${adopt}:`, result.applied);
    if (result.applied.length === 0) lines.push(`"${result.database}" is up to date: nothing to apply`);
  }
  return lines.join('\n');
}

function renderStatus(status: StatusResult): string {
  const header = ['version', 'file', 'state', 'applied at', 'duration'];
  const rows = status.entries.map((e) => [
    e.version,
    e.file,
    e.state,
    e.appliedAt ?? '',
    e.durationMs === null ? '' : `${e.durationMs} ms`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const format = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  const summary = `${status.database} (${status.kind}): ${status.applied.length} applied, ${status.pending.length} pending`;
  const lines = [summary, '', format(header), ...rows.map(format)];
  if (status.refusals.length > 0)
    lines.push('', 'migrate would refuse:', ...status.refusals.map((r) => `  - ${r}`));
  return lines.join('\n');
}

interface MigrateFlags {
  dryRun?: boolean;
  baseline?: string;
  allowChanged?: boolean;
  allowMissing?: boolean;
  allowOutOfOrder?: boolean;
}

export function registerMigrateCommands(program: Command, context: CommandContext): void {
  const migrateCommand = program
    .command('migrate')
    .description(
      'Apply pending migrations from MIGRATIONS_DIR, one transaction per file (safe with many replicas).',
    )
    .option('--dry-run', 'print the plan and change nothing')
    .option(
      '--baseline <version>',
      'record the files up to <version> as applied without running them (untracked databases only), then apply the rest',
    )
    .option(
      '--allow-changed',
      'record the new checksum of applied files that were edited (they do not run again)',
    )
    .option('--allow-missing', 'go on although files of applied migrations are gone')
    .option('--allow-out-of-order', 'apply new files numbered below the highest applied one')
    .action(async (flags: MigrateFlags) => {
      const result = await migrate(context.config(), { logger: context.logger() }, flags);
      context.stdout(renderMigrate(result));
    });
  migrateCommand
    .command('create <name>')
    .description(
      'Write the next-numbered migration file (NNN_<name>.sql) from the template into MIGRATIONS_DIR.',
    )
    .action(async (name: string) => {
      context.stdout(await createMigration(context.config(), name));
    });
  program
    .command('status')
    .description(
      `List applied and pending migrations. Exit code ${ExitCode.pending} when some are pending, ${ExitCode.refused} when migrate would refuse.`,
    )
    .option('--json', 'print JSON')
    .action(async (flags: { json?: boolean }) => {
      const status = await migrationStatus(context.config(), { logger: context.logger() });
      context.stdout(flags.json ? JSON.stringify(status, null, 2) : renderStatus(status));
      if (status.refusals.length > 0) context.setExitCode(ExitCode.refused);
      else if (status.pending.length > 0) context.setExitCode(ExitCode.pending);
    });
}
