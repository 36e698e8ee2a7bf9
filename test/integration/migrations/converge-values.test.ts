/**
 * 007_converge_schema.sql never changes a stored value. A column that a deployment made wider than the
 * target keeps its type (named in a notice); a type change that would alter or drop a value stops the
 * migration in its preflight, naming table.column and the number of rows, with nothing changed.
 */
import { basename } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createDatabase, dropDatabase, withDb } from '../../helpers/database.js';
import {
  FIXTURES_DIR,
  MIGRATIONS_DIR,
  applyChain,
  applySqlFile,
  firstDifference,
  migrationFiles,
  publicColumns,
  schemaFingerprint,
  tableChecksums,
} from '../../helpers/schema.js';

const databases: string[] = [];
async function fixtureDatabase(fixture: string): Promise<string> {
  const name = await createDatabase('cfdb_converge');
  databases.push(name);
  await applySqlFile(name, `${FIXTURES_DIR}/${fixture}.sql`);
  return name;
}

afterAll(async () => {
  for (const db of databases) await dropDatabase(db);
});

const columnType = (db: string, table: string, column: string) =>
  withDb(db, async (c) => {
    const { rows } = await c.query<{ type: string }>(
      `SELECT format_type(atttypid, atttypmod) AS type FROM pg_attribute
       WHERE attrelid = $1::regclass AND attname = $2`,
      [`public.${table}`, column],
    );
    return rows[0]?.type;
  });

describe('columns a deployment made wider than the schema', () => {
  it('keep their type and every value, are named in a notice, and a rerun changes nothing', async () => {
    const db = await fixtureDatabase('legacy-wide');
    const columns = await publicColumns(db);
    const before = await tableChecksums(db);

    const notices = await applyChain(db);

    const groupIds = await withDb(db, async (c) => {
      const { rows } = await c.query<{ v: string }>(
        `SELECT from_number AS v FROM messages WHERE from_number LIKE '%@g%'
         UNION ALL SELECT phone FROM contacts WHERE phone LIKE '%@g%' ORDER BY 1`,
      );
      return rows.map((r) => r.v);
    });
    expect(groupIds).toEqual(['120363025246125888@g.us', '120363025246125888@g.us (customers group)']);
    expect(await tableChecksums(db, columns)).toEqual(before);
    expect(await columnType(db, 'messages', 'from_number')).toBe('character varying(50)');
    expect(await columnType(db, 'contacts', 'phone')).toBe('text');
    expect(await columnType(db, 'auto_reply_sessions', 'phone_number')).toBe('character varying');
    expect(notices).toMatch(
      /column messages\.from_number is character varying\(50\), wider than character varying\(20\)/,
    );
    expect(notices).toMatch(/column contacts\.phone is text, wider than character varying\(20\)/);
    expect(notices).toMatch(/column auto_reply_sessions\.phone_number is character varying, wider/);

    const schema = await schemaFingerprint(db);
    const data = await tableChecksums(db);
    await applyChain(db);
    expect(firstDifference(schema, await schemaFingerprint(db)) ?? 'same').toBe('same');
    expect(await tableChecksums(db)).toEqual(data);
  });
});

describe('type changes that would alter a stored value', () => {
  it('stop in the preflight with table.column and the row count; nothing is changed', async () => {
    const db = await fixtureDatabase('legacy-lossy');
    const files = migrationFiles(MIGRATIONS_DIR);
    const converge = files.findIndex((f) => basename(f).startsWith('007_'));
    await applyChain(db, files.slice(0, converge));
    const schema = await schemaFingerprint(db);
    const data = await tableChecksums(db);

    const failure = applySqlFile(db, files[converge]!);
    await expect(failure).rejects.toThrow(
      /api_usage\.response_time: 1 rows would change converting numeric to integer/,
    );
    await expect(failure).rejects.toThrow(
      /rate_limits\.request_count: 1 rows would change converting text to integer/,
    );
    await expect(failure).rejects.toThrow(/Nothing was changed/);

    expect(firstDifference(schema, await schemaFingerprint(db)) ?? 'same').toBe('same');
    expect(await tableChecksums(db)).toEqual(data);
  });
});
