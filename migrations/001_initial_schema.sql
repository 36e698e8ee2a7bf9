-- ChatFlow 001: users, phone numbers, messages, templates, API usage, rate limits, webhook events.
-- Each table is created only where it is missing: an existing one belongs to a legacy database, which
-- 007_converge_schema.sql brings onto SCHEMA.md. Safe to run again. psql -f runs it as one transaction.

BEGIN;

CREATE EXTENSION IF NOT EXISTS "uuid-ossp" WITH SCHEMA public;

-- Shared by every updated_at trigger; the text is the same in init-complete.sql and 007.
CREATE OR REPLACE FUNCTION public.update_updated_at_column()
RETURNS trigger
LANGUAGE plpgsql
AS $function$
BEGIN
    NEW.updated_at = now();
    RETURN NEW;
END;
$function$;

DO $$
BEGIN
    IF to_regclass('public.users') IS NULL THEN
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
    END IF;
END
$$;

DO $$
BEGIN
    IF to_regclass('public.phone_numbers') IS NULL THEN
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
            UNIQUE (user_id, phone_number)
        );
        CREATE INDEX idx_phone_numbers_token ON public.phone_numbers (token);
        CREATE INDEX idx_phone_numbers_user_id ON public.phone_numbers (user_id);
        CREATE TRIGGER update_phone_numbers_updated_at BEFORE UPDATE ON public.phone_numbers
            FOR EACH ROW EXECUTE FUNCTION public.update_updated_at_column();
    END IF;
END
$$;

DO $$
BEGIN
    IF to_regclass('public.messages') IS NULL THEN
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
            updated_at timestamptz DEFAULT now()
        );
        CREATE INDEX idx_messages_created_at ON public.messages (created_at);
        CREATE INDEX idx_messages_phone_number_id ON public.messages (phone_number_id);
        CREATE INDEX idx_messages_status ON public.messages (status);
        CREATE TRIGGER update_messages_updated_at BEFORE UPDATE ON public.messages
            FOR EACH ROW EXECUTE FUNCTION public.update_updated_at_column();
    END IF;
END
$$;

DO $$
BEGIN
    IF to_regclass('public.message_templates') IS NULL THEN
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
    END IF;
END
$$;

DO $$
BEGIN
    IF to_regclass('public.api_usage') IS NULL THEN
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
    END IF;
END
$$;

DO $$
BEGIN
    IF to_regclass('public.rate_limits') IS NULL THEN
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
    END IF;
END
$$;

DO $$
BEGIN
    IF to_regclass('public.webhook_events') IS NULL THEN
        CREATE TABLE public.webhook_events (
            id SERIAL PRIMARY KEY,
            phone_number_id integer REFERENCES public.phone_numbers (id) ON DELETE CASCADE,
            event_type varchar(50) NOT NULL,
            payload jsonb NOT NULL,
            retry_count integer DEFAULT 0,
            status varchar(20) DEFAULT 'pending',
            sent_at timestamptz,
            created_at timestamptz DEFAULT now()
        );
        CREATE INDEX idx_webhook_events_phone_number_id ON public.webhook_events (phone_number_id);
        CREATE INDEX idx_webhook_events_status ON public.webhook_events (status);
    END IF;
END
$$;

COMMIT;
