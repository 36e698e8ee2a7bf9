/**
 * `chatflow-db drill` end to end with the real CLI: a good backup drills green with the exact counts; an
 * archive whose rows differ from its (re-signed) manifest fails naming the table; an archive that fails
 * half-way fails the drill and leaves no scratch database; DRILL_DATABASE_URL drills on another server
 * while the configured one is not even reachable; a drill killed half-way leaves a scratch database that
 * the next drill drops; results are read back from the store by `list`.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, cliEnv, REPO_ROOT, runCli, type CliResult } from '../../helpers/cli.js';
import { adminQuery, dbEnv, testServer, uniqueName, withDb } from '../../helpers/database.js';
import { databasesStartingWith, dropDatabasesStartingWith } from './support.js';

const prefix = uniqueName('cfdb_drill');
const source = `${prefix}_src`;
const maintenance = `${prefix}_maint`;
const dir = mkdtempSync(join(tmpdir(), 'cfdb-drill-'));
const INIT = join(REPO_ROOT, 'initdb', 'init-complete.sql');

const SEED = `
INSERT INTO users (username, email, password_hash, api_key, jwt_secret)
  SELECT 'user' || g, 'user' || g || '@example.com', 'h', 'key' || g, 's' FROM generate_series(1, 40) g;
INSERT INTO contacts (user_id, name, phone, notes)
  SELECT (g % 40) + 1, 'contact ' || g, '+49' || g, E'two\\nlines \\\\. and a tab\\t' || g FROM generate_series(1, 250) g;
`;

function env(extra: Record<string, string> = {}): Record<string, string> {
  return { ...dbEnv(source), BACKUP_DIR: dir, ...extra };
}

interface Record_ {
  ok: boolean;
  target: string;
  server: string;
  restoreSeconds: number;
  checks: { name: string; ok: boolean; detail: string }[];
}
const record = (name: string): Record_ =>
  JSON.parse(readFileSync(join(dir, `${name}.drill.json`), 'utf8')) as Record_;
const manifest = (name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(join(dir, `${name}.manifest.json`), 'utf8')) as Record<string, unknown>;

/** A copy of `from` under `name` with its SQL edited, its manifest re-signed (sha256, size), counts kept. */
function resign(from: string, name: string, edit: (sql: string) => string): void {
  const sql = edit(gunzipSync(readFileSync(join(dir, `${from}.sql.gz`))).toString('utf8'));
  const gz = gzipSync(sql);
  writeFileSync(join(dir, `${name}.sql.gz`), gz);
  const signed = {
    ...manifest(from),
    name,
    archive: `${name}.sql.gz`,
    sha256: createHash('sha256').update(gz).digest('hex'),
    size: gz.length,
  };
  writeFileSync(join(dir, `${name}.manifest.json`), `${JSON.stringify(signed, null, 2)}\n`);
}

/** Starts a drill, SIGKILLs it once its scratch database exists, and returns the databases it left. */
async function killDrillHalfWay(): Promise<string[]> {
  const before = new Set(await scratchDatabases());
  const child = spawn(process.execPath, [CLI, 'drill', 'good'], { env: cliEnv(env()), stdio: 'ignore' });
  let left: string[] = [];
  for (let i = 0; i < 400 && left.length === 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 25));
    left = (await scratchDatabases()).filter((name) => !before.has(name));
  }
  child.kill('SIGKILL');
  await new Promise((resolve) => child.once('close', resolve));
  expect(left.length).toBeGreaterThan(0);
  return left;
}

async function scratchDatabases(): Promise<string[]> {
  const { rows } = await adminQuery<{ datname: string }>(
    "SELECT datname FROM pg_database WHERE datname ~ '^chatflow_drill_[0-9]{8}_[0-9]{6}_[0-9a-f]{6}' ORDER BY 1",
  );
  return rows.map((r) => r.datname);
}

beforeAll(async () => {
  await adminQuery(`CREATE DATABASE "${source}"`);
  await adminQuery(`CREATE DATABASE "${maintenance}"`);
  await withDb(source, async (c) => {
    await c.query(readFileSync(INIT, 'utf8'));
    await c.query(SEED);
  });
  const made = await runCli(['backup', 'good'], env());
  expect(made.code, made.stderr).toBe(0);
}, 120_000);

afterAll(async () => {
  await dropDatabasesStartingWith(prefix);
  rmSync(dir, { recursive: true, force: true });
});

describe('drill', () => {
  it('records exact row counts, the schema version and versions in the manifest', async () => {
    const m = manifest('good');
    const counts = m.rowCounts as Record<string, number>;
    expect(counts['public.users']).toBe(40);
    expect(counts['public.contacts']).toBe(250);
    expect(counts['public.messages']).toBe(0);
    const tracked = await withDb(source, (c) =>
      c.query<{ n: string; v: string }>(
        'SELECT count(*)::text AS n, max(version) AS v FROM chatflow_db.schema_migrations',
      ),
    );
    expect(counts['chatflow_db.schema_migrations']).toBe(Number(tracked.rows[0]?.n));
    expect(m.schemaVersion).toBe(tracked.rows[0]?.v);
    expect(typeof m.durationSeconds).toBe('number');
    expect(m.sqlBytes).toBeGreaterThan(0);
  });

  it('drills a good backup green, keeps the result next to it and drops its scratch databases', async () => {
    const result = await runCli(['drill', 'good'], env());
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/drill of good: PASSED/);
    expect(result.stdout).toMatch(/restore time [\d.]+ s/);
    const r = record('good');
    expect(r.ok).toBe(true);
    expect(r.server).toBe('configured');
    expect(r.checks.map((c) => [c.name, c.ok])).toEqual([
      ['restore', true],
      ['row-counts', true],
      ['migrations', true],
      ['schema', true],
    ]);
    expect(r.checks[1]?.detail).toMatch(/^\d+ tables, 297 rows/);
    expect(await databasesStartingWith(r.target)).toEqual([]);
  }, 120_000);

  it('fails naming the table when the archive holds one row less than its manifest counted', async () => {
    // The first row of contacts (nothing refers to contacts): the archive still restores.
    resign('good', 'one_row_less', (sql) => sql.replace(/(COPY public\.contacts [^\n]*\n)[^\n]*\n/, '$1'));
    const result = await runCli(['drill', 'one_row_less'], env());
    expect(result.code, result.stdout).toBe(1);
    expect(result.stdout).toMatch(/drill of one_row_less: FAILED/);
    expect(result.stdout).toMatch(
      /FAILED\s+row-counts.*public\.contacts: 249 rows restored, the manifest counted 250/,
    );
    const r = record('one_row_less');
    expect(r.ok).toBe(false);
    expect(r.checks.find((c) => c.name === 'restore')?.ok).toBe(true);
    expect(await databasesStartingWith(r.target)).toEqual([]);
  }, 120_000);

  it('fails when the archive fails half-way, and leaves no scratch database', async () => {
    // A row of contacts with a column too many: psql stops in the middle of the data.
    resign('good', 'broken_half_way', (sql) =>
      sql.replace(/(COPY public\.contacts [^\n]*\n)/, '$1999\textra\tcolumns\n'),
    );
    const result = await runCli(['drill', 'broken_half_way'], env());
    expect(result.code, result.stdout).toBe(1);
    expect(result.stdout).toMatch(/FAILED\s+restore/);
    expect(result.stdout).toMatch(/not run/);
    const r = record('broken_half_way');
    expect(r.ok).toBe(false);
    expect(await databasesStartingWith(r.target)).toEqual([]);
  }, 120_000);

  it('drills on DRILL_DATABASE_URL without touching the configured database (here not even reachable)', async () => {
    const before = await withDb(source, (c) =>
      c.query<{ n: string }>('SELECT count(*)::text AS n FROM contacts'),
    );
    const url = `postgres://${testServer.user}${testServer.password ? `:${testServer.password}` : ''}@${testServer.host}:${testServer.port}/${maintenance}`;
    const result = await runCli(
      ['drill', 'good'],
      env({ PGHOST: '127.0.0.1', PGPORT: '1', DB_WAIT_TIMEOUT: '0', DRILL_DATABASE_URL: url }),
    );
    expect(result.code, result.stderr).toBe(0);
    const latest = result.stdout.match(/drill of (\S+):/)?.[1] ?? '';
    const r = record(latest);
    expect(r.ok).toBe(true);
    expect(r.server).toBe('drill');
    const after = await withDb(source, (c) =>
      c.query<{ n: string }>('SELECT count(*)::text AS n FROM contacts'),
    );
    expect(after.rows).toEqual(before.rows);
  }, 120_000);

  it('a drill killed half-way leaves a scratch database that the next drill drops', async () => {
    // Other test files run drills and sidecars on this server, and they drop such leftovers too: when one
    // of them got there first, this drill had nothing to drop, so kill another one and try again.
    let next: CliResult | undefined;
    let left: string[] = [];
    for (let attempt = 0; attempt < 3 && !next?.stderr.includes('left behind by a drill'); attempt++) {
      left = await killDrillHalfWay();
      next = await runCli(['drill', 'good'], env());
      expect(next.code, next.stderr).toBe(0);
    }
    expect(next?.stderr).toContain('left behind by a drill that did not finish');
    expect((await scratchDatabases()).filter((name) => left.includes(name))).toEqual([]);
  }, 180_000);

  it('list shows when each backup was last drilled and the result, read back from the store', async () => {
    const json = await runCli(['list', '--json'], env());
    expect(json.code, json.stderr).toBe(0);
    const rows = JSON.parse(json.stdout) as { name: string; lastDrill: { ok: boolean; at: string } | null }[];
    expect(rows.find((row) => row.name === 'good')?.lastDrill?.ok).toBe(true);
    expect(rows.find((row) => row.name === 'one_row_less')?.lastDrill?.ok).toBe(false);
    expect(rows.some((row) => row.name.endsWith('.drill'))).toBe(false);
    const table = await runCli(['list'], env());
    expect(table.stdout).toMatch(/good.*passed/);
    expect(table.stdout).toMatch(/one_row_less.*FAILED/);
  }, 60_000);
});
