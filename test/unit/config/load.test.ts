import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load.js';
import { ConfigError } from '../../../src/lib/errors.js';

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env, 2);
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    throw error;
  }
  return [];
}

describe('loadConfig', () => {
  it('gives documented defaults for an empty environment', () => {
    const config = loadConfig({}, 2);
    expect(config.database).toMatchObject({
      host: 'localhost',
      port: 5432,
      user: 'postgres',
      database: 'postgres',
    });
    expect(config.backup.localDir).toBe('/backups');
    expect(config.backup.s3).toBeUndefined();
    expect(config.backup.compressionThreads).toBe(2);
    expect(config.timeZone).toBe('UTC');
    expect(Object.isFrozen(config.backup)).toBe(true);
  });

  it('lets DATABASE_URL parts win over PG* variables and fills the rest from them', () => {
    const config = loadConfig(
      { DATABASE_URL: 'postgres://app:p%40ss@db:6543/chat', PGHOST: 'ignored', PGSSLMODE: 'require' },
      2,
    );
    expect(config.database).toMatchObject({
      host: 'db',
      port: 6543,
      user: 'app',
      password: 'p@ss',
      database: 'chat',
      sslMode: 'require',
    });
  });

  it('reports every problem at once', () => {
    const problems = problemsOf({
      S3_ENDPOINT: 'http://minio:9000',
      BACKUP_KEEP_DAYS: '-1',
      BACKUP_SCHEDULE: 'every day',
      TZ: 'Mars/Olympus',
      BACKUP_KEEP_DAY: '3',
    });
    expect(problems).toHaveLength(5);
    expect(problems.join('\n')).toMatch(/S3_BUCKET is required/);
    expect(problems.join('\n')).toMatch(/BACKUP_KEEP_DAYS/);
    expect(problems.join('\n')).toMatch(/BACKUP_KEEP_DAY is not a chatflow-db setting/);
  });

  it('reads *_FILE secrets and refuses both forms at once', async () => {
    const { mkdtempSync, rmSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(`${tmpdir()}/cfdb-config-`);
    try {
      writeFileSync(`${dir}/pw`, 's3cret\n');
      expect(loadConfig({ PGPASSWORD_FILE: `${dir}/pw` }, 2).database.password).toBe('s3cret');
      expect(problemsOf({ PGPASSWORD: 'a', PGPASSWORD_FILE: `${dir}/pw` })).toEqual([
        'PGPASSWORD and PGPASSWORD_FILE are both set; keep one',
      ]);
      expect(problemsOf({ APP_DB_PASSWORD_FILE: `${dir}/missing` })[0]).toMatch(/cannot be read/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('turns S3 on with S3_BUCKET and local copies off unless BACKUP_DIR is set', () => {
    const s3Only = loadConfig({ S3_BUCKET: 'b', S3_PREFIX: 'prod/' }, 2);
    expect(s3Only.backup.localDir).toBeUndefined();
    expect(s3Only.backup.s3).toMatchObject({
      bucket: 'b',
      prefix: 'prod/',
      region: 'us-east-1',
      forcePathStyle: false,
    });
    const both = loadConfig({ S3_BUCKET: 'b', BACKUP_DIR: '/data' }, 2);
    expect(both.backup.localDir).toBe('/data');
  });
});
