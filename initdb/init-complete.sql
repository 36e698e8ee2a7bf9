-- The complete ChatFlow schema (../shared/SCHEMA.md) for a fresh deployment.
-- The official postgres image runs this once, from /docker-entrypoint-initdb.d/, as POSTGRES_USER into
-- POSTGRES_DB with psql -v ON_ERROR_STOP=1. One transaction: a failure leaves no half schema behind.
-- It must stay identical to what migrations/ build (npm run schema:check), and it stamps every migration
-- as applied so that the first `chatflow-db migrate` has nothing to do (npm run schema:stamp).

BEGIN;

CREATE EXTENSION IF NOT EXISTS "uuid-ossp" WITH SCHEMA public;

CREATE OR REPLACE FUNCTION public.update_updated_at_column()
RETURNS trigger
LANGUAGE plpgsql
AS $function$
BEGIN
    NEW.updated_at = now();
    RETURN NEW;
END;
$function$;

CREATE TABLE public.users (
    id SERIAL PRIMARY KEY,
    username varchar(50) NOT NULL UNIQUE,
    email varchar(100) NOT NULL UNIQUE,
    password_hash varchar(255) NOT NULL,
    api_key varchar(255) NOT NULL UNIQUE,
    jwt_secret varchar(255) NOT NULL,
    is_active boolean DEFAULT true,
    created_at timestamptz DEFAULT now(),
    updated_at timestamptz DEFAULT now()
);
CREATE INDEX idx_users_api_key ON public.users (api_key);
CREATE TRIGGER update_users_updated_at BEFORE UPDATE ON public.users
    FOR EACH ROW EXECUTE FUNCTION public.update_updated_at_column();

CREATE TABLE public.phone_numbers (
    id SERIAL PRIMARY KEY,
    user_id integer REFERENCES public.users (id) ON DELETE CASCADE,
    phone_number varchar(20) NOT NULL,
    device_name varchar(100),
    token varchar(255) NOT NULL UNIQUE,
    webhook_url varchar(500),
    webhook_secret varchar(255),
    is_connected boolean DEFAULT false,
    last_seen timestamptz,
    qr_code text,
    session_data jsonb,
    auto_reply text,
    auto_mark_read boolean DEFAULT false,
    auto_download_media boolean DEFAULT true,
    created_at timestamptz DEFAULT now(),
    updated_at timestamptz DEFAULT now(),
    evolution_instance varchar(255),
    UNIQUE (user_id, phone_number)
);
CREATE INDEX idx_phone_numbers_token ON public.phone_numbers (token);
CREATE INDEX idx_phone_numbers_user_id ON public.phone_numbers (user_id);
CREATE TRIGGER update_phone_numbers_updated_at BEFORE UPDATE ON public.phone_numbers
    FOR EACH ROW EXECUTE FUNCTION public.update_updated_at_column();

CREATE TABLE public.messages (
    id SERIAL PRIMARY KEY,
    phone_number_id integer REFERENCES public.phone_numbers (id) ON DELETE CASCADE,
    message_id varchar(100) NOT NULL,
    from_number varchar(20),
    to_number varchar(20) NOT NULL,
    message_type varchar(20) NOT NULL,
    content text,
    media_url varchar(500),
    media_type varchar(50),
    status varchar(20) DEFAULT 'pending',
    webhook_sent boolean DEFAULT false,
    created_at timestamptz DEFAULT now(),
    updated_at timestamptz DEFAULT now(),
    user_id integer REFERENCES public.users (id) ON DELETE CASCADE,
    direction varchar(10),
    provider varchar(50),
    external_message_id varchar(255)
);
CREATE INDEX idx_messages_created_at ON public.messages (created_at);
CREATE INDEX idx_messages_phone_number_id ON public.messages (phone_number_id);
CREATE INDEX idx_messages_status ON public.messages (status);
CREATE INDEX idx_messages_user_id ON public.messages (user_id);
CREATE TRIGGER update_messages_updated_at BEFORE UPDATE ON public.messages
    FOR EACH ROW EXECUTE FUNCTION public.update_updated_at_column();

CREATE TABLE public.message_templates (
    id SERIAL PRIMARY KEY,
    user_id integer NOT NULL REFERENCES public.users (id) ON DELETE CASCADE,
    name varchar(100) NOT NULL,
    content text NOT NULL,
    category varchar(50) DEFAULT 'general',
    variables jsonb DEFAULT '[]',
    is_active boolean DEFAULT true,
    created_at timestamptz DEFAULT now(),
    updated_at timestamptz DEFAULT now()
);
CREATE INDEX idx_message_templates_user_id ON public.message_templates (user_id);
CREATE TRIGGER update_message_templates_updated_at BEFORE UPDATE ON public.message_templates
    FOR EACH ROW EXECUTE FUNCTION public.update_updated_at_column();

CREATE TABLE public.api_usage (
    id SERIAL PRIMARY KEY,
    user_id integer REFERENCES public.users (id) ON DELETE CASCADE,
    phone_number_id integer REFERENCES public.phone_numbers (id) ON DELETE CASCADE,
    endpoint varchar(100) NOT NULL,
    method varchar(10) NOT NULL,
    status_code integer NOT NULL,
    response_time integer,
    created_at timestamptz DEFAULT now()
);
CREATE INDEX idx_api_usage_created_at ON public.api_usage (created_at);
CREATE INDEX idx_api_usage_phone_number_id ON public.api_usage (phone_number_id);
CREATE INDEX idx_api_usage_user_id ON public.api_usage (user_id);

CREATE TABLE public.rate_limits (
    id SERIAL PRIMARY KEY,
    user_id integer REFERENCES public.users (id) ON DELETE CASCADE,
    window_start timestamptz NOT NULL,
    request_count integer DEFAULT 0,
    limit_per_hour integer DEFAULT 1000,
    created_at timestamptz DEFAULT now(),
    UNIQUE (user_id, window_start)
);
CREATE INDEX idx_rate_limits_user_window ON public.rate_limits (user_id, window_start);

CREATE TABLE public.webhook_events (
    id SERIAL PRIMARY KEY,
    phone_number_id integer REFERENCES public.phone_numbers (id) ON DELETE CASCADE,
    event_type varchar(50) NOT NULL,
    payload jsonb NOT NULL,
    retry_count integer DEFAULT 0,
    status varchar(20) DEFAULT 'pending',
    sent_at timestamptz,
    created_at timestamptz DEFAULT now(),
    phone_id integer REFERENCES public.phone_numbers (id) ON DELETE CASCADE,
    updated_at timestamptz DEFAULT now()
);
CREATE INDEX idx_webhook_events_phone_id ON public.webhook_events (phone_id);
CREATE INDEX idx_webhook_events_phone_number_id ON public.webhook_events (phone_number_id);
CREATE INDEX idx_webhook_events_status ON public.webhook_events (status);
CREATE TRIGGER update_webhook_events_updated_at BEFORE UPDATE ON public.webhook_events
    FOR EACH ROW EXECUTE FUNCTION public.update_updated_at_column();

CREATE TABLE public.contacts (
    id SERIAL PRIMARY KEY,
    user_id integer REFERENCES public.users (id) ON DELETE CASCADE,
    name varchar(255) NOT NULL,
    phone varchar(20) NOT NULL,
    email varchar(255),
    company varchar(255),
    address text,
    notes text,
    created_at timestamptz DEFAULT now(),
    updated_at timestamptz DEFAULT now(),
    categories text[] DEFAULT '{}',
    UNIQUE (user_id, phone)
);
CREATE INDEX idx_contacts_categories ON public.contacts USING gin (categories);
CREATE INDEX idx_contacts_phone ON public.contacts (phone);
CREATE INDEX idx_contacts_user_id ON public.contacts (user_id);
CREATE TRIGGER update_contacts_updated_at BEFORE UPDATE ON public.contacts
    FOR EACH ROW EXECUTE FUNCTION public.update_updated_at_column();

CREATE TABLE public.contact_categories (
    id SERIAL PRIMARY KEY,
    user_id integer REFERENCES public.users (id) ON DELETE CASCADE,
    name varchar(100) NOT NULL,
    description text,
    color varchar(7) DEFAULT '#1976d2',
    created_at timestamptz DEFAULT now(),
    updated_at timestamptz DEFAULT now(),
    UNIQUE (user_id, name)
);
CREATE INDEX idx_contact_categories_user_id ON public.contact_categories (user_id);
CREATE TRIGGER update_contact_categories_updated_at BEFORE UPDATE ON public.contact_categories
    FOR EACH ROW EXECUTE FUNCTION public.update_updated_at_column();

CREATE TABLE public.contact_category_relations (
    id SERIAL PRIMARY KEY,
    contact_id integer REFERENCES public.contacts (id) ON DELETE CASCADE,
    category_id integer REFERENCES public.contact_categories (id) ON DELETE CASCADE,
    created_at timestamptz DEFAULT now(),
    UNIQUE (contact_id, category_id)
);
CREATE INDEX idx_contact_relations_category_id ON public.contact_category_relations (category_id);
CREATE INDEX idx_contact_relations_contact_id ON public.contact_category_relations (contact_id);

CREATE TABLE public.broadcast_templates (
    id SERIAL PRIMARY KEY,
    user_id integer REFERENCES public.users (id) ON DELETE CASCADE,
    name varchar(255) NOT NULL,
    description text,
    message text NOT NULL,
    variables jsonb,
    created_at timestamptz DEFAULT now(),
    updated_at timestamptz DEFAULT now()
);
CREATE INDEX idx_broadcast_templates_user_id ON public.broadcast_templates (user_id);
CREATE TRIGGER update_broadcast_templates_updated_at BEFORE UPDATE ON public.broadcast_templates
    FOR EACH ROW EXECUTE FUNCTION public.update_updated_at_column();

CREATE TABLE public.broadcasts (
    id SERIAL PRIMARY KEY,
    user_id integer REFERENCES public.users (id) ON DELETE CASCADE,
    name varchar(255) NOT NULL,
    description text,
    message text NOT NULL,
    template_id integer REFERENCES public.broadcast_templates (id) ON DELETE SET NULL,
    contact_filter jsonb,
    status varchar(50) DEFAULT 'draft',
    total_contacts integer DEFAULT 0,
    sent_count integer DEFAULT 0,
    failed_count integer DEFAULT 0,
    scheduled_at timestamptz,
    started_at timestamptz,
    completed_at timestamptz,
    created_at timestamptz DEFAULT now(),
    updated_at timestamptz DEFAULT now()
);
CREATE INDEX idx_broadcasts_status ON public.broadcasts (status);
CREATE INDEX idx_broadcasts_template_id ON public.broadcasts (template_id);
CREATE INDEX idx_broadcasts_user_id ON public.broadcasts (user_id);
CREATE TRIGGER update_broadcasts_updated_at BEFORE UPDATE ON public.broadcasts
    FOR EACH ROW EXECUTE FUNCTION public.update_updated_at_column();

CREATE TABLE public.broadcast_recipients (
    id SERIAL PRIMARY KEY,
    broadcast_id integer REFERENCES public.broadcasts (id) ON DELETE CASCADE,
    contact_id integer REFERENCES public.contacts (id) ON DELETE CASCADE,
    status varchar(20) DEFAULT 'pending',
    sent_at timestamptz,
    failed_at timestamptz,
    message_id text,
    error_message text,
    created_at timestamptz DEFAULT now(),
    updated_at timestamptz DEFAULT now(),
    UNIQUE (broadcast_id, contact_id)
);
CREATE INDEX idx_broadcast_recipients_contact_id ON public.broadcast_recipients (contact_id);
CREATE TRIGGER update_broadcast_recipients_updated_at BEFORE UPDATE ON public.broadcast_recipients
    FOR EACH ROW EXECUTE FUNCTION public.update_updated_at_column();

CREATE TABLE public.broadcast_messages (
    id SERIAL PRIMARY KEY,
    broadcast_id integer REFERENCES public.broadcasts (id) ON DELETE CASCADE,
    contact_id integer REFERENCES public.contacts (id) ON DELETE CASCADE,
    phone varchar(20) NOT NULL,
    message text NOT NULL,
    status varchar(50) DEFAULT 'pending',
    sent_at timestamptz,
    error_message text,
    created_at timestamptz DEFAULT now(),
    user_id integer REFERENCES public.users (id) ON DELETE CASCADE
);
CREATE INDEX idx_broadcast_messages_broadcast_id ON public.broadcast_messages (broadcast_id);
CREATE INDEX idx_broadcast_messages_contact_id ON public.broadcast_messages (contact_id);
CREATE INDEX idx_broadcast_messages_status ON public.broadcast_messages (status);
CREATE INDEX idx_broadcast_messages_user_id ON public.broadcast_messages (user_id);

CREATE TABLE public.broadcast_progress (
    id SERIAL PRIMARY KEY,
    broadcast_id integer REFERENCES public.broadcasts (id) ON DELETE CASCADE,
    total_contacts integer DEFAULT 0,
    processed_contacts integer DEFAULT 0,
    sent_messages integer DEFAULT 0,
    failed_messages integer DEFAULT 0,
    progress_percentage numeric(5,2) DEFAULT 0,
    estimated_completion timestamptz,
    last_updated timestamptz DEFAULT now()
);
CREATE INDEX idx_broadcast_progress_broadcast_id ON public.broadcast_progress (broadcast_id);

CREATE TABLE public.scheduled_messages (
    id SERIAL PRIMARY KEY,
    user_id integer REFERENCES public.users (id) ON DELETE CASCADE,
    phone_id integer REFERENCES public.phone_numbers (id) ON DELETE CASCADE,
    recipient varchar(50),
    message text,
    scheduled_at timestamptz NOT NULL,
    status varchar(20) DEFAULT 'pending',
    sent_at timestamptz,
    error_message text,
    created_at timestamptz DEFAULT now(),
    updated_at timestamptz DEFAULT now(),
    to_number varchar(50),
    content text,
    message_type varchar(20),
    media_url varchar(500),
    -- Newer application code writes to_number/content only, older code recipient/message.
    CHECK ((recipient IS NOT NULL OR to_number IS NOT NULL) AND (message IS NOT NULL OR content IS NOT NULL))
);
CREATE INDEX idx_scheduled_messages_phone_id ON public.scheduled_messages (phone_id);
CREATE INDEX idx_scheduled_messages_scheduled_at ON public.scheduled_messages (scheduled_at);
CREATE INDEX idx_scheduled_messages_status ON public.scheduled_messages (status);
CREATE INDEX idx_scheduled_messages_user_id ON public.scheduled_messages (user_id);
CREATE TRIGGER update_scheduled_messages_updated_at BEFORE UPDATE ON public.scheduled_messages
    FOR EACH ROW EXECUTE FUNCTION public.update_updated_at_column();

CREATE TABLE public.auto_reply_configs (
    id SERIAL PRIMARY KEY,
    user_id integer REFERENCES public.users (id) ON DELETE CASCADE,
    name varchar(100) NOT NULL,
    trigger_keywords text[] NOT NULL,
    welcome_message text NOT NULL,
    is_active boolean DEFAULT true,
    created_at timestamptz DEFAULT now(),
    updated_at timestamptz DEFAULT now(),
    phone_numbers integer[] DEFAULT '{}'
);
CREATE INDEX idx_auto_reply_configs_active ON public.auto_reply_configs (is_active);
CREATE INDEX idx_auto_reply_configs_phone_numbers ON public.auto_reply_configs USING gin (phone_numbers);
CREATE INDEX idx_auto_reply_configs_user_id ON public.auto_reply_configs (user_id);
CREATE TRIGGER update_auto_reply_configs_updated_at BEFORE UPDATE ON public.auto_reply_configs
    FOR EACH ROW EXECUTE FUNCTION public.update_updated_at_column();

CREATE TABLE public.auto_reply_menus (
    id SERIAL PRIMARY KEY,
    config_id integer REFERENCES public.auto_reply_configs (id) ON DELETE CASCADE,
    menu_key varchar(10) NOT NULL,
    menu_text text NOT NULL,
    response_text text NOT NULL,
    parent_menu_id integer REFERENCES public.auto_reply_menus (id) ON DELETE CASCADE,
    is_active boolean DEFAULT true,
    order_index integer DEFAULT 0,
    created_at timestamptz DEFAULT now()
);
CREATE INDEX idx_auto_reply_menus_config_id ON public.auto_reply_menus (config_id);
CREATE INDEX idx_auto_reply_menus_parent_id ON public.auto_reply_menus (parent_menu_id);

CREATE TABLE public.auto_reply_sessions (
    id SERIAL PRIMARY KEY,
    phone_number varchar(20) NOT NULL,
    config_id integer REFERENCES public.auto_reply_configs (id) ON DELETE CASCADE,
    current_menu_id integer REFERENCES public.auto_reply_menus (id) ON DELETE SET NULL,
    session_data jsonb DEFAULT '{}',
    last_interaction timestamptz DEFAULT now(),
    is_active boolean DEFAULT true,
    created_at timestamptz DEFAULT now(),
    phone_number_id integer REFERENCES public.phone_numbers (id) ON DELETE CASCADE
);
CREATE INDEX idx_auto_reply_sessions_active ON public.auto_reply_sessions (is_active);
CREATE INDEX idx_auto_reply_sessions_config_id ON public.auto_reply_sessions (config_id);
CREATE INDEX idx_auto_reply_sessions_current_menu_id ON public.auto_reply_sessions (current_menu_id);
CREATE INDEX idx_auto_reply_sessions_phone ON public.auto_reply_sessions (phone_number);
CREATE INDEX idx_auto_reply_sessions_phone_number_id ON public.auto_reply_sessions (phone_number_id);

CREATE TABLE public.auto_reply_logs (
    id SERIAL PRIMARY KEY,
    phone_number varchar(20) NOT NULL,
    incoming_message text NOT NULL,
    outgoing_message text NOT NULL,
    menu_path varchar(100),
    response_time integer,
    session_id integer REFERENCES public.auto_reply_sessions (id) ON DELETE CASCADE,
    created_at timestamptz DEFAULT now()
);
CREATE INDEX idx_auto_reply_logs_created ON public.auto_reply_logs (created_at);
CREATE INDEX idx_auto_reply_logs_phone ON public.auto_reply_logs (phone_number);
CREATE INDEX idx_auto_reply_logs_session_id ON public.auto_reply_logs (session_id);

CREATE TABLE public.incoming_messages (
    id SERIAL PRIMARY KEY,
    message_id varchar(100) NOT NULL UNIQUE,
    phone_id integer REFERENCES public.phone_numbers (id) ON DELETE CASCADE,
    device_id varchar(100),
    sender_phone varchar(20) NOT NULL,
    sender_name varchar(100),
    message_type varchar(20) DEFAULT 'text',
    message_content text,
    is_group boolean DEFAULT false,
    group_id varchar(100),
    raw_payload jsonb,
    received_at timestamptz DEFAULT now(),
    updated_at timestamptz DEFAULT now(),
    is_revoked boolean DEFAULT false
);
CREATE INDEX idx_incoming_messages_device_id ON public.incoming_messages (device_id);
CREATE INDEX idx_incoming_messages_phone_id ON public.incoming_messages (phone_id);
CREATE INDEX idx_incoming_messages_received_at ON public.incoming_messages (received_at);
CREATE INDEX idx_incoming_messages_sender_phone ON public.incoming_messages (sender_phone);
CREATE TRIGGER update_incoming_messages_updated_at BEFORE UPDATE ON public.incoming_messages
    FOR EACH ROW EXECUTE FUNCTION public.update_updated_at_column();

CREATE TABLE public.external_whatsapp_providers (
    id SERIAL PRIMARY KEY,
    user_id integer REFERENCES public.users (id) ON DELETE CASCADE,
    name varchar(100) NOT NULL,
    provider_type varchar(50) NOT NULL
        CHECK (provider_type IN ('go-whatsapp-web-multidevice', 'evolution-api', 'watzap', 'custom')),
    base_url varchar(500) NOT NULL,
    api_key varchar(255),
    webhook_secret varchar(255),
    config jsonb DEFAULT '{}',
    is_active boolean DEFAULT true,
    created_at timestamptz DEFAULT now(),
    updated_at timestamptz DEFAULT now(),
    UNIQUE (user_id, name)
);
CREATE TRIGGER update_external_whatsapp_providers_updated_at BEFORE UPDATE ON public.external_whatsapp_providers
    FOR EACH ROW EXECUTE FUNCTION public.update_updated_at_column();

-- Migration tracking (src/migrations/tracking.ts TRACKING_DDL, kept equal by a unit test).
CREATE SCHEMA IF NOT EXISTS chatflow_db;
CREATE TABLE IF NOT EXISTS chatflow_db.schema_migrations (
    version text PRIMARY KEY,
    name text NOT NULL,
    checksum text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(),
    duration_ms integer NOT NULL DEFAULT 0,
    applied_by text NOT NULL DEFAULT current_user
);

-- Every migration this schema already contains (written by npm run schema:stamp; do not edit by hand).
-- chatflow-db:stamp:begin
INSERT INTO chatflow_db.schema_migrations (version, name, checksum, duration_ms) VALUES
    ('001', '001_initial_schema.sql', '1cda1d938ff607bc66c51ae0b79871b3c67e76986b348b0fe061b0d2b889546f', 0),
    ('002', '002_add_contacts.sql', '34d2e0540dc3bfc11c21409f64504519b203ec0f69f96d160992765c8b70d33d', 0),
    ('003', '003_broadcasts.sql', '10e78875bfeb0a1335707b42f07ca86b48715388255b55abbf0b6bf2b7bbd4af', 0),
    ('004', '004_auto_reply_schema.sql', 'abddeabf9f6fea4c171d76bbe0e9beb04e5e9bba86d54e2ed5d0b248272f5f4d', 0),
    ('005', '005_auto_reply_phone_numbers.sql', '043216fdc9a2945c297ac8feecfbf3fc62b457c91df6008f2cf24e9dc912aa89', 0),
    ('006', '006_later_columns_and_tables.sql', '0cfb73aaafdfec7d2ef74dba3d547ed999b9573130b20d72fa8856555e279088', 0),
    ('007', '007_converge_schema.sql', 'ef66d8fc3fe15c79bd3f94c306432b01cee7e3147459cb2994083f7e95cd3095', 0);
-- chatflow-db:stamp:end

COMMIT;
