/**
 * The migration tracking table lives in its own schema, apart from the application's `public`.
 * init-complete.sql creates the same table (kept equal by a test) and stamps the versions it contains.
 */
export const TRACKING_SCHEMA = 'chatflow_db';
export const TRACKING_TABLE = `${TRACKING_SCHEMA}.schema_migrations`;

export const TRACKING_DDL = `CREATE SCHEMA IF NOT EXISTS chatflow_db;
CREATE TABLE IF NOT EXISTS chatflow_db.schema_migrations (
    version text PRIMARY KEY,
    name text NOT NULL,
    checksum text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(),
    duration_ms integer NOT NULL DEFAULT 0,
    applied_by text NOT NULL DEFAULT current_user
);`;
