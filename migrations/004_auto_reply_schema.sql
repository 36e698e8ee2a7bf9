-- ChatFlow 004: auto-reply configurations, multi-level menus, sessions and logs.
-- Each table is created only where it is missing: an existing one belongs to a legacy database, which
-- 007_converge_schema.sql brings onto SCHEMA.md. Safe to run again. psql -f runs it as one transaction.

BEGIN;

DO $$
BEGIN
    IF to_regclass('public.auto_reply_configs') IS NULL THEN
        CREATE TABLE public.auto_reply_configs (
            id SERIAL PRIMARY KEY,
            user_id integer REFERENCES public.users (id) ON DELETE CASCADE,
            name varchar(100) NOT NULL,
            trigger_keywords text[] NOT NULL,
            welcome_message text NOT NULL,
            is_active boolean DEFAULT true,
            created_at timestamptz DEFAULT now(),
            updated_at timestamptz DEFAULT now()
        );
        CREATE INDEX idx_auto_reply_configs_active ON public.auto_reply_configs (is_active);
        CREATE INDEX idx_auto_reply_configs_user_id ON public.auto_reply_configs (user_id);
        CREATE TRIGGER update_auto_reply_configs_updated_at BEFORE UPDATE ON public.auto_reply_configs
            FOR EACH ROW EXECUTE FUNCTION public.update_updated_at_column();
    END IF;
END
$$;

DO $$
BEGIN
    IF to_regclass('public.auto_reply_menus') IS NULL THEN
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
    END IF;
END
$$;

DO $$
BEGIN
    IF to_regclass('public.auto_reply_sessions') IS NULL THEN
        CREATE TABLE public.auto_reply_sessions (
            id SERIAL PRIMARY KEY,
            phone_number varchar(20) NOT NULL,
            config_id integer REFERENCES public.auto_reply_configs (id) ON DELETE CASCADE,
            current_menu_id integer REFERENCES public.auto_reply_menus (id) ON DELETE SET NULL,
            session_data jsonb DEFAULT '{}',
            last_interaction timestamptz DEFAULT now(),
            is_active boolean DEFAULT true,
            created_at timestamptz DEFAULT now()
        );
        CREATE INDEX idx_auto_reply_sessions_active ON public.auto_reply_sessions (is_active);
        CREATE INDEX idx_auto_reply_sessions_config_id ON public.auto_reply_sessions (config_id);
        CREATE INDEX idx_auto_reply_sessions_current_menu_id ON public.auto_reply_sessions (current_menu_id);
        CREATE INDEX idx_auto_reply_sessions_phone ON public.auto_reply_sessions (phone_number);
    END IF;
END
$$;

DO $$
BEGIN
    IF to_regclass('public.auto_reply_logs') IS NULL THEN
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
    END IF;
END
$$;

COMMIT;
