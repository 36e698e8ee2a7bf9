/** `backup [name]`, `list [--json]`, `verify <name>`, `prune [--dry-run]`: wiring and rendering only. */
import type { Command } from 'commander';
import { printBackupList } from '../backup-list.js';
import type { CommandContext } from '../context.js';
import { withSignals } from '../signals.js';
import { backup } from '../../backup/job.js';
import { prune } from '../../backup/prune.js';
import { verifyBackup } from '../../backup/verify.js';
import { systemClock } from '../../lib/clock.js';

export function registerBackupCommands(program: Command, context: CommandContext): void {
  program
    .command('backup')
    .description('Dump the database (plain SQL, gzip) to the configured stores, with a manifest')
    .argument(
      '[name]',
      'backup name (letters, digits, . _ -); default chatflow_backup_YYYYMMDD_HHMMSS_<database> in TZ',
    )
    .action(async (name: string | undefined) => {
      const result = await withSignals((signal) =>
        backup(
          context.config(),
          { logger: context.logger(), clock: systemClock },
          name !== undefined ? { name, signal } : { signal },
        ),
      );
      context.stdout(result.name);
    });

  program
    .command('list')
    .description('List backups in every store, newest first')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      await printBackupList(context, { json: options.json === true });
    });

  program
    .command('verify')
    .description(
      'Re-read a backup from each store: sha256 against the manifest, gzip integrity (encrypted: decrypted with AGE_IDENTITY when set)',
    )
    .argument('<name>', 'backup name')
    .action(async (name: string) => {
      const result = await verifyBackup(context.config(), { logger: context.logger() }, name);
      for (const s of result.stores)
        context.stdout(
          `${name}  ${s.location}  ok  sha256 ${s.sha256}${s.deep ? '' : '  (encrypted: checksum only, not decrypted)'}`,
        );
    });

  program
    .command('prune')
    .description('Delete automatic backups that no retention rule keeps')
    .option('--dry-run', 'only show what would be deleted')
    .action(async (options: { dryRun?: boolean }) => {
      const result = await prune(
        context.config(),
        { logger: context.logger(), clock: systemClock },
        { dryRun: options.dryRun ?? false },
      );
      const verb = result.dryRun ? 'would delete' : 'deleted';
      for (const store of result.stores) {
        for (const name of store.deleted) context.stdout(`${verb}  ${name}  ${store.location}`);
        context.stdout(
          `${store.location}: ${verb} ${store.deleted.length} backups, keep ${store.kept.length}`,
        );
      }
    });
}
