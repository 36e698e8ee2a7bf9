-- ChatFlow 006: the columns and tables the application gained later: phone_numbers.evolution_instance,
-- the newer columns of messages, webhook_events, scheduled_messages and broadcast_messages, the webhook
-- inbox (incoming_messages) and external WhatsApp providers.
-- A column is added only where it is missing, and then filled from what the row already says (SCHEMA.md
-- "Later columns on existing rows") with the table's triggers off, so updated_at keeps its legacy value.
-- 007_converge_schema.sql converges whatever a legacy database already had. Safe to run again.
-- psql -f runs it as one transaction.

BEGIN;

-- Runs one backfill statement with the table's enabled user triggers switched off, then restores each
-- trigger's previous state. ALTER TABLE ... DISABLE TRIGGER works for the table owner, where
-- session_replication_role would need a superuser.
CREATE OR REPLACE FUNCTION pg_temp.chatflow_backfill(target regclass, statement text)
RETURNS void
LANGUAGE plpgsql
AS $function$
DECLARE
    trig record;
    names name[] := '{}';
    states "char"[] := '{}';
BEGIN
    FOR trig IN SELECT tgname, tgenabled FROM pg_trigger
                WHERE tgrelid = target AND NOT tgisinternal AND tgenabled <> 'D' LOOP
        EXECUTE format('ALTER TABLE %s DISABLE TRIGGER %I', target, trig.tgname);
        names := names || trig.tgname;
        states := states || trig.tgenabled;
    END LOOP;
    EXECUTE statement;
    FOR i IN 1 .. coalesce(array_length(names, 1), 0) LOOP
        EXECUTE format('ALTER TABLE %s ENABLE %s TRIGGER %I', target,
                       CASE states[i] WHEN 'A' THEN 'ALWAYS' WHEN 'R' THEN 'REPLICA' ELSE '' END, names[i]);
    END LOOP;
END;
$function$;

CREATE OR REPLACE FUNCTION pg_temp.chatflow_has_column(table_name text, column_name text)
RETURNS boolean
LANGUAGE sql
AS $function$
    SELECT EXISTS (SELECT 1 FROM information_schema.columns c
                   WHERE c.table_schema = 'public' AND c.table_name = $1 AND c.column_name = $2);
$function$;

ALTER TABLE public.phone_numbers ADD COLUMN IF NOT EXISTS evolution_instance varchar(255);

DO $$
BEGIN
    IF NOT pg_temp.chatflow_has_column('messages', 'user_id') THEN
        ALTER TABLE public.messages ADD COLUMN user_id integer REFERENCES public.users (id) ON DELETE CASCADE;
        PERFORM pg_temp.chatflow_backfill('public.messages', $sql$
            UPDATE public.messages m SET user_id = p.user_id
            FROM public.phone_numbers p WHERE p.id = m.phone_number_id$sql$);
        CREATE INDEX idx_messages_user_id ON public.messages (user_id);
    END IF;
END
$$;
ALTER TABLE public.messages ADD COLUMN IF NOT EXISTS direction varchar(10);
ALTER TABLE public.messages ADD COLUMN IF NOT EXISTS provider varchar(50);
ALTER TABLE public.messages ADD COLUMN IF NOT EXISTS external_message_id varchar(255);

DO $$
BEGIN
    IF NOT pg_temp.chatflow_has_column('webhook_events', 'phone_id') THEN
        ALTER TABLE public.webhook_events
            ADD COLUMN phone_id integer REFERENCES public.phone_numbers (id) ON DELETE CASCADE;
        PERFORM pg_temp.chatflow_backfill('public.webhook_events',
            'UPDATE public.webhook_events SET phone_id = phone_number_id');
        CREATE INDEX idx_webhook_events_phone_id ON public.webhook_events (phone_id);
    END IF;
    IF NOT pg_temp.chatflow_has_column('webhook_events', 'updated_at') THEN
        -- Added without a default first, so that old rows get created_at rather than the migration's time.
        ALTER TABLE public.webhook_events ADD COLUMN updated_at timestamptz;
        PERFORM pg_temp.chatflow_backfill('public.webhook_events',
            'UPDATE public.webhook_events SET updated_at = created_at');
        ALTER TABLE public.webhook_events ALTER COLUMN updated_at SET DEFAULT now();
        CREATE TRIGGER update_webhook_events_updated_at BEFORE UPDATE ON public.webhook_events
            FOR EACH ROW EXECUTE FUNCTION public.update_updated_at_column();
    END IF;
END
$$;

DO $$
BEGIN
    IF NOT pg_temp.chatflow_has_column('scheduled_messages', 'to_number') THEN
        ALTER TABLE public.scheduled_messages ADD COLUMN to_number varchar(50);
        PERFORM pg_temp.chatflow_backfill('public.scheduled_messages',
            'UPDATE public.scheduled_messages SET to_number = recipient');
    END IF;
    IF NOT pg_temp.chatflow_has_column('scheduled_messages', 'content') THEN
        ALTER TABLE public.scheduled_messages ADD COLUMN content text;
        PERFORM pg_temp.chatflow_backfill('public.scheduled_messages',
            'UPDATE public.scheduled_messages SET content = message');
    END IF;
    IF NOT pg_temp.chatflow_has_column('scheduled_messages', 'message_type') THEN
        ALTER TABLE public.scheduled_messages ADD COLUMN message_type varchar(20);
        PERFORM pg_temp.chatflow_backfill('public.scheduled_messages',
            $sql$UPDATE public.scheduled_messages SET message_type = 'text'$sql$);
    END IF;
END
$$;
ALTER TABLE public.scheduled_messages ADD COLUMN IF NOT EXISTS media_url varchar(500);

DO $$
BEGIN
    IF NOT pg_temp.chatflow_has_column('broadcast_messages', 'user_id') THEN
        ALTER TABLE public.broadcast_messages
            ADD COLUMN user_id integer REFERENCES public.users (id) ON DELETE CASCADE;
        PERFORM pg_temp.chatflow_backfill('public.broadcast_messages', $sql$
            UPDATE public.broadcast_messages bm SET user_id = b.user_id
            FROM public.broadcasts b WHERE b.id = bm.broadcast_id$sql$);
        CREATE INDEX idx_broadcast_messages_user_id ON public.broadcast_messages (user_id);
    END IF;
END
$$;

-- The webhook inbox. Some legacy databases already have it (007 converges it); is_revoked came last.
DO $$
BEGIN
    IF to_regclass('public.incoming_messages') IS NULL THEN
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
    ELSIF NOT pg_temp.chatflow_has_column('incoming_messages', 'is_revoked') THEN
        ALTER TABLE public.incoming_messages ADD COLUMN is_revoked boolean;
        ALTER TABLE public.incoming_messages ALTER COLUMN is_revoked SET DEFAULT false;
    END IF;
END
$$;

DO $$
BEGIN
    IF to_regclass('public.external_whatsapp_providers') IS NULL THEN
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
    END IF;
END
$$;

DROP FUNCTION pg_temp.chatflow_backfill(regclass, text);
DROP FUNCTION pg_temp.chatflow_has_column(text, text);

COMMIT;
