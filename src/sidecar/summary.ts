/**
 * The one line `start` logs before it serves: what it will do, as fields and as a readable message.
 * Database and stores without credentials; the schedule with its next runs as wall-clock times in TZ, so
 * that a six-field expression (seconds first: `0 2 * * * *` is minute 02 of every hour) shows itself.
 * Pure: the caller passes the next runs and the migrations applied.
 */
import type { Config } from '../config/load.js';
import { formatDuration } from '../lib/duration.js';
import { wallClockText } from '../lib/clock.js';

export interface StartupSummary {
  fields: Record<string, unknown>;
  message: string;
}

export function startupSummary(
  config: Readonly<Config>,
  facts: { nextRuns: readonly Date[]; applied: readonly string[] },
): StartupSummary {
  const { database: db, backup, retention, timeZone } = config;
  const stores: Array<Record<string, string>> = [];
  const storeTexts: string[] = [];
  if (backup.localDir !== undefined) {
    stores.push({ kind: 'local', directory: backup.localDir });
    storeTexts.push(backup.localDir);
  }
  if (backup.s3) {
    const endpoint = backup.s3.endpoint !== undefined ? new URL(backup.s3.endpoint).host : undefined;
    stores.push({
      kind: 's3',
      bucket: backup.s3.bucket,
      prefix: backup.s3.prefix,
      ...(endpoint !== undefined ? { endpoint } : {}),
    });
    storeTexts.push(
      `s3://${backup.s3.bucket}/${backup.s3.prefix}${endpoint !== undefined ? ` (${endpoint})` : ''}`,
    );
  }
  const kept = [
    retention.keepLast > 0 ? `last ${retention.keepLast}` : '',
    retention.keepDays > 0 ? `${retention.keepDays} days` : '',
    retention.keepDaily > 0 ? `${retention.keepDaily} daily` : '',
    retention.keepWeekly > 0 ? `${retention.keepWeekly} weekly` : '',
    retention.keepMonthly > 0 ? `${retention.keepMonthly} monthly` : '',
  ].filter((rule) => rule !== '');
  const runs = facts.nextRuns.map((run) => wallClockText(run, timeZone)).join(', ');
  const migrations =
    facts.applied.length === 0
      ? 'up to date'
      : `applied ${facts.applied.length} (${facts.applied.join(', ')})`;

  return {
    fields: {
      database: { host: db.host, port: db.port, name: db.database, user: db.user },
      stores,
      schedule: {
        expression: backup.schedule,
        timeZone,
        nextRuns: facts.nextRuns.map((run) => run.toISOString()),
      },
      onStart: backup.onStart,
      backupTimeoutSeconds: backup.timeoutMs / 1000,
      retention,
      migrations: { applied: [...facts.applied] },
    },
    message:
      `start-up: database ${db.database} on ${db.host}:${db.port} as ${db.user}; ` +
      `stores ${storeTexts.join(', ')}; ` +
      `schedule "${backup.schedule}" in ${timeZone}, next runs ${runs} (${timeZone})` +
      `${backup.onStart ? ', and one now (BACKUP_ON_START)' : ''}; ` +
      `backup deadline ${formatDuration(backup.timeoutMs)}; ` +
      `retention ${kept.length > 0 ? `keeps ${kept.join(', ')}` : 'off (keeps everything)'}; ` +
      `migrations: ${migrations}`,
  };
}
