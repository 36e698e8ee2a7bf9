/** The one `latest` rule (latestBackup): this database's complete backups, newest manifest first, never object times. */
import { describe, expect, it } from 'vitest';
import { latestBackup, nameTimestamp, type LatestCandidate } from '../../../src/backup/listing.js';

function entry(
  name: string,
  origin: { database: string; createdAt: string } | undefined,
  options: { store?: 'local' | 's3'; modifiedAt?: string; complete?: boolean } = {},
): LatestCandidate {
  return {
    name,
    store: options.store ?? 'local',
    location: options.store === 's3' ? 's3://b/' : '/backups',
    size: 1,
    archive: `${name}.sql.gz`,
    encrypted: false,
    modifiedAt: new Date(options.modifiedAt ?? '2030-01-01T00:00:00Z'),
    complete: options.complete ?? true,
    defaultNamed: false,
    origin: origin && { database: origin.database, createdAt: new Date(origin.createdAt) },
  };
}

describe('latestBackup', () => {
  const cases: {
    title: string;
    entries: LatestCandidate[];
    database: string;
    expected: string | undefined;
  }[] = [
    {
      title: "another database's newer backup is not this database's latest",
      entries: [
        entry('b', { database: 'other', createdAt: '2026-12-01T00:00:00Z' }),
        entry('a', { database: 'app', createdAt: '2026-01-01T00:00:00Z' }),
      ],
      database: 'app',
      expected: 'a',
    },
    {
      title: 'manifest time wins over object time',
      entries: [
        entry(
          'old',
          { database: 'app', createdAt: '2026-01-01T00:00:00Z' },
          { modifiedAt: '2030-01-01T00:00:00Z' },
        ),
        entry(
          'new',
          { database: 'app', createdAt: '2026-06-01T00:00:00Z' },
          { modifiedAt: '2020-01-01T00:00:00Z' },
        ),
      ],
      database: 'app',
      expected: 'new',
    },
    {
      title: 'incomplete or unreadable manifests are never latest',
      entries: [
        entry('unfinished', undefined, { complete: false }),
        entry('unreadable', undefined),
        entry('ok', { database: 'app', createdAt: '2020-01-01T00:00:00Z' }),
      ],
      database: 'app',
      expected: 'ok',
    },
    {
      title: 'equal times: the earlier entry (store order, local first) wins',
      entries: [
        entry('same', { database: 'app', createdAt: '2026-01-01T00:00:00Z' }, { store: 'local' }),
        entry('same', { database: 'app', createdAt: '2026-01-01T00:00:00Z' }, { store: 's3' }),
      ],
      database: 'app',
      expected: 'same@local',
    },
    {
      title: 'nothing of this database',
      entries: [entry('x', { database: 'other', createdAt: '2026-01-01T00:00:00Z' })],
      database: 'app',
      expected: undefined,
    },
  ];
  it.each(cases)('$title', ({ entries, database, expected }) => {
    const latest = latestBackup(entries, database);
    const got = latest && (expected?.includes('@') ? `${latest.name}@${latest.store}` : latest.name);
    expect(got).toBe(expected);
  });

  it('reads the timestamp of default names', () => {
    expect(nameTimestamp('chatflow_backup_20240210_093000_app')?.toISOString()).toBe(
      '2024-02-10T09:30:00.000Z',
    );
    expect(nameTimestamp('before_release')).toBeUndefined();
  });
});
