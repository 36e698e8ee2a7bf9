/**
 * The runner on the real chain (migrations/): a fresh init-complete.sql database, an empty database, legacy
 * ChatFlow databases (adopted, ending in the same schema), and eight replicas migrating at once.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createDatabase, dropDatabase, withDb } from '../../helpers/database.js';
import {
  applyInit,
  firstDifference,
  LEGACY_EXTRA_INDEX,
  loadFixture,
  migrationFiles,
  schemaFingerprint,
  type LegacyFixture,
} from '../../helpers/schema.js';
import { EARLIER_REVISIONS } from '../../../src/migrations/revisions.js';
import { cli, logs, REAL_MIGRATIONS, reportedError, trackedFiles } from './support.js';

const CHAIN = migrationFiles(REAL_MIGRATIONS).map((path) => path.slice(REAL_MIGRATIONS.length + 1));
const databases: string[] = [];

async function database(): Promise<string> {
  const name = await createDatabase('cfdb_migrate');
  databases.push(name);
  return name;
}

let initFingerprint: string | undefined;
/** The schema of a fresh init-complete.sql database: what every path must end in. */
async function expectedSchema(): Promise<string> {
  if (initFingerprint === undefined) {
    const name = await database();
    await applyInit(name);
    initFingerprint = await schemaFingerprint(name);
  }
  return initFingerprint;
}

async function expectSameSchema(name: string): Promise<void> {
  expect(
    firstDifference(await expectedSchema(), await schemaFingerprint(name), ['init-complete.sql', name]),
  ).toBeUndefined();
}

afterAll(async () => {
  await Promise.all(databases.map(dropDatabase));
});

describe('migrate on the real chain', () => {
  it('has a chain to test', () => {
    expect(CHAIN.length).toBeGreaterThanOrEqual(5);
  });

  it('applies nothing after a fresh init-complete.sql (it stamps the versions it contains)', async () => {
    const name = await database();
    await applyInit(name);
    const status = await cli(name, ['status', '--json']);
    expect(status.code, status.stdout).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ kind: 'tracked', pending: [], refusals: [] });
    const result = await cli(name, ['migrate']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/up to date: nothing to apply/);
  });

  it('runs the whole chain on an empty database, records each file, and ends in the init-complete.sql schema', async () => {
    const name = await database();
    const result = await cli(name, ['migrate']);
    expect(result.code, result.stderr).toBe(0);
    expect(await trackedFiles(name)).toEqual(CHAIN);
    await expectSameSchema(name);
    const again = await cli(name, ['status']);
    expect(again.code).toBe(0);
  });

  it.each<LegacyFixture>(['legacy', 'legacy-evolution'])(
    'adopts the legacy database of %s: the chain converges it, each file recorded',
    async (fixture) => {
      const name = await database();
      await loadFixture(name, fixture);
      const status = await cli(name, ['status', '--json']);
      expect(status.code).toBe(3);
      expect(JSON.parse(status.stdout)).toMatchObject({ kind: 'legacy', applied: [], pending: CHAIN });
      const result = await cli(name, ['migrate']);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toMatch(/legacy ChatFlow database: adopted/);
      expect(await trackedFiles(name)).toEqual(CHAIN);
      // SCHEMA.md: an index an operator added is left in place (and named in a notice); the rest is identical.
      expect(logs(result).some((line) => line.msg.includes(LEGACY_EXTRA_INDEX))).toBe(true);
      await withDb(name, (client) => client.query(`DROP INDEX public.${LEGACY_EXTRA_INDEX}`));
      await expectSameSchema(name);
    },
  );

  it('goes on from a database that applied the first shipped revision of 007, recording the current checksum', async () => {
    const name = await database();
    await applyInit(name);
    const [earlier] = EARLIER_REVISIONS.get('007_converge_schema.sql') ?? [];
    expect(earlier).toMatch(/^[0-9a-f]{64}$/);
    const current = await withDb(name, async (client) => {
      const { rows } = await client.query<{ checksum: string }>(
        `UPDATE chatflow_db.schema_migrations SET checksum = $1 WHERE name = '007_converge_schema.sql'
           RETURNING (SELECT checksum FROM chatflow_db.schema_migrations WHERE name = '007_converge_schema.sql')`,
        [earlier],
      );
      return rows[0]?.checksum;
    });
    expect(current).not.toBe(earlier);

    const result = await cli(name, ['migrate']);
    expect(result.stderr).not.toContain('was edited after it was applied');
    expect(result.code).toBe(0);
    const recorded = await withDb(name, async (client) => {
      const { rows } = await client.query<{ checksum: string }>(
        `SELECT checksum FROM chatflow_db.schema_migrations WHERE name = '007_converge_schema.sql'`,
      );
      return rows[0]?.checksum;
    });
    expect(recorded).toBe(current);
    expect((await cli(name, ['status'])).code).toBe(0);
    await expectSameSchema(name);
  });

  it("stops on a legacy row that blocks a new constraint, naming file, line and PostgreSQL's message; earlier files stay applied", async () => {
    const name = await database();
    await loadFixture(name, 'legacy-orphans');
    const result = await cli(name, ['migrate']);
    expect(result.code).toBe(1);
    const message = reportedError(result);
    expect(message).toMatch(/^Migration \d+_\w+\.sql failed at line \d+: .*scheduled_messages/s);
    const failed = /^Migration (\S+) failed/.exec(message)?.[1] as string;
    expect(await trackedFiles(name)).toEqual(CHAIN.slice(0, CHAIN.indexOf(failed)));
    // Nothing of the failing file stayed: the next run tries it again and stops the same way.
    const again = await cli(name, ['migrate']);
    expect(again.code).toBe(1);
    expect(reportedError(again)).toContain(`Migration ${failed} failed`);
  });

  it('lets 8 processes migrate an empty database at once: each file applied once, all exit 0', async () => {
    const name = await database();
    const results = await Promise.all(Array.from({ length: 8 }, () => cli(name, ['migrate'])));
    for (const result of results) expect(result.code, result.stderr).toBe(0);
    const applied = results.flatMap((result) =>
      logs(result)
        .filter((line) => typeof line.msg === 'string' && line.msg.startsWith('applied '))
        .map((line) => line.file),
    );
    expect(applied.sort()).toEqual(CHAIN);
    expect(results.filter((result) => /up to date/.test(result.stdout))).toHaveLength(7);
    expect(await trackedFiles(name)).toEqual(CHAIN);
    await expectSameSchema(name);
  });
});
