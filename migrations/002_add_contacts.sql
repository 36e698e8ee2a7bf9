-- ChatFlow 002: contacts, contact categories and their relations, then contacts.categories.
-- Each table is created only where it is missing: an existing one belongs to a legacy database, which
-- 007_converge_schema.sql brings onto SCHEMA.md. Safe to run again. psql -f runs it as one transaction.

BEGIN;

DO $$
BEGIN
    IF to_regclass('public.contacts') IS NULL THEN
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
            UNIQUE (user_id, phone)
        );
        CREATE INDEX idx_contacts_phone ON public.contacts (phone);
        CREATE INDEX idx_contacts_user_id ON public.contacts (user_id);
        CREATE TRIGGER update_contacts_updated_at BEFORE UPDATE ON public.contacts
            FOR EACH ROW EXECUTE FUNCTION public.update_updated_at_column();
    END IF;
END
$$;

DO $$
BEGIN
    IF to_regclass('public.contact_categories') IS NULL THEN
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
    END IF;
END
$$;

DO $$
BEGIN
    IF to_regclass('public.contact_category_relations') IS NULL THEN
        CREATE TABLE public.contact_category_relations (
            id SERIAL PRIMARY KEY,
            contact_id integer REFERENCES public.contacts (id) ON DELETE CASCADE,
            category_id integer REFERENCES public.contact_categories (id) ON DELETE CASCADE,
            created_at timestamptz DEFAULT now(),
            UNIQUE (contact_id, category_id)
        );
        CREATE INDEX idx_contact_relations_category_id ON public.contact_category_relations (category_id);
        CREATE INDEX idx_contact_relations_contact_id ON public.contact_category_relations (contact_id);
    END IF;
END
$$;

-- contacts.categories arrived after the table: rows that predate it keep NULL (SCHEMA.md "Later columns").
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM information_schema.columns
                   WHERE table_schema = 'public' AND table_name = 'contacts' AND column_name = 'categories') THEN
        ALTER TABLE public.contacts ADD COLUMN categories text[];
        ALTER TABLE public.contacts ALTER COLUMN categories SET DEFAULT '{}';
        CREATE INDEX idx_contacts_categories ON public.contacts USING gin (categories);
    END IF;
END
$$;

COMMIT;
