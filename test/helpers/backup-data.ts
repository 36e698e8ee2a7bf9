/** Shared by the backup integration tests: seed data, snapshot, restore with plain gunzip | psql. */
import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { withDb, dbEnv } from './database.js';

export async function seed(database: string, extraRows = 0): Promise<void> {
  await withDb(database, async (client) => {
    await client.query(`
      CREATE TABLE users (id bigserial PRIMARY KEY, email text UNIQUE NOT NULL, profile jsonb, created_at timestamptz NOT NULL DEFAULT now());
      CREATE TABLE messages (id bigserial PRIMARY KEY, user_id bigint REFERENCES users(id), body text, attachment bytea, meta jsonb);
      CREATE INDEX messages_user ON messages(user_id);
      CREATE VIEW user_counts AS SELECT user_id, count(*) AS n FROM messages GROUP BY user_id;
      INSERT INTO users (email, profile) SELECT 'user' || i || '@example.com', jsonb_build_object('name', 'Ünïcødé ' || i, 'tags', jsonb_build_array('a', i)) FROM generate_series(1, 200) i;
      INSERT INTO messages (user_id, body, attachment, meta)
        SELECT 1 + i % 200, CASE WHEN i % 17 = 0 THEN NULL ELSE 'Hello ' || i || E' \\t tab, quote '' and "double", newline\\n ' || repeat('lorem ipsum ', i % 20) END,
               CASE WHEN i % 5 = 0 THEN decode(md5(i::text), 'hex') END, jsonb_build_object('i', i, 'emoji', '💬')
        FROM generate_series(1, 3000) i;
    `);
    if (extraRows > 0) {
      // Hex noise compresses poorly: makes the archive large enough for a multipart upload.
      await client.query(`CREATE TABLE noise (id int, data text);
        INSERT INTO noise SELECT i, md5(random()::text) || md5(random()::text) || md5(random()::text) FROM generate_series(1, ${extraRows}) i`);
    }
  });
}

/** Everything that matters of the seeded tables, as one comparable string. */
export async function snapshot(database: string): Promise<string> {
  return withDb(database, async (client) => {
    const parts: unknown[] = [];
    for (const sql of [
      'SELECT * FROM users ORDER BY id',
      'SELECT id, user_id, body, encode(attachment, $$hex$$) AS attachment, meta FROM messages ORDER BY id',
      'SELECT * FROM user_counts ORDER BY user_id',
      'SELECT last_value FROM messages_id_seq',
      "SELECT count(*), coalesce(sum(length(data)), 0) FROM (SELECT * FROM noise) n WHERE to_regclass('noise') IS NOT NULL",
    ]) {
      parts.push((await client.query(sql).catch(() => ({ rows: ['no table'] }))).rows);
    }
    return JSON.stringify(parts);
  });
}

/** `gunzip -c | psql` into `database`: the documented way to restore without this tool. */
export function gunzipIntoPsql(archive: Readable, database: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', 'gunzip -c | psql -q -v ON_ERROR_STOP=1 >/dev/null'], {
      env: { ...process.env, ...dbEnv(database) },
      stdio: ['pipe', 'inherit', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    archive.pipe(child.stdin);
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`gunzip | psql exited ${code}: ${stderr}`)),
    );
  });
}
