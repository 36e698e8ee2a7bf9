/**
 * SCHEMA.md's contract, checked on a fresh database (init-complete.sql) and on a legacy database after the
 * migration chain (which has rows in every table, so the cascades are exercised on real data).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminQuery, createDatabase, dropDatabase, withDb } from '../../helpers/database.js';
import { applyChain, applyInit, loadFixture } from '../../helpers/schema.js';

/** SCHEMA.md "Foreign keys", verbatim. */
const FOREIGN_KEYS = `
api_usage.phone_number_id -> phone_numbers CASCADE
api_usage.user_id -> users CASCADE
auto_reply_configs.user_id -> users CASCADE
auto_reply_logs.session_id -> auto_reply_sessions CASCADE
auto_reply_menus.config_id -> auto_reply_configs CASCADE
auto_reply_menus.parent_menu_id -> auto_reply_menus CASCADE
auto_reply_sessions.config_id -> auto_reply_configs CASCADE
auto_reply_sessions.current_menu_id -> auto_reply_menus SET NULL
auto_reply_sessions.phone_number_id -> phone_numbers CASCADE
broadcast_messages.broadcast_id -> broadcasts CASCADE
broadcast_messages.contact_id -> contacts CASCADE
broadcast_messages.user_id -> users CASCADE
broadcast_progress.broadcast_id -> broadcasts CASCADE
broadcast_recipients.broadcast_id -> broadcasts CASCADE
broadcast_recipients.contact_id -> contacts CASCADE
broadcast_templates.user_id -> users CASCADE
broadcasts.template_id -> broadcast_templates SET NULL
broadcasts.user_id -> users CASCADE
contact_categories.user_id -> users CASCADE
contact_category_relations.category_id -> contact_categories CASCADE
contact_category_relations.contact_id -> contacts CASCADE
contacts.user_id -> users CASCADE
external_whatsapp_providers.user_id -> users CASCADE
incoming_messages.phone_id -> phone_numbers CASCADE
message_templates.user_id -> users CASCADE
messages.phone_number_id -> phone_numbers CASCADE
messages.user_id -> users CASCADE
phone_numbers.user_id -> users CASCADE
rate_limits.user_id -> users CASCADE
scheduled_messages.phone_id -> phone_numbers CASCADE
scheduled_messages.user_id -> users CASCADE
webhook_events.phone_id -> phone_numbers CASCADE
webhook_events.phone_number_id -> phone_numbers CASCADE`
  .trim()
  .split('\n');

/** SCHEMA.md "Indexes": name, method and columns. */
const INDEXES = `
idx_api_usage_created_at btree (created_at); idx_api_usage_phone_number_id btree (phone_number_id); idx_api_usage_user_id btree (user_id);
idx_auto_reply_configs_active btree (is_active); idx_auto_reply_configs_phone_numbers gin (phone_numbers); idx_auto_reply_configs_user_id btree (user_id);
idx_auto_reply_logs_created btree (created_at); idx_auto_reply_logs_phone btree (phone_number); idx_auto_reply_logs_session_id btree (session_id);
idx_auto_reply_menus_config_id btree (config_id); idx_auto_reply_menus_parent_id btree (parent_menu_id);
idx_auto_reply_sessions_active btree (is_active); idx_auto_reply_sessions_config_id btree (config_id); idx_auto_reply_sessions_current_menu_id btree (current_menu_id);
idx_auto_reply_sessions_phone btree (phone_number); idx_auto_reply_sessions_phone_number_id btree (phone_number_id);
idx_broadcast_messages_broadcast_id btree (broadcast_id); idx_broadcast_messages_contact_id btree (contact_id); idx_broadcast_messages_status btree (status);
idx_broadcast_messages_user_id btree (user_id); idx_broadcast_progress_broadcast_id btree (broadcast_id); idx_broadcast_recipients_contact_id btree (contact_id);
idx_broadcast_templates_user_id btree (user_id); idx_broadcasts_status btree (status); idx_broadcasts_template_id btree (template_id); idx_broadcasts_user_id btree (user_id);
idx_contact_categories_user_id btree (user_id); idx_contact_relations_category_id btree (category_id); idx_contact_relations_contact_id btree (contact_id);
idx_contacts_categories gin (categories); idx_contacts_phone btree (phone); idx_contacts_user_id btree (user_id);
idx_incoming_messages_device_id btree (device_id); idx_incoming_messages_phone_id btree (phone_id); idx_incoming_messages_received_at btree (received_at);
idx_incoming_messages_sender_phone btree (sender_phone); idx_message_templates_user_id btree (user_id);
idx_messages_created_at btree (created_at); idx_messages_phone_number_id btree (phone_number_id); idx_messages_status btree (status); idx_messages_user_id btree (user_id);
idx_phone_numbers_token btree (token); idx_phone_numbers_user_id btree (user_id); idx_rate_limits_user_window btree (user_id, window_start);
idx_scheduled_messages_phone_id btree (phone_id); idx_scheduled_messages_scheduled_at btree (scheduled_at); idx_scheduled_messages_status btree (status);
idx_scheduled_messages_user_id btree (user_id); idx_users_api_key btree (api_key);
idx_webhook_events_phone_id btree (phone_id); idx_webhook_events_phone_number_id btree (phone_number_id); idx_webhook_events_status btree (status)`
  .split(';')
  .map((s) => s.trim())
  .sort();

const databases: string[] = [];
let fresh: string;
let migrated: string;

beforeAll(async () => {
  fresh = await createDatabase('cfdb_contract');
  databases.push(fresh);
  await applyInit(fresh);
  migrated = await createDatabase('cfdb_contract');
  databases.push(migrated);
  await loadFixture(migrated, 'legacy');
  await applyChain(migrated);
  await adminQuery('DROP INDEX idx_messages_to_number_report', [], migrated);
});
afterAll(async () => {
  for (const name of databases) await dropDatabase(name);
});

/** A disposable copy of `template` (CREATE DATABASE ... TEMPLATE), for tests that delete rows. */
async function copyOf(template: string): Promise<string> {
  const name = await createDatabase('cfdb_contract');
  databases.push(name);
  await adminQuery(`DROP DATABASE "${name}"`);
  await adminQuery(`CREATE DATABASE "${name}" TEMPLATE "${template}"`);
  return name;
}

async function rows<T>(database: string, sql: string): Promise<T[]> {
  return (await adminQuery<T & Record<string, unknown>>(sql, [], database)).rows;
}

describe.each([
  ['fresh', () => fresh],
  ['migrated legacy', () => migrated],
])('%s database', (_label, db) => {
  it('every timestamp column is timestamptz', async () => {
    const wrong = await rows<{ col: string }>(
      db(),
      `SELECT table_name || '.' || column_name AS col FROM information_schema.columns
       WHERE table_schema = 'public' AND data_type LIKE 'timestamp%' AND data_type <> 'timestamp with time zone'`,
    );
    expect(wrong).toEqual([]);
    const count = await rows<{ n: number }>(
      db(),
      `SELECT count(*)::int AS n FROM information_schema.columns
       WHERE table_schema = 'public' AND data_type = 'timestamp with time zone'`,
    );
    expect(count[0]?.n).toBeGreaterThan(40);
  });

  it('has exactly the foreign keys of SCHEMA.md, with their ON DELETE actions', async () => {
    const fks = await rows<{ fk: string }>(
      db(),
      `SELECT format('%s.%s -> %s %s', c.conrelid::regclass, a.attname, c.confrelid::regclass,
                     CASE c.confdeltype WHEN 'c' THEN 'CASCADE' WHEN 'n' THEN 'SET NULL' ELSE c.confdeltype::text END) AS fk
       FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
       WHERE c.contype = 'f' AND c.connamespace = 'public'::regnamespace ORDER BY 1`,
    );
    expect(fks.map((r) => r.fk)).toEqual(FOREIGN_KEYS);
  });

  it('indexes every foreign-key column', async () => {
    const unindexed = await rows<{ col: string }>(
      db(),
      `SELECT c.conrelid::regclass || '.' || a.attname AS col
       FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
       WHERE c.contype = 'f' AND c.connamespace = 'public'::regnamespace
         AND NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.conrelid AND i.indkey[0] = c.conkey[1])`,
    );
    expect(unindexed).toEqual([]);
  });

  it('has exactly the indexes of SCHEMA.md, GIN on the two array columns', async () => {
    const indexes = await rows<{ idx: string }>(
      db(),
      `SELECT c.relname || ' ' || substring(pg_get_indexdef(i.indexrelid) FROM 'USING (.*)$') AS idx
       FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
       WHERE c.relnamespace = 'public'::regnamespace
         AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid) ORDER BY 1`,
    );
    expect(indexes.map((r) => r.idx)).toEqual(INDEXES);
    expect(INDEXES.filter((i) => i.includes(' gin '))).toEqual([
      'idx_auto_reply_configs_phone_numbers gin (phone_numbers)',
      'idx_contacts_categories gin (categories)',
    ]);
  });

  it('has an updated_at trigger on every table with updated_at, and one shared function', async () => {
    const missing = await rows<{ t: string }>(
      db(),
      `SELECT table_name AS t FROM information_schema.columns
       WHERE table_schema = 'public' AND column_name = 'updated_at'
       EXCEPT
       SELECT c.relname FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid
       WHERE NOT g.tgisinternal AND g.tgname = 'update_' || c.relname || '_updated_at'
         AND g.tgfoid = 'public.update_updated_at_column()'::regprocedure`,
    );
    expect(missing).toEqual([]);
    const fn = await rows<{ src: string }>(
      db(),
      `SELECT prosrc AS src FROM pg_proc WHERE proname = 'update_updated_at_column'`,
    );
    expect(fn.map((r) => r.src.trim())).toEqual([
      'BEGIN\n    NEW.updated_at = now();\n    RETURN NEW;\nEND;',
    ]);
  });

  it('has uuid-ossp', async () => {
    const v4 = await rows<{ ok: boolean }>(db(), `SELECT uuid_generate_v4()::text ~ '^[0-9a-f-]{36}$' AS ok`);
    expect(v4).toEqual([{ ok: true }]);
  });
});

describe('behaviour on the migrated legacy data', () => {
  it('deleting a user removes their whole tree and nothing else', async () => {
    const db = await copyOf(migrated);
    await adminQuery(
      `INSERT INTO external_whatsapp_providers (user_id, name, provider_type, base_url)
       VALUES (1, 'evo', 'evolution-api', 'https://evo.example.com'), (2, 'wz', 'watzap', 'https://watzap.example.com')`,
      [],
      db,
    );
    await adminQuery('DELETE FROM users WHERE id = 1', [], db);
    const counts = await rows<{ t: string; n: number }>(
      db,
      `SELECT t, (xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM public.%I', t), false, true, '')))[1]::text::int AS n
       FROM unnest(ARRAY['users','phone_numbers','messages','message_templates','api_usage','rate_limits','webhook_events',
         'contacts','contact_categories','contact_category_relations','broadcast_templates','broadcasts',
         'broadcast_recipients','broadcast_messages','broadcast_progress','scheduled_messages','auto_reply_configs',
         'auto_reply_menus','auto_reply_sessions','auto_reply_logs','incoming_messages','external_whatsapp_providers']) AS t`,
    );
    // What the legacy fixture gives bob and carol (user 1 is alice).
    expect(Object.fromEntries(counts.map((r) => [r.t, r.n]))).toEqual({
      users: 2,
      phone_numbers: 1,
      messages: 1,
      message_templates: 1,
      api_usage: 1,
      rate_limits: 1,
      webhook_events: 1,
      contacts: 2,
      contact_categories: 1,
      contact_category_relations: 1,
      broadcast_templates: 1,
      broadcasts: 1,
      broadcast_recipients: 0,
      broadcast_messages: 1,
      broadcast_progress: 1,
      scheduled_messages: 1,
      auto_reply_configs: 1,
      auto_reply_menus: 0,
      auto_reply_sessions: 0,
      auto_reply_logs: 0,
      incoming_messages: 1,
      external_whatsapp_providers: 1,
    });
  });

  it('deleting a broadcast template or a menu keeps the rows that pointed at it (SET NULL)', async () => {
    const db = await copyOf(migrated);
    await adminQuery('DELETE FROM broadcast_templates WHERE id = 2', [], db);
    expect(await rows(db, 'SELECT id, template_id FROM broadcasts ORDER BY id')).toEqual([
      { id: 1, template_id: 1 },
      { id: 2, template_id: null },
    ]);
    await adminQuery('DELETE FROM auto_reply_menus WHERE id = 3', [], db);
    expect(await rows(db, 'SELECT id, current_menu_id FROM auto_reply_sessions ORDER BY id')).toEqual([
      { id: 1, current_menu_id: null },
      { id: 2, current_menu_id: null },
    ]);
  });

  it('every table with updated_at sets it on UPDATE', async () => {
    const db = await copyOf(migrated);
    await adminQuery(
      `INSERT INTO external_whatsapp_providers (user_id, name, provider_type, base_url, updated_at)
       VALUES (2, 'custom', 'custom', 'https://x.example.com', '2001-01-01')`,
      [],
      db,
    );
    const tables = await rows<{ t: string }>(
      db,
      `SELECT table_name AS t FROM information_schema.columns
       WHERE table_schema = 'public' AND column_name = 'updated_at' ORDER BY 1`,
    );
    expect(tables).toHaveLength(14);
    await withDb(db, async (client) => {
      for (const { t } of tables) {
        const { rows: touched } = await client.query<{ fresh: boolean }>(
          `UPDATE public."${t}" SET updated_at = '2000-01-01' WHERE id = (SELECT min(id) FROM public."${t}")
           RETURNING updated_at = now() AS fresh`,
        );
        expect({ t, touched }).toEqual({ t, touched: [{ fresh: true }] });
      }
    });
  });
});
