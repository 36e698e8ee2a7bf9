-- ChatFlow 003: broadcast templates, broadcasts, recipients, messages, progress, scheduled messages.
-- Each table is created only where it is missing: an existing one belongs to a legacy database, which
-- 007_converge_schema.sql brings onto SCHEMA.md. Safe to run again. psql -f runs it as one transaction.

BEGIN;

DO $$
BEGIN
    IF to_regclass('public.broadcast_templates') IS NULL THEN
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
    END IF;
END
$$;

DO $$
BEGIN
    IF to_regclass('public.broadcasts') IS NULL THEN
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
    END IF;
END
$$;

DO $$
BEGIN
    IF to_regclass('public.broadcast_recipients') IS NULL THEN
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
    END IF;
END
$$;

DO $$
BEGIN
    IF to_regclass('public.broadcast_messages') IS NULL THEN
        CREATE TABLE public.broadcast_messages (
            id SERIAL PRIMARY KEY,
            broadcast_id integer REFERENCES public.broadcasts (id) ON DELETE CASCADE,
            contact_id integer REFERENCES public.contacts (id) ON DELETE CASCADE,
            phone varchar(20) NOT NULL,
            message text NOT NULL,
            status varchar(50) DEFAULT 'pending',
            sent_at timestamptz,
            error_message text,
            created_at timestamptz DEFAULT now()
        );
        CREATE INDEX idx_broadcast_messages_broadcast_id ON public.broadcast_messages (broadcast_id);
        CREATE INDEX idx_broadcast_messages_contact_id ON public.broadcast_messages (contact_id);
        CREATE INDEX idx_broadcast_messages_status ON public.broadcast_messages (status);
    END IF;
END
$$;

DO $$
BEGIN
    IF to_regclass('public.broadcast_progress') IS NULL THEN
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
    END IF;
END
$$;

DO $$
BEGIN
    IF to_regclass('public.scheduled_messages') IS NULL THEN
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
            updated_at timestamptz DEFAULT now()
        );
        CREATE INDEX idx_scheduled_messages_phone_id ON public.scheduled_messages (phone_id);
        CREATE INDEX idx_scheduled_messages_scheduled_at ON public.scheduled_messages (scheduled_at);
        CREATE INDEX idx_scheduled_messages_status ON public.scheduled_messages (status);
        CREATE INDEX idx_scheduled_messages_user_id ON public.scheduled_messages (user_id);
        CREATE TRIGGER update_scheduled_messages_updated_at BEFORE UPDATE ON public.scheduled_messages
            FOR EACH ROW EXECUTE FUNCTION public.update_updated_at_column();
    END IF;
END
$$;

COMMIT;
