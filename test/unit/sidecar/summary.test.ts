import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load.js';
import { startupSummary } from '../../../src/sidecar/summary.js';

const runs = ['2026-12-01T01:00:00Z', '2026-12-02T01:00:00Z', '2026-12-03T01:00:00Z'].map(
  (iso) => new Date(iso),
);

describe('startupSummary', () => {
  it('says everything without secrets: URL password, S3 keys', () => {
    const config = loadConfig(
      {
        DATABASE_URL: 'postgres://owner:pa%25ss@db.internal:6543/chatflow',
        S3_BUCKET: 'backups',
        S3_PREFIX: 'prod/',
        S3_ENDPOINT: 'https://minio.example:9000',
        AWS_ACCESS_KEY_ID: 'AKIA-TEST',
        AWS_SECRET_ACCESS_KEY: 'SECRET-TEST',
        TZ: 'Europe/Berlin',
      },
      2,
    );
    const summary = startupSummary(config, { nextRuns: runs, applied: ['001_a.sql', '002_b.sql'] });
    expect(summary.message).toBe(
      'start-up: database chatflow on db.internal:6543 as owner; stores s3://backups/prod/ (minio.example:9000); ' +
        'schedule "0 2 * * *" in Europe/Berlin, next runs 2026-12-01 02:00, 2026-12-02 02:00, 2026-12-03 02:00 (Europe/Berlin); ' +
        'backup deadline 6 h; retention keeps last 7, 7 daily, 4 weekly, 6 monthly; migrations: applied 2 (001_a.sql, 002_b.sql)',
    );
    const text = JSON.stringify(summary);
    for (const secret of ['pa%ss', 'pa%25ss', 'AKIA-TEST', 'SECRET-TEST']) expect(text).not.toContain(secret);
    expect(summary.fields.stores).toEqual([
      { kind: 's3', bucket: 'backups', prefix: 'prod/', endpoint: 'minio.example:9000' },
    ]);
  });

  it('local store, retention off, a backup on start, seconds shown when not zero, up to date', () => {
    const config = loadConfig(
      {
        PGDATABASE: 'chatflow',
        BACKUP_DIR: '/srv/backups',
        BACKUP_SCHEDULE: '30 0 2 * * *',
        BACKUP_ON_START: 'true',
        BACKUP_TIMEOUT: '5400',
        BACKUP_KEEP_LAST: '0',
        BACKUP_KEEP_DAILY: '0',
        BACKUP_KEEP_WEEKLY: '0',
        BACKUP_KEEP_MONTHLY: '0',
      },
      2,
    );
    const at = [new Date('2026-12-01T02:00:30Z')];
    const { message, fields } = startupSummary(config, { nextRuns: at, applied: [] });
    expect(message).toContain('stores /srv/backups;');
    expect(message).toContain('next runs 2026-12-01 02:00:30 (UTC), and one now (BACKUP_ON_START)');
    expect(message).toContain('backup deadline 1 h 30 min;');
    expect(message).toContain('retention off (keeps everything);');
    expect(message).toMatch(/migrations: up to date$/);
    expect(fields.migrations).toEqual({ applied: [] });
  });
});
