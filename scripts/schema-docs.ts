/**
 * `npm run docs:schema`: writes docs/schema.md, the reference of the ChatFlow schema, from the catalog of a
 * database freshly built by initdb/init-complete.sql (a throwaway database on the configured server, dropped
 * in every case). The output depends only on the schema, so regenerating an unchanged schema changes no byte;
 * test/integration/migrations/schema-docs.test.ts fails while docs/schema.md is stale.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type pg from 'pg';
import { loadConfig, type Config } from '../src/config/load.js';
import { connect, libpqEnv, quoteIdent, withClient, withTransaction } from '../src/lib/db.js';
import { createLogger, type Logger } from '../src/lib/logger.js';
import { PACKAGE_ROOT } from '../src/lib/package-root.js';
import { psqlFile } from '../src/lib/psql-file.js';
import { runAsMain } from './run-as-main.js';

export const SCHEMA_DOC = join(PACKAGE_ROOT, 'docs', 'schema.md');
const INIT_FILE = join(PACKAGE_ROOT, 'initdb', 'init-complete.sql');

interface Column {
  table: string;
  name: string;
  type: string;
  notNull: boolean;
  default: string | null;
}
interface Constraint {
  table: string;
  name: string;
  kind: 'p' | 'u' | 'f' | 'c';
  definition: string;
}
interface NamedDef {
  table: string;
  name: string;
  definition: string;
}

/** Catalog reads, each ordered so that the document is the same on every run. */
export async function readCatalog(client: pg.Client) {
  return withTransaction(
    client,
    async () => {
      await client.query('SET LOCAL search_path = pg_catalog');
      const extensions = await client.query<{ name: string; version: string }>(
        `SELECT extname AS name, extversion AS version FROM pg_extension WHERE extname <> 'plpgsql' ORDER BY 1`,
      );
      const tables = await client.query<{ name: string; comment: string | null }>(
        `SELECT c.relname AS name, obj_description(c.oid, 'pg_class') AS comment FROM pg_class c
         WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p') ORDER BY 1`,
      );
      const columns = await client.query<Column>(
        `SELECT c.relname AS table, a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type,
                a.attnotnull AS "notNull", pg_get_expr(d.adbin, d.adrelid) AS default
         FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
         LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
         WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')
           AND a.attnum > 0 AND NOT a.attisdropped
         ORDER BY c.relname, a.attnum`,
      );
      const constraints = await client.query<Constraint>(
        `SELECT c.relname AS table, k.conname AS name, k.contype AS kind, pg_get_constraintdef(k.oid) AS definition
         FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
         WHERE c.relnamespace = 'public'::regnamespace AND k.contype IN ('p', 'u', 'f', 'c')
         ORDER BY c.relname, position(k.contype IN 'pufc'), k.conname`,
      );
      // Indexes that back a primary key or unique constraint are listed with the constraint.
      const indexes = await client.query<NamedDef>(
        `SELECT t.relname AS table, i.relname AS name, pg_get_indexdef(x.indexrelid) AS definition
         FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
         WHERE t.relnamespace = 'public'::regnamespace
           AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid AND k.contype IN ('p', 'u', 'x'))
         ORDER BY t.relname, i.relname`,
      );
      const triggers = await client.query<NamedDef>(
        `SELECT c.relname AS table, g.tgname AS name, pg_get_triggerdef(g.oid) AS definition
         FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid
         WHERE c.relnamespace = 'public'::regnamespace AND NOT g.tgisinternal
         ORDER BY c.relname, g.tgname`,
      );
      const functions = await client.query<{ signature: string; returns: string; language: string }>(
        `SELECT p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')' AS signature,
                pg_get_function_result(p.oid) AS returns, l.lanname AS language
         FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
         WHERE p.pronamespace = 'public'::regnamespace
           AND NOT EXISTS (SELECT 1 FROM pg_depend dp WHERE dp.classid = 'pg_proc'::regclass
                           AND dp.objid = p.oid AND dp.deptype = 'e')
         ORDER BY 1`,
      );
      return {
        extensions: extensions.rows,
        tables: tables.rows,
        columns: columns.rows,
        constraints: constraints.rows,
        indexes: indexes.rows,
        triggers: triggers.rows,
        functions: functions.rows,
      };
    },
    'BEGIN READ ONLY',
  );
}

export type Catalog = Awaited<ReturnType<typeof readCatalog>>;

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ');
const code = (text: string) => `\`${cell(text)}\``;

/** The markdown of one catalog: pure, so that the test compares it with the file byte for byte. */
export function renderSchemaDoc(catalog: Catalog): string {
  const out: string[] = [
    '# The ChatFlow schema',
    '',
    '<!-- Generated by `npm run docs:schema` from a database built by initdb/init-complete.sql. Do not edit:',
    '     change the schema (a migration and init-complete.sql), then regenerate. -->',
    '',
    `Everything is in the schema \`public\`: ${catalog.tables.length} tables. Extensions: ` +
      (catalog.extensions.map((e) => `\`${e.name}\` ${e.version}`).join(', ') || 'none') +
      ". The migration tracking table `chatflow_db.schema_migrations` is chatflow-db's own and not listed.",
    '',
    'Functions: ' +
      (catalog.functions
        .map((f) => `\`${f.signature}\` returns \`${f.returns}\` (${f.language})`)
        .join(', ') || 'none') +
      '.',
    '',
    'Tables: ' + catalog.tables.map((t) => `[\`${t.name}\`](#${t.name})`).join(', ') + '.',
  ];
  const kindTitle = { p: 'primary key', u: 'unique', f: 'foreign key', c: 'check' } as const;
  for (const table of catalog.tables) {
    out.push('', `## ${table.name}`, '');
    if (table.comment) out.push(table.comment, '');
    out.push('| column | type | null | default |', '|---|---|---|---|');
    for (const c of catalog.columns.filter((col) => col.table === table.name)) {
      out.push(
        `| \`${c.name}\` | ${code(c.type)} | ${c.notNull ? 'NOT NULL' : 'nullable'} | ${c.default === null ? '' : code(c.default)} |`,
      );
    }
    const constraints = catalog.constraints.filter((k) => k.table === table.name);
    if (constraints.length > 0) {
      out.push('', '| constraint | kind | definition |', '|---|---|---|');
      for (const k of constraints)
        out.push(`| \`${k.name}\` | ${kindTitle[k.kind]} | ${code(k.definition)} |`);
    }
    const indexes = catalog.indexes.filter((i) => i.table === table.name);
    if (indexes.length > 0) {
      out.push('', 'Indexes:', '');
      for (const i of indexes) out.push(`- ${code(i.definition)}`);
    }
    const triggers = catalog.triggers.filter((g) => g.table === table.name);
    if (triggers.length > 0) {
      out.push('', 'Triggers:', '');
      for (const g of triggers) out.push(`- ${code(g.definition)}`);
    }
  }
  return `${out.join('\n')}\n`;
}

/** Builds a throwaway database from init-complete.sql on `config`'s server and renders its catalog. */
export async function generateSchemaDoc(config: Readonly<Config>, deps: { logger: Logger }): Promise<string> {
  const name = `chatflow_schema_docs_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const admin = await connect(config.database);
  try {
    await admin.query(`CREATE DATABASE ${quoteIdent(name)}`);
    await psqlFile(INIT_FILE, libpqEnv(config.database, name));
    return renderSchemaDoc(await withClient(config.database, readCatalog, name));
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`).catch((error: unknown) => {
      deps.logger.warn({ database: name, err: error }, 'could not drop the schema-docs database');
    });
    await admin.end().catch(() => undefined);
  }
}

await runAsMain(import.meta.url, async (context) => {
  const config = loadConfig();
  context.logger = createLogger(config.log);
  writeFileSync(SCHEMA_DOC, await generateSchemaDoc(config, { logger: context.logger }));
  process.stdout.write(`wrote ${SCHEMA_DOC}\n`);
});
