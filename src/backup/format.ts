/** The `list` table, pure. */
import { formatBytes } from '../lib/streams.js';
import type { BackupEntry } from './listing.js';

export function formatAge(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  if (s < 172_800) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86_400)}d`;
}

export function formatBackupTable(entries: readonly BackupEntry[], now: Date): string {
  const rows = [
    ['NAME', 'STORE', 'SIZE', 'AGE', 'MANIFEST', 'ENCRYPTED', 'LAST DRILL'],
    ...entries.map((e) => [
      e.name,
      e.location,
      formatBytes(e.size),
      formatAge(now.getTime() - e.modifiedAt.getTime()),
      e.complete ? 'yes' : 'no (incomplete)',
      e.encrypted ? 'age' : 'no',
      e.lastDrill
        ? `${e.lastDrill.ok ? 'passed' : 'FAILED'} ${formatAge(now.getTime() - e.lastDrill.at.getTime())} ago`
        : '-',
    ]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  '))
    .join('\n');
}
