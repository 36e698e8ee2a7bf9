/**
 * How to compare what schema files build: a normalised, line-per-property description of the `public`
 * schema read from the catalogs. Two databases with the same fingerprint have the same tables,
 * columns (in order), types, defaults, NOT NULLs, constraints (with ON DELETE actions), indexes,
 * sequences, triggers, functions and extensions. The migration tracking schema (chatflow_db) is not part
 * of it; nor are owners and privileges, which the `roles` command manages.
 */
import type pg from 'pg';
import { withTransaction } from '../lib/db.js';

/** Each catalog query yields lines; `search_path = pg_catalog` makes every public name print qualified. */
const SECTIONS: readonly { title: string; sql: string }[] = [
  {
    title: 'extensions',
    sql: `SELECT format('extension %s in %s', e.extname, n.nspname)
          FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace ORDER BY 1`,
  },
  {
    title: 'columns',
    // The position counts live columns only, so a dropped column in a legacy table does not show.
    sql: `SELECT format('%s.%s #%s %s%s%s%s', c.relname, a.attname,
                        row_number() OVER (PARTITION BY c.oid ORDER BY a.attnum),
                        format_type(a.atttypid, a.atttypmod),
                        CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END,
                        coalesce(' DEFAULT ' || pg_get_expr(d.adbin, d.adrelid), ''),
                        CASE WHEN a.attcollation <> 0 AND a.attcollation <> t.typcollation
                             THEN ' COLLATE ' || a.attcollation::regcollation::text ELSE '' END
                        || CASE WHEN a.attidentity <> '' THEN ' IDENTITY ' || a.attidentity::text ELSE '' END
                        || CASE WHEN a.attgenerated <> '' THEN ' GENERATED' ELSE '' END)
          FROM pg_attribute a
          JOIN pg_class c ON c.oid = a.attrelid
          JOIN pg_type t ON t.oid = a.atttypid
          LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
          WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
            AND a.attnum > 0 AND NOT a.attisdropped
          ORDER BY c.relname, a.attnum`,
  },
  {
    title: 'relations',
    sql: `SELECT format('%s %s%s', c.relname, c.relkind::text,
                        CASE WHEN c.relkind IN ('v', 'm') THEN ' ' || pg_get_viewdef(c.oid) ELSE '' END)
          FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
          ORDER BY 1`,
  },
  {
    title: 'constraints',
    sql: `SELECT format('%s %s %s%s', c.relname, k.conname, pg_get_constraintdef(k.oid),
                        CASE WHEN k.convalidated THEN '' ELSE ' (not validated)' END)
          FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
          WHERE c.relnamespace = 'public'::regnamespace ORDER BY c.relname, k.conname`,
  },
  {
    title: 'indexes',
    sql: `SELECT pg_get_indexdef(i.indexrelid) || CASE WHEN i.indisvalid THEN '' ELSE ' (invalid)' END
          FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
          WHERE c.relnamespace = 'public'::regnamespace ORDER BY c.relname`,
  },
  {
    title: 'sequences',
    sql: `SELECT format('%s %s start %s increment %s min %s max %s cache %s%s owned by %s', c.relname,
                        format_type(s.seqtypid, NULL), s.seqstart, s.seqincrement, s.seqmin, s.seqmax, s.seqcache,
                        CASE WHEN s.seqcycle THEN ' cycle' ELSE '' END,
                        coalesce((SELECT t.relname || '.' || a.attname FROM pg_depend dp
                                  JOIN pg_class t ON t.oid = dp.refobjid
                                  JOIN pg_attribute a ON a.attrelid = dp.refobjid AND a.attnum = dp.refobjsubid
                                  WHERE dp.classid = 'pg_class'::regclass AND dp.objid = c.oid
                                    AND dp.deptype IN ('a', 'i')), 'nothing'))
          FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid
          WHERE c.relnamespace = 'public'::regnamespace ORDER BY c.relname`,
  },
  {
    title: 'triggers',
    sql: `SELECT pg_get_triggerdef(g.oid) || ' [enabled ' || g.tgenabled::text || ']'
          FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid
          WHERE c.relnamespace = 'public'::regnamespace AND NOT g.tgisinternal ORDER BY c.relname, g.tgname`,
  },
  {
    // Functions that belong to an extension are covered by the extension's line.
    title: 'functions',
    sql: `SELECT pg_get_functiondef(p.oid)
          FROM pg_proc p
          WHERE p.pronamespace = 'public'::regnamespace
            AND NOT EXISTS (SELECT 1 FROM pg_depend dp WHERE dp.classid = 'pg_proc'::regclass
                            AND dp.objid = p.oid AND dp.deptype = 'e')
          ORDER BY p.proname, pg_get_function_identity_arguments(p.oid)`,
  },
  {
    title: 'types',
    sql: `SELECT format('%s %s', t.typname, t.typtype)
          FROM pg_type t
          WHERE t.typnamespace = 'public'::regnamespace AND t.typtype IN ('e', 'd', 'c')
            AND NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = t.typrelid AND c.relkind <> 'c')
            AND NOT EXISTS (SELECT 1 FROM pg_depend dp WHERE dp.classid = 'pg_type'::regclass
                            AND dp.objid = t.oid AND dp.deptype = 'e')
          ORDER BY 1`,
  },
];

/** The fingerprint of the `public` schema that `client` is connected to: one line per property. */
export async function fingerprintSchema(client: pg.Client): Promise<string> {
  const lines: string[] = [];
  await withTransaction(
    client,
    async () => {
      await client.query('SET LOCAL search_path = pg_catalog');
      for (const section of SECTIONS) {
        lines.push(`-- ${section.title}`);
        const result = await client.query<[string]>({ text: section.sql, rowMode: 'array' });
        for (const [line] of result.rows) lines.push(line.trimEnd());
      }
    },
    'BEGIN READ ONLY',
  );
  return `${lines.join('\n')}\n`;
}

/** The first line where two fingerprints differ, with its neighbours, or undefined when they are equal. */
export function firstDifference(
  expected: string,
  actual: string,
  labels = ['expected', 'actual'],
): string | undefined {
  if (expected === actual) return undefined;
  const a = expected.split('\n');
  const b = actual.split('\n');
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  const section = [...a.slice(0, i)].reverse().find((line) => line.startsWith('-- ')) ?? '';
  return [
    `first difference at line ${i + 1} ${section ? `(${section.slice(3)})` : ''}`.trimEnd(),
    `  ${labels[0]}: ${a[i] ?? '<end>'}`,
    `  ${labels[1]}: ${b[i] ?? '<end>'}`,
  ].join('\n');
}
