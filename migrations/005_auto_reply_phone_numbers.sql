-- ChatFlow 005: auto-reply configurations and sessions tied to phone numbers.
-- Each column is added only where it is missing; 007_converge_schema.sql converges the ones a legacy
-- database already has. Safe to run again. psql -f runs it as one transaction.

BEGIN;

-- Rows that predate these columns keep NULL (SCHEMA.md "Later columns"); an empty array means "all numbers".
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM information_schema.columns
                   WHERE table_schema = 'public' AND table_name = 'auto_reply_configs' AND column_name = 'phone_numbers') THEN
        ALTER TABLE public.auto_reply_configs ADD COLUMN phone_numbers integer[];
        ALTER TABLE public.auto_reply_configs ALTER COLUMN phone_numbers SET DEFAULT '{}';
        CREATE INDEX idx_auto_reply_configs_phone_numbers ON public.auto_reply_configs USING gin (phone_numbers);
    END IF;
    IF NOT EXISTS (SELECT 1 FROM information_schema.columns
                   WHERE table_schema = 'public' AND table_name = 'auto_reply_sessions' AND column_name = 'phone_number_id') THEN
        ALTER TABLE public.auto_reply_sessions
            ADD COLUMN phone_number_id integer REFERENCES public.phone_numbers (id) ON DELETE CASCADE;
        CREATE INDEX idx_auto_reply_sessions_phone_number_id ON public.auto_reply_sessions (phone_number_id);
    END IF;
END
$$;

COMMIT;
