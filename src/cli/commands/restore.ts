/**
 * `restore` (lists the backups) and
 * `restore <name>|latest [--from s3|local] [--target-db NAME] [--source-db NAME] [--drop-previous]
 * [--no-migrate]`:
 * wiring and rendering only. The job is src/restore/restore.ts.
 */
import { type Command, Option } from 'commander';
import { printBackupList } from '../backup-list.js';
import type { CommandContext } from '../context.js';
import { withSignals } from '../signals.js';
import { systemClock } from '../../lib/clock.js';
import { restore, type RestoreOptions } from '../../restore/restore.js';

export function registerRestoreCommand(program: Command, context: CommandContext): void {
  program
    .command('restore')
    .description(
      'Restore a backup into a new database and swap it in for the target; without a name, list the backups',
    )
    .argument('[name]', 'backup name, or "latest" for the newest complete backup')
    .addOption(new Option('--from <store>', 'read the backup from this store only').choices(['s3', 'local']))
    .option('--target-db <name>', 'database to replace (default: the configured database)')
    .option(
      '--source-db <name>',
      'with latest: the newest backup of this database (default: the configured database)',
    )
    .option(
      '--drop-previous',
      'drop the replaced database instead of keeping it as <db>_before_restore_<timestamp>',
    )
    .option('--no-migrate', 'do not run migrations on the restored database')
    .action(
      async (
        name: string | undefined,
        flags: {
          from?: 'local' | 's3';
          targetDb?: string;
          sourceDb?: string;
          dropPrevious?: boolean;
          migrate: boolean;
        },
      ) => {
        const config = context.config();
        if (name === undefined) {
          await printBackupList(context, { json: false });
          return;
        }
        const options: RestoreOptions = {
          name,
          migrate: flags.migrate,
          dropPrevious: flags.dropPrevious === true,
        };
        if (flags.from) options.from = flags.from;
        if (flags.targetDb !== undefined) options.targetDb = flags.targetDb;
        if (flags.sourceDb !== undefined) options.sourceDb = flags.sourceDb;
        const result = await withSignals((signal) =>
          restore(config, { logger: context.logger(), clock: systemClock }, { ...options, signal }),
        );
        context.stdout(
          `restored ${result.name} into ${result.target}` +
            (result.previous ? ` (previous database kept as ${result.previous})` : ''),
        );
      },
    );
}
