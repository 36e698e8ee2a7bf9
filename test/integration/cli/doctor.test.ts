/**
 * `chatflow-db doctor` against a healthy set-up (a migrated database, the application role, a local
 * directory and an S3 bucket) and against one problem at a time: each names its check and its fix, exit 1.
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type CliResult } from '../../helpers/cli.js';
import {
  adminQuery,
  createDatabase,
  dbEnv,
  dropDatabase,
  dropRole,
  uniqueName,
} from '../../helpers/database.js';
import { startS3, type TestS3 } from '../../../scripts/support/s3rver.js';

interface Report {
  ok: boolean;
  config: Record<string, string>;
  checks: { name: string; status: 'ok' | 'problem' | 'skipped'; detail: string; fix?: string }[];
}

let database: string;
let emptyDatabase: string;
let s3: TestS3;
let dir: string;
let bin: string;
const appRole = uniqueName('cfdb_doc_app');
const weakOwner = uniqueName('cfdb_doc_owner');
let env: Record<string, string>;

beforeAll(async () => {
  database = await createDatabase('cfdb_doctor');
  emptyDatabase = await createDatabase('cfdb_doctor_empty');
  s3 = await startS3();
  dir = mkdtempSync(join(tmpdir(), 'cfdb-doctor-'));
  bin = mkdtempSync(join(tmpdir(), 'cfdb-doctor-bin-'));
  env = {
    ...dbEnv(database),
    ...s3.env,
    BACKUP_DIR: dir,
    APP_DB_USER: appRole,
    APP_DB_PASSWORD: 'app-secret-password',
  };
  const migrated = await runCli(['migrate'], env);
  expect(migrated.code, migrated.stderr).toBe(0);
  const roles = await runCli(['roles'], env);
  expect(roles.code, roles.stderr).toBe(0);
  await adminQuery(`CREATE ROLE "${weakOwner}" LOGIN NOCREATEDB`);
}, 120_000);

afterAll(async () => {
  await s3?.close();
  await dropDatabase(database);
  await dropDatabase(emptyDatabase);
  await dropRole(appRole);
  await dropRole(weakOwner);
  rmSync(dir, { recursive: true, force: true });
  rmSync(bin, { recursive: true, force: true });
});

async function doctorJson(overrides: Record<string, string | undefined> = {}): Promise<{
  result: CliResult;
  report: Report;
}> {
  const result = await runCli(['doctor', '--json'], { ...env, ...overrides }, { timeoutMs: 60_000 });
  return { result, report: JSON.parse(result.stdout) as Report };
}

function check(report: Report, name: string): Report['checks'][number] {
  const found = report.checks.find((c) => c.name === name || c.name.startsWith(`${name} `));
  expect(found, `${name} in ${JSON.stringify(report.checks)}`).toBeDefined();
  return found!;
}

/** Exactly the checks named have a problem. */
function expectProblems(result: CliResult, report: Report, names: string[]): void {
  expect(result.code, result.stderr).toBe(1);
  expect(report.ok).toBe(false);
  const problems = report.checks.filter((c) => c.status === 'problem').map((c) => c.name.split(' ')[0]);
  expect(problems).toEqual(names);
}

describe('doctor', () => {
  it('passes on a healthy set-up (text)', async () => {
    const result = await runCli(['doctor'], env, { timeoutMs: 60_000 });
    expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
    expect(result.stdout).toMatch(/All \d+ checks passed/);
    expect(result.stdout).toContain('[redacted]');
    expect(result.stdout).not.toContain('app-secret-password');
  });

  it('--json: the configuration (secrets redacted) and each check with its status', async () => {
    const { result, report } = await doctorJson();
    expect(result.code, result.stderr).toBe(0);
    expect(report.ok).toBe(true);
    expect(report.config.appRolePassword).toBe('[redacted]');
    expect(report.config.s3Credentials).toBe('[redacted]');
    expect(JSON.stringify(report)).not.toContain('app-secret-password');
    expect(report.checks.map((c) => c.name.split(' ')[0])).toEqual([
      'config',
      'database',
      'pg_dump',
      'owner',
      'app-role',
      'migrations',
      'store',
      'store',
      'schedule',
      'disk',
    ]);
    for (const c of report.checks) expect(c.status, c.name).toBe('ok');
    expect(check(report, 'schedule').detail).toMatch(/next \d{4}-\d\d-\d\d 02:00:00, .*, .*$/);
    // The probes were removed.
    const list = await runCli(['list', '--json'], env);
    expect(JSON.parse(list.stdout)).toEqual([]);
  });

  it('the database cannot be reached: its checks are skipped, exit 1', async () => {
    const { result, report } = await doctorJson({ PGPORT: '1' });
    expectProblems(result, report, ['database']);
    expect(check(report, 'database').fix).toContain('PGHOST');
    expect(check(report, 'migrations').status).toBe('skipped');
  });

  it('pg_dump older than the server', async () => {
    const fake = join(bin, 'pg_dump');
    writeFileSync(fake, '#!/bin/sh\necho "pg_dump (PostgreSQL) 11.22"\n');
    chmodSync(fake, 0o755);
    const { result, report } = await doctorJson({ PATH: `${bin}:${process.env.PATH ?? ''}` });
    expectProblems(result, report, ['pg_dump']);
    expect(check(report, 'pg_dump').detail).toContain('11.22');
    expect(check(report, 'pg_dump').fix).toMatch(/install pg_dump \d+ or newer/);
  });

  it('an owner that cannot create databases or end sessions', async () => {
    const { result, report } = await doctorJson({ PGUSER: weakOwner });
    expect(result.code).toBe(1);
    const owner = check(report, 'owner');
    expect(owner.status).toBe('problem');
    expect(owner.detail).toContain('cannot create databases');
    expect(owner.fix).toContain(`ALTER ROLE "${weakOwner}" CREATEDB`);
    expect(owner.fix).toContain(`GRANT pg_signal_backend TO "${weakOwner}"`);
  });

  it('a store that cannot be written', async () => {
    const file = join(dir, '..', `${uniqueName('cfdb-doctor-file')}`);
    writeFileSync(file, 'not a directory');
    try {
      // A path below a regular file: no one, not even root, can create it.
      const { result, report } = await doctorJson({ BACKUP_DIR: join(file, 'backups') });
      expectProblems(result, report, ['store']);
      expect(check(report, 'store').fix).toContain('BACKUP_DIR');
    } finally {
      rmSync(file, { force: true });
    }
  });

  it('a read-only store directory (when not root)', async () => {
    if (process.getuid?.() === 0) return;
    const readOnly = join(dir, 'read-only');
    mkdirSync(readOnly);
    chmodSync(readOnly, 0o555);
    const { result, report } = await doctorJson({ BACKUP_DIR: readOnly });
    expectProblems(result, report, ['store']);
  });

  it('a bucket that does not exist', async () => {
    const { result, report } = await doctorJson({ S3_BUCKET: 'no-such-bucket' });
    expectProblems(result, report, ['store']);
    expect(check(report, 'store s3://no-such-bucket/').detail).toMatch(
      /bucket "no-such-bucket" does not exist/,
    );
  });

  it('pending migrations', async () => {
    const { result, report } = await doctorJson({ PGDATABASE: emptyDatabase });
    expect(result.code).toBe(1);
    const migrations = check(report, 'migrations');
    expect(migrations.status).toBe('problem');
    expect(migrations.detail).toMatch(/\d+ pending/);
    expect(migrations.fix).toContain('chatflow-db migrate');
  });

  it('the application role does not exist', async () => {
    const { result, report } = await doctorJson({ APP_DB_USER: uniqueName('cfdb_doc_missing') });
    expectProblems(result, report, ['app-role']);
    expect(check(report, 'app-role').fix).toContain('chatflow-db roles');
  });

  it('without APP_DB_PASSWORD a missing application role is skipped with a note', async () => {
    const { result, report } = await doctorJson({
      APP_DB_USER: uniqueName('cfdb_doc_missing'),
      APP_DB_PASSWORD: undefined,
    });
    expect(result.code, result.stderr).toBe(0);
    expect(check(report, 'app-role').status).toBe('skipped');
  });
});
