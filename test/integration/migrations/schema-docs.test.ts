/**
 * docs/schema.md is generated from the catalog of a database built by init-complete.sql
 * (`npm run docs:schema`); this test regenerates it in memory and fails while the file is stale.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCHEMA_DOC, readCatalog, renderSchemaDoc } from '../../../scripts/schema-docs.js';
import { createDatabase, dropDatabase, withDb } from '../../helpers/database.js';
import { applyInit } from '../../helpers/schema.js';

let database: string;
beforeAll(async () => {
  database = await createDatabase('cfdb_schema_docs');
  await applyInit(database);
});
afterAll(async () => {
  await dropDatabase(database);
});

describe('docs/schema.md', () => {
  it('is what `npm run docs:schema` generates from init-complete.sql', async () => {
    const generated = await withDb(database, (client) => readCatalog(client).then(renderSchemaDoc));
    expect(
      readFileSync(SCHEMA_DOC, 'utf8') === generated,
      'docs/schema.md is stale: run `npm run docs:schema` and commit the result',
    ).toBe(true);
  });

  it('documents columns, keys with their actions, checks, indexes and triggers', () => {
    const doc = readFileSync(SCHEMA_DOC, 'utf8');
    expect(doc).toContain('## users');
    expect(doc).toMatch(
      /\| `id` \| `integer` \| NOT NULL \| `nextval\('public\.users_id_seq'::regclass\)` \|/,
    );
    expect(doc).toMatch(
      /foreign key \| `FOREIGN KEY \(user_id\) REFERENCES public\.users\(id\) ON DELETE CASCADE`/,
    );
    expect(doc).toMatch(/\| check \|/);
    expect(doc).toMatch(/- `CREATE INDEX idx_\w+ ON public\.\w+/);
    expect(doc).toMatch(/- `CREATE TRIGGER update_users_updated_at BEFORE UPDATE ON public\.users/);
  });

  it('changes when the schema changes (the staleness check can fail)', async () => {
    const before = await withDb(database, (client) => readCatalog(client).then(renderSchemaDoc));
    await withDb(database, (client) => client.query('ALTER TABLE public.users ADD COLUMN nickname text'));
    const after = await withDb(database, (client) => readCatalog(client).then(renderSchemaDoc));
    expect(after).not.toBe(before);
    expect(after).toContain('| `nickname` | `text` | nullable |  |');
  });
});
