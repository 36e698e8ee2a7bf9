/** Reads what the runner needs from the database: the tracking rows and, when untracked, an inventory. */
import type { Client } from '../lib/db.js';
import type { Inventory } from './adoption.js';
import type { AppliedRow } from './plan.js';
import { TRACKING_DDL, TRACKING_TABLE } from './tracking.js';

export async function trackingTableExists(client: Client): Promise<boolean> {
  const { rows } = await client.query<{ exists: boolean }>(
    `SELECT to_regclass('${TRACKING_TABLE}') IS NOT NULL AS exists`,
  );
  return rows[0]?.exists === true;
}

export async function ensureTrackingTable(client: Client): Promise<void> {
  await client.query(TRACKING_DDL);
}

export async function readAppliedRows(client: Client): Promise<AppliedRow[]> {
  const { rows } = await client.query<AppliedRow>(
    `SELECT version, name, checksum, applied_at AS "appliedAt", duration_ms AS "durationMs", applied_by AS "appliedBy"
       FROM ${TRACKING_TABLE} ORDER BY version`,
  );
  return rows;
}

/** Objects outside the system schemas and chatflow_db that no extension owns, and the legacy marker columns. */
export async function readInventory(client: Client): Promise<Inventory> {
  const { rows: objects } = await client.query<{ schema: string; name: string; kind: string }>(`
    WITH user_ns AS (
      SELECT oid, nspname FROM pg_namespace
       WHERE nspname NOT IN ('pg_catalog', 'information_schema', 'chatflow_db') AND nspname NOT LIKE 'pg\\_%'
    ), extension_member AS (
      SELECT classid, objid FROM pg_depend WHERE deptype = 'e'
    )
    SELECT n.nspname AS schema, c.relname AS name,
           CASE c.relkind WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' WHEN 'S' THEN 'sequence'
                          WHEN 'f' THEN 'foreign table' ELSE 'table' END AS kind
      FROM pg_class c JOIN user_ns n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
       AND (c.oid, 'pg_class'::regclass) NOT IN (SELECT objid, classid FROM extension_member)
    UNION ALL
    SELECT n.nspname, p.proname, 'function'
      FROM pg_proc p JOIN user_ns n ON n.oid = p.pronamespace
     WHERE (p.oid, 'pg_proc'::regclass) NOT IN (SELECT objid, classid FROM extension_member)
    UNION ALL
    SELECT n.nspname, t.typname, 'type'
      FROM pg_type t JOIN user_ns n ON n.oid = t.typnamespace
     WHERE t.typtype IN ('e', 'd', 'r') AND (t.oid, 'pg_type'::regclass) NOT IN (SELECT objid, classid FROM extension_member)
    UNION ALL
    SELECT n.nspname, n.nspname, 'schema'
      FROM user_ns n
     WHERE n.nspname <> 'public' AND (n.oid, 'pg_namespace'::regclass) NOT IN (SELECT objid, classid FROM extension_member)
     ORDER BY 1, 2`);
  const { rows: tables } = await client.query<{ table: string; columns: string[] }>(`
    SELECT c.relname AS table, array_agg(a.attname::text ORDER BY a.attnum) AS columns
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
     WHERE n.nspname = 'public' AND c.relname IN ('users', 'phone_numbers') AND c.relkind IN ('r', 'p')
     GROUP BY c.relname`);
  const columnsOf = (table: string) => tables.find((t) => t.table === table)?.columns;
  return {
    tracked: await trackingTableExists(client),
    objects,
    columns: { users: columnsOf('users'), phoneNumbers: columnsOf('phone_numbers') },
  };
}
