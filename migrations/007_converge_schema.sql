-- ChatFlow 007: converges any ChatFlow database onto SCHEMA.md, whatever it started from.
-- Legacy databases grew by hand (SCHEMA.md "Legacy databases"), so nothing is assumed: every column's type,
-- default and NOT NULL, every primary key, unique, check and foreign key (with its ON DELETE action),
-- every listed index and every updated_at trigger is compared with the target below and set explicitly.
-- timestamp without time zone becomes timestamptz reading the stored values as UTC.
-- No type change alters or drops a stored value: a column that a deployment made wider than the target
-- (a longer varchar, text, numeric of more digits, bigint) keeps its type and is named in a NOTICE; any other
-- type change is checked against the rows first and stops the migration if a value would change.
-- Before changing anything, every constraint that is about to be added is checked against the rows; if any
-- row blocks one, the migration stops with the list (table.column or constraint, and the number of rows)
-- and nothing is changed: no row is ever deleted to make a constraint fit.
-- Indexes, constraints and triggers that are not part of the schema are left in place and named in a NOTICE.
-- On a database that already matches it changes nothing, so it is safe to run again.
-- psql -f runs it as one transaction.

BEGIN;

CREATE EXTENSION IF NOT EXISTS "uuid-ossp" WITH SCHEMA public;

-- Re-issued so that a legacy body (NOW()) becomes the same text as on a fresh database.
CREATE OR REPLACE FUNCTION public.update_updated_at_column()
RETURNS trigger
LANGUAGE plpgsql
AS $function$
BEGIN
    NEW.updated_at = now();
    RETURN NEW;
END;
$function$;

-- The target, as PostgreSQL prints it back (format_type, pg_get_expr, pg_get_constraintdef, pg_get_indexdef).
-- Every column except the serial id: table, column, type, NOT NULL, default.
CREATE TEMP TABLE chatflow_columns (
    table_name text, column_name text, type text, not_null boolean, default_expr text
) ON COMMIT DROP;
INSERT INTO chatflow_columns VALUES
    ('users', 'username', 'character varying(50)', true, NULL),
    ('users', 'email', 'character varying(100)', true, NULL),
    ('users', 'password_hash', 'character varying(255)', true, NULL),
    ('users', 'api_key', 'character varying(255)', true, NULL),
    ('users', 'jwt_secret', 'character varying(255)', true, NULL),
    ('users', 'is_active', 'boolean', false, 'true'),
    ('users', 'created_at', 'timestamp with time zone', false, 'now()'),
    ('users', 'updated_at', 'timestamp with time zone', false, 'now()'),
    ('phone_numbers', 'user_id', 'integer', false, NULL),
    ('phone_numbers', 'phone_number', 'character varying(20)', true, NULL),
    ('phone_numbers', 'device_name', 'character varying(100)', false, NULL),
    ('phone_numbers', 'token', 'character varying(255)', true, NULL),
    ('phone_numbers', 'webhook_url', 'character varying(500)', false, NULL),
    ('phone_numbers', 'webhook_secret', 'character varying(255)', false, NULL),
    ('phone_numbers', 'is_connected', 'boolean', false, 'false'),
    ('phone_numbers', 'last_seen', 'timestamp with time zone', false, NULL),
    ('phone_numbers', 'qr_code', 'text', false, NULL),
    ('phone_numbers', 'session_data', 'jsonb', false, NULL),
    ('phone_numbers', 'auto_reply', 'text', false, NULL),
    ('phone_numbers', 'auto_mark_read', 'boolean', false, 'false'),
    ('phone_numbers', 'auto_download_media', 'boolean', false, 'true'),
    ('phone_numbers', 'created_at', 'timestamp with time zone', false, 'now()'),
    ('phone_numbers', 'updated_at', 'timestamp with time zone', false, 'now()'),
    ('phone_numbers', 'evolution_instance', 'character varying(255)', false, NULL),
    ('messages', 'phone_number_id', 'integer', false, NULL),
    ('messages', 'message_id', 'character varying(100)', true, NULL),
    ('messages', 'from_number', 'character varying(20)', false, NULL),
    ('messages', 'to_number', 'character varying(20)', true, NULL),
    ('messages', 'message_type', 'character varying(20)', true, NULL),
    ('messages', 'content', 'text', false, NULL),
    ('messages', 'media_url', 'character varying(500)', false, NULL),
    ('messages', 'media_type', 'character varying(50)', false, NULL),
    ('messages', 'status', 'character varying(20)', false, '''pending''::character varying'),
    ('messages', 'webhook_sent', 'boolean', false, 'false'),
    ('messages', 'created_at', 'timestamp with time zone', false, 'now()'),
    ('messages', 'updated_at', 'timestamp with time zone', false, 'now()'),
    ('messages', 'user_id', 'integer', false, NULL),
    ('messages', 'direction', 'character varying(10)', false, NULL),
    ('messages', 'provider', 'character varying(50)', false, NULL),
    ('messages', 'external_message_id', 'character varying(255)', false, NULL),
    ('message_templates', 'user_id', 'integer', true, NULL),
    ('message_templates', 'name', 'character varying(100)', true, NULL),
    ('message_templates', 'content', 'text', true, NULL),
    ('message_templates', 'category', 'character varying(50)', false, '''general''::character varying'),
    ('message_templates', 'variables', 'jsonb', false, '''[]''::jsonb'),
    ('message_templates', 'is_active', 'boolean', false, 'true'),
    ('message_templates', 'created_at', 'timestamp with time zone', false, 'now()'),
    ('message_templates', 'updated_at', 'timestamp with time zone', false, 'now()'),
    ('api_usage', 'user_id', 'integer', false, NULL),
    ('api_usage', 'phone_number_id', 'integer', false, NULL),
    ('api_usage', 'endpoint', 'character varying(100)', true, NULL),
    ('api_usage', 'method', 'character varying(10)', true, NULL),
    ('api_usage', 'status_code', 'integer', true, NULL),
    ('api_usage', 'response_time', 'integer', false, NULL),
    ('api_usage', 'created_at', 'timestamp with time zone', false, 'now()'),
    ('rate_limits', 'user_id', 'integer', false, NULL),
    ('rate_limits', 'window_start', 'timestamp with time zone', true, NULL),
    ('rate_limits', 'request_count', 'integer', false, '0'),
    ('rate_limits', 'limit_per_hour', 'integer', false, '1000'),
    ('rate_limits', 'created_at', 'timestamp with time zone', false, 'now()'),
    ('webhook_events', 'phone_number_id', 'integer', false, NULL),
    ('webhook_events', 'event_type', 'character varying(50)', true, NULL),
    ('webhook_events', 'payload', 'jsonb', true, NULL),
    ('webhook_events', 'retry_count', 'integer', false, '0'),
    ('webhook_events', 'status', 'character varying(20)', false, '''pending''::character varying'),
    ('webhook_events', 'sent_at', 'timestamp with time zone', false, NULL),
    ('webhook_events', 'created_at', 'timestamp with time zone', false, 'now()'),
    ('webhook_events', 'phone_id', 'integer', false, NULL),
    ('webhook_events', 'updated_at', 'timestamp with time zone', false, 'now()'),
    ('contacts', 'user_id', 'integer', false, NULL),
    ('contacts', 'name', 'character varying(255)', true, NULL),
    ('contacts', 'phone', 'character varying(20)', true, NULL),
    ('contacts', 'email', 'character varying(255)', false, NULL),
    ('contacts', 'company', 'character varying(255)', false, NULL),
    ('contacts', 'address', 'text', false, NULL),
    ('contacts', 'notes', 'text', false, NULL),
    ('contacts', 'created_at', 'timestamp with time zone', false, 'now()'),
    ('contacts', 'updated_at', 'timestamp with time zone', false, 'now()'),
    ('contacts', 'categories', 'text[]', false, '''{}''::text[]'),
    ('contact_categories', 'user_id', 'integer', false, NULL),
    ('contact_categories', 'name', 'character varying(100)', true, NULL),
    ('contact_categories', 'description', 'text', false, NULL),
    ('contact_categories', 'color', 'character varying(7)', false, '''#1976d2''::character varying'),
    ('contact_categories', 'created_at', 'timestamp with time zone', false, 'now()'),
    ('contact_categories', 'updated_at', 'timestamp with time zone', false, 'now()'),
    ('contact_category_relations', 'contact_id', 'integer', false, NULL),
    ('contact_category_relations', 'category_id', 'integer', false, NULL),
    ('contact_category_relations', 'created_at', 'timestamp with time zone', false, 'now()'),
    ('broadcast_templates', 'user_id', 'integer', false, NULL),
    ('broadcast_templates', 'name', 'character varying(255)', true, NULL),
    ('broadcast_templates', 'description', 'text', false, NULL),
    ('broadcast_templates', 'message', 'text', true, NULL),
    ('broadcast_templates', 'variables', 'jsonb', false, NULL),
    ('broadcast_templates', 'created_at', 'timestamp with time zone', false, 'now()'),
    ('broadcast_templates', 'updated_at', 'timestamp with time zone', false, 'now()'),
    ('broadcasts', 'user_id', 'integer', false, NULL),
    ('broadcasts', 'name', 'character varying(255)', true, NULL),
    ('broadcasts', 'description', 'text', false, NULL),
    ('broadcasts', 'message', 'text', true, NULL),
    ('broadcasts', 'template_id', 'integer', false, NULL),
    ('broadcasts', 'contact_filter', 'jsonb', false, NULL),
    ('broadcasts', 'status', 'character varying(50)', false, '''draft''::character varying'),
    ('broadcasts', 'total_contacts', 'integer', false, '0'),
    ('broadcasts', 'sent_count', 'integer', false, '0'),
    ('broadcasts', 'failed_count', 'integer', false, '0'),
    ('broadcasts', 'scheduled_at', 'timestamp with time zone', false, NULL),
    ('broadcasts', 'started_at', 'timestamp with time zone', false, NULL),
    ('broadcasts', 'completed_at', 'timestamp with time zone', false, NULL),
    ('broadcasts', 'created_at', 'timestamp with time zone', false, 'now()'),
    ('broadcasts', 'updated_at', 'timestamp with time zone', false, 'now()'),
    ('broadcast_recipients', 'broadcast_id', 'integer', false, NULL),
    ('broadcast_recipients', 'contact_id', 'integer', false, NULL),
    ('broadcast_recipients', 'status', 'character varying(20)', false, '''pending''::character varying'),
    ('broadcast_recipients', 'sent_at', 'timestamp with time zone', false, NULL),
    ('broadcast_recipients', 'failed_at', 'timestamp with time zone', false, NULL),
    ('broadcast_recipients', 'message_id', 'text', false, NULL),
    ('broadcast_recipients', 'error_message', 'text', false, NULL),
    ('broadcast_recipients', 'created_at', 'timestamp with time zone', false, 'now()'),
    ('broadcast_recipients', 'updated_at', 'timestamp with time zone', false, 'now()'),
    ('broadcast_messages', 'broadcast_id', 'integer', false, NULL),
    ('broadcast_messages', 'contact_id', 'integer', false, NULL),
    ('broadcast_messages', 'phone', 'character varying(20)', true, NULL),
    ('broadcast_messages', 'message', 'text', true, NULL),
    ('broadcast_messages', 'status', 'character varying(50)', false, '''pending''::character varying'),
    ('broadcast_messages', 'sent_at', 'timestamp with time zone', false, NULL),
    ('broadcast_messages', 'error_message', 'text', false, NULL),
    ('broadcast_messages', 'created_at', 'timestamp with time zone', false, 'now()'),
    ('broadcast_messages', 'user_id', 'integer', false, NULL),
    ('broadcast_progress', 'broadcast_id', 'integer', false, NULL),
    ('broadcast_progress', 'total_contacts', 'integer', false, '0'),
    ('broadcast_progress', 'processed_contacts', 'integer', false, '0'),
    ('broadcast_progress', 'sent_messages', 'integer', false, '0'),
    ('broadcast_progress', 'failed_messages', 'integer', false, '0'),
    ('broadcast_progress', 'progress_percentage', 'numeric(5,2)', false, '0'),
    ('broadcast_progress', 'estimated_completion', 'timestamp with time zone', false, NULL),
    ('broadcast_progress', 'last_updated', 'timestamp with time zone', false, 'now()'),
    ('scheduled_messages', 'user_id', 'integer', false, NULL),
    ('scheduled_messages', 'phone_id', 'integer', false, NULL),
    ('scheduled_messages', 'recipient', 'character varying(50)', false, NULL),
    ('scheduled_messages', 'message', 'text', false, NULL),
    ('scheduled_messages', 'scheduled_at', 'timestamp with time zone', true, NULL),
    ('scheduled_messages', 'status', 'character varying(20)', false, '''pending''::character varying'),
    ('scheduled_messages', 'sent_at', 'timestamp with time zone', false, NULL),
    ('scheduled_messages', 'error_message', 'text', false, NULL),
    ('scheduled_messages', 'created_at', 'timestamp with time zone', false, 'now()'),
    ('scheduled_messages', 'updated_at', 'timestamp with time zone', false, 'now()'),
    ('scheduled_messages', 'to_number', 'character varying(50)', false, NULL),
    ('scheduled_messages', 'content', 'text', false, NULL),
    ('scheduled_messages', 'message_type', 'character varying(20)', false, NULL),
    ('scheduled_messages', 'media_url', 'character varying(500)', false, NULL),
    ('auto_reply_configs', 'user_id', 'integer', false, NULL),
    ('auto_reply_configs', 'name', 'character varying(100)', true, NULL),
    ('auto_reply_configs', 'trigger_keywords', 'text[]', true, NULL),
    ('auto_reply_configs', 'welcome_message', 'text', true, NULL),
    ('auto_reply_configs', 'is_active', 'boolean', false, 'true'),
    ('auto_reply_configs', 'created_at', 'timestamp with time zone', false, 'now()'),
    ('auto_reply_configs', 'updated_at', 'timestamp with time zone', false, 'now()'),
    ('auto_reply_configs', 'phone_numbers', 'integer[]', false, '''{}''::integer[]'),
    ('auto_reply_menus', 'config_id', 'integer', false, NULL),
    ('auto_reply_menus', 'menu_key', 'character varying(10)', true, NULL),
    ('auto_reply_menus', 'menu_text', 'text', true, NULL),
    ('auto_reply_menus', 'response_text', 'text', true, NULL),
    ('auto_reply_menus', 'parent_menu_id', 'integer', false, NULL),
    ('auto_reply_menus', 'is_active', 'boolean', false, 'true'),
    ('auto_reply_menus', 'order_index', 'integer', false, '0'),
    ('auto_reply_menus', 'created_at', 'timestamp with time zone', false, 'now()'),
    ('auto_reply_sessions', 'phone_number', 'character varying(20)', true, NULL),
    ('auto_reply_sessions', 'config_id', 'integer', false, NULL),
    ('auto_reply_sessions', 'current_menu_id', 'integer', false, NULL),
    ('auto_reply_sessions', 'session_data', 'jsonb', false, '''{}''::jsonb'),
    ('auto_reply_sessions', 'last_interaction', 'timestamp with time zone', false, 'now()'),
    ('auto_reply_sessions', 'is_active', 'boolean', false, 'true'),
    ('auto_reply_sessions', 'created_at', 'timestamp with time zone', false, 'now()'),
    ('auto_reply_sessions', 'phone_number_id', 'integer', false, NULL),
    ('auto_reply_logs', 'phone_number', 'character varying(20)', true, NULL),
    ('auto_reply_logs', 'incoming_message', 'text', true, NULL),
    ('auto_reply_logs', 'outgoing_message', 'text', true, NULL),
    ('auto_reply_logs', 'menu_path', 'character varying(100)', false, NULL),
    ('auto_reply_logs', 'response_time', 'integer', false, NULL),
    ('auto_reply_logs', 'session_id', 'integer', false, NULL),
    ('auto_reply_logs', 'created_at', 'timestamp with time zone', false, 'now()'),
    ('incoming_messages', 'message_id', 'character varying(100)', true, NULL),
    ('incoming_messages', 'phone_id', 'integer', false, NULL),
    ('incoming_messages', 'device_id', 'character varying(100)', false, NULL),
    ('incoming_messages', 'sender_phone', 'character varying(20)', true, NULL),
    ('incoming_messages', 'sender_name', 'character varying(100)', false, NULL),
    ('incoming_messages', 'message_type', 'character varying(20)', false, '''text''::character varying'),
    ('incoming_messages', 'message_content', 'text', false, NULL),
    ('incoming_messages', 'is_group', 'boolean', false, 'false'),
    ('incoming_messages', 'group_id', 'character varying(100)', false, NULL),
    ('incoming_messages', 'raw_payload', 'jsonb', false, NULL),
    ('incoming_messages', 'received_at', 'timestamp with time zone', false, 'now()'),
    ('incoming_messages', 'updated_at', 'timestamp with time zone', false, 'now()'),
    ('incoming_messages', 'is_revoked', 'boolean', false, 'false'),
    ('external_whatsapp_providers', 'user_id', 'integer', false, NULL),
    ('external_whatsapp_providers', 'name', 'character varying(100)', true, NULL),
    ('external_whatsapp_providers', 'provider_type', 'character varying(50)', true, NULL),
    ('external_whatsapp_providers', 'base_url', 'character varying(500)', true, NULL),
    ('external_whatsapp_providers', 'api_key', 'character varying(255)', false, NULL),
    ('external_whatsapp_providers', 'webhook_secret', 'character varying(255)', false, NULL),
    ('external_whatsapp_providers', 'config', 'jsonb', false, '''{}''::jsonb'),
    ('external_whatsapp_providers', 'is_active', 'boolean', false, 'true'),
    ('external_whatsapp_providers', 'created_at', 'timestamp with time zone', false, 'now()'),
    ('external_whatsapp_providers', 'updated_at', 'timestamp with time zone', false, 'now()');

-- Every foreign key: table, column, referenced table (its id), ON DELETE action.
CREATE TEMP TABLE chatflow_foreign_keys (
    table_name text, column_name text, ref_table text, on_delete text
) ON COMMIT DROP;
INSERT INTO chatflow_foreign_keys VALUES
    ('api_usage', 'phone_number_id', 'phone_numbers', 'CASCADE'),
    ('api_usage', 'user_id', 'users', 'CASCADE'),
    ('auto_reply_configs', 'user_id', 'users', 'CASCADE'),
    ('auto_reply_logs', 'session_id', 'auto_reply_sessions', 'CASCADE'),
    ('auto_reply_menus', 'config_id', 'auto_reply_configs', 'CASCADE'),
    ('auto_reply_menus', 'parent_menu_id', 'auto_reply_menus', 'CASCADE'),
    ('auto_reply_sessions', 'config_id', 'auto_reply_configs', 'CASCADE'),
    ('auto_reply_sessions', 'current_menu_id', 'auto_reply_menus', 'SET NULL'),
    ('auto_reply_sessions', 'phone_number_id', 'phone_numbers', 'CASCADE'),
    ('broadcast_messages', 'broadcast_id', 'broadcasts', 'CASCADE'),
    ('broadcast_messages', 'contact_id', 'contacts', 'CASCADE'),
    ('broadcast_messages', 'user_id', 'users', 'CASCADE'),
    ('broadcast_progress', 'broadcast_id', 'broadcasts', 'CASCADE'),
    ('broadcast_recipients', 'broadcast_id', 'broadcasts', 'CASCADE'),
    ('broadcast_recipients', 'contact_id', 'contacts', 'CASCADE'),
    ('broadcast_templates', 'user_id', 'users', 'CASCADE'),
    ('broadcasts', 'template_id', 'broadcast_templates', 'SET NULL'),
    ('broadcasts', 'user_id', 'users', 'CASCADE'),
    ('contact_categories', 'user_id', 'users', 'CASCADE'),
    ('contact_category_relations', 'category_id', 'contact_categories', 'CASCADE'),
    ('contact_category_relations', 'contact_id', 'contacts', 'CASCADE'),
    ('contacts', 'user_id', 'users', 'CASCADE'),
    ('external_whatsapp_providers', 'user_id', 'users', 'CASCADE'),
    ('incoming_messages', 'phone_id', 'phone_numbers', 'CASCADE'),
    ('message_templates', 'user_id', 'users', 'CASCADE'),
    ('messages', 'phone_number_id', 'phone_numbers', 'CASCADE'),
    ('messages', 'user_id', 'users', 'CASCADE'),
    ('phone_numbers', 'user_id', 'users', 'CASCADE'),
    ('rate_limits', 'user_id', 'users', 'CASCADE'),
    ('scheduled_messages', 'phone_id', 'phone_numbers', 'CASCADE'),
    ('scheduled_messages', 'user_id', 'users', 'CASCADE'),
    ('webhook_events', 'phone_id', 'phone_numbers', 'CASCADE'),
    ('webhook_events', 'phone_number_id', 'phone_numbers', 'CASCADE');

-- Every unique and check constraint: table, name, definition.
CREATE TEMP TABLE chatflow_constraints (table_name text, name text, definition text) ON COMMIT DROP;
INSERT INTO chatflow_constraints VALUES
    ('broadcast_recipients', 'broadcast_recipients_broadcast_id_contact_id_key', 'UNIQUE (broadcast_id, contact_id)'),
    ('contact_categories', 'contact_categories_user_id_name_key', 'UNIQUE (user_id, name)'),
    ('contact_category_relations', 'contact_category_relations_contact_id_category_id_key', 'UNIQUE (contact_id, category_id)'),
    ('contacts', 'contacts_user_id_phone_key', 'UNIQUE (user_id, phone)'),
    ('external_whatsapp_providers', 'external_whatsapp_providers_provider_type_check', 'CHECK (((provider_type)::text = ANY ((ARRAY[''go-whatsapp-web-multidevice''::character varying, ''evolution-api''::character varying, ''watzap''::character varying, ''custom''::character varying])::text[])))'),
    ('external_whatsapp_providers', 'external_whatsapp_providers_user_id_name_key', 'UNIQUE (user_id, name)'),
    ('incoming_messages', 'incoming_messages_message_id_key', 'UNIQUE (message_id)'),
    ('phone_numbers', 'phone_numbers_token_key', 'UNIQUE (token)'),
    ('phone_numbers', 'phone_numbers_user_id_phone_number_key', 'UNIQUE (user_id, phone_number)'),
    ('rate_limits', 'rate_limits_user_id_window_start_key', 'UNIQUE (user_id, window_start)'),
    ('scheduled_messages', 'scheduled_messages_check', 'CHECK ((((recipient IS NOT NULL) OR (to_number IS NOT NULL)) AND ((message IS NOT NULL) OR (content IS NOT NULL))))'),
    ('users', 'users_api_key_key', 'UNIQUE (api_key)'),
    ('users', 'users_email_key', 'UNIQUE (email)'),
    ('users', 'users_username_key', 'UNIQUE (username)');

-- Every index beside those behind primary keys and unique constraints: table, name, definition.
CREATE TEMP TABLE chatflow_indexes (table_name text, name text, definition text) ON COMMIT DROP;
INSERT INTO chatflow_indexes VALUES
    ('api_usage', 'idx_api_usage_created_at', 'USING btree (created_at)'),
    ('api_usage', 'idx_api_usage_phone_number_id', 'USING btree (phone_number_id)'),
    ('api_usage', 'idx_api_usage_user_id', 'USING btree (user_id)'),
    ('auto_reply_configs', 'idx_auto_reply_configs_active', 'USING btree (is_active)'),
    ('auto_reply_configs', 'idx_auto_reply_configs_phone_numbers', 'USING gin (phone_numbers)'),
    ('auto_reply_configs', 'idx_auto_reply_configs_user_id', 'USING btree (user_id)'),
    ('auto_reply_logs', 'idx_auto_reply_logs_created', 'USING btree (created_at)'),
    ('auto_reply_logs', 'idx_auto_reply_logs_phone', 'USING btree (phone_number)'),
    ('auto_reply_logs', 'idx_auto_reply_logs_session_id', 'USING btree (session_id)'),
    ('auto_reply_menus', 'idx_auto_reply_menus_config_id', 'USING btree (config_id)'),
    ('auto_reply_menus', 'idx_auto_reply_menus_parent_id', 'USING btree (parent_menu_id)'),
    ('auto_reply_sessions', 'idx_auto_reply_sessions_active', 'USING btree (is_active)'),
    ('auto_reply_sessions', 'idx_auto_reply_sessions_config_id', 'USING btree (config_id)'),
    ('auto_reply_sessions', 'idx_auto_reply_sessions_current_menu_id', 'USING btree (current_menu_id)'),
    ('auto_reply_sessions', 'idx_auto_reply_sessions_phone', 'USING btree (phone_number)'),
    ('auto_reply_sessions', 'idx_auto_reply_sessions_phone_number_id', 'USING btree (phone_number_id)'),
    ('broadcast_messages', 'idx_broadcast_messages_broadcast_id', 'USING btree (broadcast_id)'),
    ('broadcast_messages', 'idx_broadcast_messages_contact_id', 'USING btree (contact_id)'),
    ('broadcast_messages', 'idx_broadcast_messages_status', 'USING btree (status)'),
    ('broadcast_messages', 'idx_broadcast_messages_user_id', 'USING btree (user_id)'),
    ('broadcast_progress', 'idx_broadcast_progress_broadcast_id', 'USING btree (broadcast_id)'),
    ('broadcast_recipients', 'idx_broadcast_recipients_contact_id', 'USING btree (contact_id)'),
    ('broadcast_templates', 'idx_broadcast_templates_user_id', 'USING btree (user_id)'),
    ('broadcasts', 'idx_broadcasts_status', 'USING btree (status)'),
    ('broadcasts', 'idx_broadcasts_template_id', 'USING btree (template_id)'),
    ('broadcasts', 'idx_broadcasts_user_id', 'USING btree (user_id)'),
    ('contact_categories', 'idx_contact_categories_user_id', 'USING btree (user_id)'),
    ('contact_category_relations', 'idx_contact_relations_category_id', 'USING btree (category_id)'),
    ('contact_category_relations', 'idx_contact_relations_contact_id', 'USING btree (contact_id)'),
    ('contacts', 'idx_contacts_categories', 'USING gin (categories)'),
    ('contacts', 'idx_contacts_phone', 'USING btree (phone)'),
    ('contacts', 'idx_contacts_user_id', 'USING btree (user_id)'),
    ('incoming_messages', 'idx_incoming_messages_device_id', 'USING btree (device_id)'),
    ('incoming_messages', 'idx_incoming_messages_phone_id', 'USING btree (phone_id)'),
    ('incoming_messages', 'idx_incoming_messages_received_at', 'USING btree (received_at)'),
    ('incoming_messages', 'idx_incoming_messages_sender_phone', 'USING btree (sender_phone)'),
    ('message_templates', 'idx_message_templates_user_id', 'USING btree (user_id)'),
    ('messages', 'idx_messages_created_at', 'USING btree (created_at)'),
    ('messages', 'idx_messages_phone_number_id', 'USING btree (phone_number_id)'),
    ('messages', 'idx_messages_status', 'USING btree (status)'),
    ('messages', 'idx_messages_user_id', 'USING btree (user_id)'),
    ('phone_numbers', 'idx_phone_numbers_token', 'USING btree (token)'),
    ('phone_numbers', 'idx_phone_numbers_user_id', 'USING btree (user_id)'),
    ('rate_limits', 'idx_rate_limits_user_window', 'USING btree (user_id, window_start)'),
    ('scheduled_messages', 'idx_scheduled_messages_phone_id', 'USING btree (phone_id)'),
    ('scheduled_messages', 'idx_scheduled_messages_scheduled_at', 'USING btree (scheduled_at)'),
    ('scheduled_messages', 'idx_scheduled_messages_status', 'USING btree (status)'),
    ('scheduled_messages', 'idx_scheduled_messages_user_id', 'USING btree (user_id)'),
    ('users', 'idx_users_api_key', 'USING btree (api_key)'),
    ('webhook_events', 'idx_webhook_events_phone_id', 'USING btree (phone_id)'),
    ('webhook_events', 'idx_webhook_events_phone_number_id', 'USING btree (phone_number_id)'),
    ('webhook_events', 'idx_webhook_events_status', 'USING btree (status)');

-- The foreign key on table.column as SCHEMA.md wants it: default name, references ref(id), the ON DELETE
-- action, no ON UPDATE action, simple match, validated, not deferrable.
CREATE FUNCTION pg_temp.chatflow_fk_ok(t text, c text, ref text, on_delete text)
RETURNS boolean
LANGUAGE sql
AS $function$
    SELECT EXISTS (
        SELECT 1 FROM pg_constraint k
        WHERE k.conrelid = format('public.%I', t)::regclass AND k.contype = 'f'
          AND k.conname = format('%s_%s_fkey', t, c)
          AND k.conkey = ARRAY[(SELECT attnum FROM pg_attribute WHERE attrelid = k.conrelid AND attname = c)]
          AND k.confrelid = format('public.%I', ref)::regclass
          AND k.confkey = ARRAY[(SELECT attnum FROM pg_attribute WHERE attrelid = k.confrelid AND attname = 'id')]
          AND k.confdeltype = CASE on_delete WHEN 'CASCADE' THEN 'c' WHEN 'SET NULL' THEN 'n' END
          AND k.confupdtype = 'a' AND k.confmatchtype = 's' AND k.convalidated AND NOT k.condeferrable);
$function$;

-- A constraint with this definition under another name, or NULL.
CREATE FUNCTION pg_temp.chatflow_same_constraint(t text, name text, definition text)
RETURNS name
LANGUAGE sql
AS $function$
    SELECT k.conname FROM pg_constraint k
    WHERE k.conrelid = format('public.%I', t)::regclass AND k.conname <> name
      AND k.contype IN ('u', 'c') AND k.convalidated AND pg_get_constraintdef(k.oid) = definition
      AND k.conname NOT IN (SELECT s.name FROM chatflow_constraints s)
    ORDER BY k.conname LIMIT 1;
$function$;

CREATE FUNCTION pg_temp.chatflow_constraint_ok(t text, name text, definition text)
RETURNS boolean
LANGUAGE sql
AS $function$
    SELECT EXISTS (SELECT 1 FROM pg_constraint k
                   WHERE k.conrelid = format('public.%I', t)::regclass AND k.conname = name
                     AND k.convalidated AND pg_get_constraintdef(k.oid) = definition);
$function$;

-- The current type accepts every value of the target type and more: kept as it is, so that nothing is cut.
CREATE FUNCTION pg_temp.chatflow_wider(current_type text, target text)
RETURNS boolean
LANGUAGE sql
IMMUTABLE
AS $function$
    SELECT CASE
        WHEN target ~ '^character varying\(\d+\)$' THEN
            current_type IN ('text', 'character varying')
            OR (current_type ~ '^character varying\(\d+\)$'
                AND substring(current_type FROM '\d+')::int > substring(target FROM '\d+')::int)
        WHEN target ~ '^numeric\(\d+,\d+\)$' THEN
            current_type = 'numeric'
            OR (current_type ~ '^numeric\(\d+,\d+\)$'
                AND substring(current_type FROM ',(\d+)')::int >= substring(target FROM ',(\d+)')::int
                AND substring(current_type FROM '\((\d+)')::int - substring(current_type FROM ',(\d+)')::int
                    >= substring(target FROM '\((\d+)')::int - substring(target FROM ',(\d+)')::int)
        WHEN target = 'integer' THEN current_type = 'bigint'
        ELSE false
    END;
$function$;

-- The type change that converges the column: none (wider), the UTC reading of a timestamp, or a cast.
CREATE FUNCTION pg_temp.chatflow_type_change(current_type text, target text)
RETURNS text
LANGUAGE sql
IMMUTABLE
AS $function$
    SELECT CASE
        WHEN current_type = target OR pg_temp.chatflow_wider(current_type, target) THEN 'none'
        WHEN current_type LIKE 'timestamp% without time zone' AND target = 'timestamp with time zone' THEN 'utc'
        ELSE 'cast'
    END;
$function$;

-- The value (as text, of type from_type) would not come out of a cast to to_type unchanged.
CREATE FUNCTION pg_temp.chatflow_cast_changes(v text, from_type text, to_type text)
RETURNS boolean
LANGUAGE plpgsql
AS $function$
DECLARE
    converted text;
BEGIN
    EXECUTE format('SELECT $1::%s::%s::text', from_type, to_type) INTO converted USING v;
    RETURN converted IS DISTINCT FROM v;
EXCEPTION WHEN others THEN
    RETURN true;
END
$function$;

-- Preflight: nothing has changed yet. Every table and column must be there, no type change may alter a
-- stored value, and no row may block a constraint that is about to be set or added.
DO $$
DECLARE
    r record;
    blocking bigint;
    problems text[] := '{}';
BEGIN
    FOR r IN SELECT s.* FROM chatflow_columns s
             WHERE NOT EXISTS (SELECT 1 FROM information_schema.columns c
                               WHERE c.table_schema = 'public' AND c.table_name = s.table_name
                                 AND c.column_name = s.column_name) LOOP
        problems := problems || format('%s.%s: column missing (this is not a ChatFlow database that chatflow-db knows)',
                                       r.table_name, r.column_name);
    END LOOP;
    IF cardinality(problems) > 0 THEN
        RAISE EXCEPTION USING
            MESSAGE = format(E'chatflow-db: cannot converge the schema:\n  %s', array_to_string(problems, E'\n  ')),
            HINT = 'Nothing was changed.';
    END IF;

    -- A cast that changes a value (rounding, cutting, normalising) or fails counts the row.
    FOR r IN SELECT s.*, format_type(a.atttypid, a.atttypmod) AS current_type
             FROM chatflow_columns s
             JOIN pg_attribute a ON a.attrelid = format('public.%I', s.table_name)::regclass
                                AND a.attname = s.column_name
             WHERE pg_temp.chatflow_type_change(format_type(a.atttypid, a.atttypmod), s.type) = 'cast'
             ORDER BY s.table_name, s.column_name LOOP
        BEGIN
            EXECUTE format('SELECT count(*) FROM public.%1$I WHERE %2$I IS NOT NULL
                            AND %2$I::%3$s::text IS DISTINCT FROM %2$I::text',
                           r.table_name, r.column_name, r.type) INTO blocking;
        EXCEPTION WHEN others THEN
            -- Some value does not convert at all: count them one by one.
            EXECUTE format('SELECT count(*) FROM public.%1$I WHERE %2$I IS NOT NULL
                            AND pg_temp.chatflow_cast_changes(%2$I::text, %3$L, %4$L)',
                           r.table_name, r.column_name, r.current_type, r.type) INTO blocking;
        END;
        IF blocking > 0 THEN
            problems := problems || format('%s.%s: %s rows would change converting %s to %s',
                                           r.table_name, r.column_name, blocking, r.current_type, r.type);
        END IF;
    END LOOP;

    FOR r IN SELECT s.* FROM chatflow_columns s
             JOIN pg_attribute a ON a.attrelid = format('public.%I', s.table_name)::regclass
                                AND a.attname = s.column_name
             WHERE s.not_null AND NOT a.attnotnull LOOP
        EXECUTE format('SELECT count(*) FROM public.%I WHERE %I IS NULL', r.table_name, r.column_name) INTO blocking;
        IF blocking > 0 THEN
            problems := problems || format('%s.%s NOT NULL: %s rows have NULL', r.table_name, r.column_name, blocking);
        END IF;
    END LOOP;

    FOR r IN SELECT f.* FROM chatflow_foreign_keys f
             WHERE NOT pg_temp.chatflow_fk_ok(f.table_name, f.column_name, f.ref_table, f.on_delete) LOOP
        EXECUTE format('SELECT count(*) FROM public.%1$I t WHERE t.%2$I IS NOT NULL
                        AND NOT EXISTS (SELECT 1 FROM public.%3$I p WHERE p.id = t.%2$I)',
                       r.table_name, r.column_name, r.ref_table) INTO blocking;
        IF blocking > 0 THEN
            problems := problems || format('%s.%s -> %s.id (%s_%s_fkey): %s rows reference a %s row that does not exist',
                                           r.table_name, r.column_name, r.ref_table, r.table_name, r.column_name,
                                           blocking, r.ref_table);
        END IF;
    END LOOP;

    FOR r IN SELECT s.* FROM chatflow_constraints s
             WHERE NOT pg_temp.chatflow_constraint_ok(s.table_name, s.name, s.definition)
               AND pg_temp.chatflow_same_constraint(s.table_name, s.name, s.definition) IS NULL LOOP
        IF r.definition LIKE 'UNIQUE (%' THEN
            -- Rows sharing the same non-NULL key (NULLs never conflict).
            EXECUTE format('SELECT coalesce(sum(n), 0) FROM (SELECT count(*) AS n FROM public.%I WHERE %s
                            GROUP BY %s HAVING count(*) > 1) d',
                           r.table_name,
                           (SELECT string_agg(format('%I IS NOT NULL', col), ' AND ')
                            FROM unnest(string_to_array(substring(r.definition FROM '\((.*)\)'), ', ')) col),
                           substring(r.definition FROM '\((.*)\)')) INTO blocking;
            IF blocking > 0 THEN
                problems := problems || format('%s %s %s: %s rows share a key with another row',
                                               r.table_name, r.name, r.definition, blocking);
            END IF;
        ELSE
            EXECUTE format('SELECT count(*) FROM public.%I WHERE (%s) IS FALSE',
                           r.table_name, substring(r.definition FROM '^CHECK (.*)$')) INTO blocking;
            IF blocking > 0 THEN
                problems := problems || format('%s %s %s: %s rows violate it', r.table_name, r.name, r.definition, blocking);
            END IF;
        END IF;
    END LOOP;

    IF cardinality(problems) > 0 THEN
        RAISE EXCEPTION USING
            MESSAGE = format(E'chatflow-db: existing rows block %s change(s) of the ChatFlow schema:\n  %s',
                             cardinality(problems), array_to_string(problems, E'\n  ')),
            HINT = 'Nothing was changed and no row was deleted. Fix or remove these rows, then migrate again.';
    END IF;
END
$$;

-- Columns: one ALTER TABLE per table, so a table is rewritten at most once.
DO $$
DECLARE
    t record;
    r record;
    steps text[];
BEGIN
    FOR t IN SELECT DISTINCT table_name FROM chatflow_columns ORDER BY table_name LOOP
        steps := '{}';
        FOR r IN SELECT s.*, format_type(a.atttypid, a.atttypmod) AS current_type, a.attnotnull,
                        pg_get_expr(d.adbin, d.adrelid) AS current_default
                 FROM chatflow_columns s
                 JOIN pg_attribute a ON a.attrelid = format('public.%I', s.table_name)::regclass
                                    AND a.attname = s.column_name
                 LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
                 WHERE s.table_name = t.table_name LOOP
            IF pg_temp.chatflow_type_change(r.current_type, r.type) <> 'none' THEN
                steps := steps || format('ALTER COLUMN %I DROP DEFAULT', r.column_name)
                               || format('ALTER COLUMN %1$I TYPE %2$s USING %1$I%3$s', r.column_name, r.type,
                                         CASE pg_temp.chatflow_type_change(r.current_type, r.type)
                                              WHEN 'utc' THEN $q$ AT TIME ZONE 'UTC'$q$
                                              ELSE '::' || r.type END);
                IF r.default_expr IS NOT NULL THEN
                    steps := steps || format('ALTER COLUMN %I SET DEFAULT %s', r.column_name, r.default_expr);
                END IF;
            ELSIF r.current_default IS DISTINCT FROM r.default_expr THEN
                steps := steps || CASE WHEN r.default_expr IS NULL
                                       THEN format('ALTER COLUMN %I DROP DEFAULT', r.column_name)
                                       ELSE format('ALTER COLUMN %I SET DEFAULT %s', r.column_name, r.default_expr) END;
            END IF;
            IF r.attnotnull <> r.not_null THEN
                steps := steps || format('ALTER COLUMN %I %s NOT NULL', r.column_name,
                                         CASE WHEN r.not_null THEN 'SET' ELSE 'DROP' END);
            END IF;
        END LOOP;
        IF cardinality(steps) > 0 THEN
            EXECUTE format('ALTER TABLE public.%I %s', t.table_name, array_to_string(steps, ', '));
        END IF;
    END LOOP;
END
$$;

-- Primary keys, unique and check constraints, foreign keys: PostgreSQL's default names.
DO $$
DECLARE
    r record;
    old name;
BEGIN
    FOR r IN SELECT DISTINCT table_name FROM chatflow_columns ORDER BY table_name LOOP
        SELECT conname INTO old FROM pg_constraint
        WHERE conrelid = format('public.%I', r.table_name)::regclass AND contype = 'p';
        IF old IS NULL THEN
            EXECUTE format('ALTER TABLE public.%1$I ADD CONSTRAINT %2$I PRIMARY KEY (id)', r.table_name, r.table_name || '_pkey');
        ELSIF old <> r.table_name || '_pkey' THEN
            EXECUTE format('ALTER TABLE public.%I RENAME CONSTRAINT %I TO %I', r.table_name, old, r.table_name || '_pkey');
        END IF;
    END LOOP;

    FOR r IN SELECT * FROM chatflow_constraints
             WHERE NOT pg_temp.chatflow_constraint_ok(table_name, name, definition) LOOP
        IF EXISTS (SELECT 1 FROM pg_constraint
                   WHERE conrelid = format('public.%I', r.table_name)::regclass AND conname = r.name) THEN
            EXECUTE format('ALTER TABLE public.%I DROP CONSTRAINT %I', r.table_name, r.name);
        END IF;
        old := pg_temp.chatflow_same_constraint(r.table_name, r.name, r.definition);
        IF old IS NOT NULL THEN
            EXECUTE format('ALTER TABLE public.%I RENAME CONSTRAINT %I TO %I', r.table_name, old, r.name);
        ELSE
            EXECUTE format('ALTER TABLE public.%I ADD CONSTRAINT %I %s', r.table_name, r.name, r.definition);
        END IF;
    END LOOP;

    FOR r IN SELECT * FROM chatflow_foreign_keys
             WHERE NOT pg_temp.chatflow_fk_ok(table_name, column_name, ref_table, on_delete) LOOP
        -- Whatever foreign keys the column has (any name, any action) give way to the one of SCHEMA.md.
        FOR old IN SELECT k.conname FROM pg_constraint k
                   WHERE k.conrelid = format('public.%I', r.table_name)::regclass AND k.contype = 'f'
                     AND (k.conname = format('%s_%s_fkey', r.table_name, r.column_name)
                          OR k.conkey = ARRAY[(SELECT attnum FROM pg_attribute
                                               WHERE attrelid = k.conrelid AND attname = r.column_name)]) LOOP
            EXECUTE format('ALTER TABLE public.%I DROP CONSTRAINT %I', r.table_name, old);
        END LOOP;
        EXECUTE format('ALTER TABLE public.%1$I ADD CONSTRAINT %2$I FOREIGN KEY (%3$I) REFERENCES public.%4$I (id) ON DELETE %5$s',
                       r.table_name, format('%s_%s_fkey', r.table_name, r.column_name), r.column_name,
                       r.ref_table, r.on_delete);
    END LOOP;
END
$$;

-- Indexes: a listed index that is missing takes over an equivalent legacy index under another name
-- (renamed), or is created.
DO $$
DECLARE
    r record;
    old name;
BEGIN
    FOR r IN SELECT * FROM chatflow_indexes ORDER BY name LOOP
        SELECT c.relname INTO old FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
        WHERE c.relnamespace = 'public'::regnamespace AND c.relname = r.name;
        IF old IS NOT NULL AND NOT EXISTS (
            SELECT 1 FROM pg_index i
            WHERE i.indexrelid = format('public.%I', r.name)::regclass
              AND i.indrelid = format('public.%I', r.table_name)::regclass
              AND NOT i.indisunique AND i.indisvalid
              AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
              AND substring(pg_get_indexdef(i.indexrelid) FROM 'USING .*$') = r.definition) THEN
            EXECUTE format('DROP INDEX public.%I', r.name);
            old := NULL;
        END IF;
        CONTINUE WHEN old IS NOT NULL;
        SELECT c.relname INTO old FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
        WHERE i.indrelid = format('public.%I', r.table_name)::regclass
          AND NOT i.indisunique AND i.indisvalid
          AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
          AND c.relname NOT IN (SELECT s.name FROM chatflow_indexes s)
          AND substring(pg_get_indexdef(i.indexrelid) FROM 'USING .*$') = r.definition
        ORDER BY c.relname LIMIT 1;
        IF old IS NOT NULL THEN
            EXECUTE format('ALTER INDEX public.%I RENAME TO %I', old, r.name);
        ELSE
            EXECUTE format('CREATE INDEX %I ON public.%I %s', r.name, r.table_name, r.definition);
        END IF;
    END LOOP;
END
$$;

-- updated_at triggers: one per table that has updated_at, with the canonical name and definition.
DO $$
DECLARE
    r record;
    old name;
BEGIN
    FOR r IN SELECT table_name, format('update_%s_updated_at', table_name) AS trigger_name
             FROM chatflow_columns WHERE column_name = 'updated_at' ORDER BY table_name LOOP
        CONTINUE WHEN EXISTS (
            SELECT 1 FROM pg_trigger g
            WHERE g.tgrelid = format('public.%I', r.table_name)::regclass AND g.tgname = r.trigger_name
              AND g.tgfoid = 'public.update_updated_at_column()'::regprocedure
              AND g.tgtype = 19 -- ROW | BEFORE | UPDATE
              AND g.tgenabled = 'O' AND g.tgnargs = 0 AND g.tgqual IS NULL AND g.tgattr = ''::int2vector);
        IF EXISTS (SELECT 1 FROM pg_trigger
                   WHERE tgrelid = format('public.%I', r.table_name)::regclass AND tgname = r.trigger_name) THEN
            EXECUTE format('DROP TRIGGER %I ON public.%I', r.trigger_name, r.table_name);
        END IF;
        EXECUTE format('CREATE TRIGGER %I BEFORE UPDATE ON public.%I FOR EACH ROW EXECUTE FUNCTION public.update_updated_at_column()',
                       r.trigger_name, r.table_name);
    END LOOP;
    -- The same function under another trigger name would run twice; a table without updated_at cannot use it.
    FOR r IN SELECT g.tgname, c.relname FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid
             WHERE c.relnamespace = 'public'::regnamespace AND NOT g.tgisinternal
               AND g.tgfoid = 'public.update_updated_at_column()'::regprocedure
               AND g.tgname <> format('update_%s_updated_at', c.relname) LOOP
        EXECUTE format('DROP TRIGGER %I ON public.%I', r.tgname, r.relname);
        RAISE NOTICE 'chatflow-db: dropped trigger % on %: it duplicated update_%_updated_at', r.tgname, r.relname, r.relname;
    END LOOP;
END
$$;

-- What is not part of the schema stays (an operator put it there) and is named.
DO $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT c.relname AS index_name, t.relname AS table_name
             FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid
             WHERE t.relnamespace = 'public'::regnamespace
               AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
               AND c.relname NOT IN (SELECT name FROM chatflow_indexes)
             ORDER BY 1 LOOP
        RAISE NOTICE 'chatflow-db: index % on % is not part of the ChatFlow schema; left in place', r.index_name, r.table_name;
    END LOOP;
    FOR r IN SELECT k.conname, t.relname AS table_name
             FROM pg_constraint k JOIN pg_class t ON t.oid = k.conrelid
             WHERE t.relnamespace = 'public'::regnamespace
               AND k.conname <> t.relname || '_pkey'
               AND k.conname NOT IN (SELECT name FROM chatflow_constraints)
               AND k.conname NOT IN (SELECT format('%s_%s_fkey', table_name, column_name) FROM chatflow_foreign_keys)
             ORDER BY 1 LOOP
        RAISE NOTICE 'chatflow-db: constraint % on % is not part of the ChatFlow schema; left in place', r.conname, r.table_name;
    END LOOP;
    FOR r IN SELECT g.tgname, t.relname AS table_name
             FROM pg_trigger g JOIN pg_class t ON t.oid = g.tgrelid
             WHERE t.relnamespace = 'public'::regnamespace AND NOT g.tgisinternal
               AND g.tgfoid <> 'public.update_updated_at_column()'::regprocedure
             ORDER BY 1 LOOP
        RAISE NOTICE 'chatflow-db: trigger % on % is not part of the ChatFlow schema; left in place', r.tgname, r.table_name;
    END LOOP;
    FOR r IN SELECT a.attname, t.relname AS table_name
             FROM pg_attribute a JOIN pg_class t ON t.oid = a.attrelid
             WHERE t.relnamespace = 'public'::regnamespace AND t.relkind = 'r' AND a.attnum > 0
               AND NOT a.attisdropped AND a.attname <> 'id'
               AND t.relname IN (SELECT table_name FROM chatflow_columns)
               AND (t.relname, a.attname::text) NOT IN (SELECT table_name, column_name FROM chatflow_columns)
             ORDER BY 2, 1 LOOP
        RAISE NOTICE 'chatflow-db: column %.% is not part of the ChatFlow schema; left in place', r.table_name, r.attname;
    END LOOP;
    FOR r IN SELECT s.table_name, s.column_name, s.type, format_type(a.atttypid, a.atttypmod) AS current_type
             FROM chatflow_columns s
             JOIN pg_attribute a ON a.attrelid = format('public.%I', s.table_name)::regclass
                                AND a.attname = s.column_name
             WHERE format_type(a.atttypid, a.atttypmod) <> s.type
               AND pg_temp.chatflow_wider(format_type(a.atttypid, a.atttypmod), s.type)
             ORDER BY 1, 2 LOOP
        RAISE NOTICE 'chatflow-db: column %.% is %, wider than % in the ChatFlow schema; left as it is so that no value is cut',
            r.table_name, r.column_name, r.current_type, r.type;
    END LOOP;
END
$$;

DROP FUNCTION pg_temp.chatflow_cast_changes(text, text, text);
DROP FUNCTION pg_temp.chatflow_type_change(text, text);
DROP FUNCTION pg_temp.chatflow_wider(text, text);
DROP FUNCTION pg_temp.chatflow_fk_ok(text, text, text, text);
DROP FUNCTION pg_temp.chatflow_same_constraint(text, text, text);
DROP FUNCTION pg_temp.chatflow_constraint_ok(text, text, text);

COMMIT;
