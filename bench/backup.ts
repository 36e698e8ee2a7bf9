/**
 * `npm run bench -- backup [--size 1GB] [--levels 1,2,3,4,6] [--drop]`: on one generated ChatFlow
 * database (the real schema, see ensureDataset), the wall time of each way to take a backup divided by that of `pg_dump > /dev/null` (the
 * floor), the archive size against `gzip -6`, and the peak RSS (VmHWM) of the chatflow-db process.
 * Targets: chatflow-db <= 1.25 x the floor, <= 1.10 x the gzip -6 size, <= 150 MiB RSS.
 * Encryption: the default-level local backup is run in clear and encrypted with age (BACKUP_AGE_RECIPIENTS),
 * alternating, `--age-runs N` pairs (default 2); printed: wall time and CPU time (user + system of the
 * chatflow-db process) of each, and their ratios. Target: encrypted <= 1.05 x clear wall time, RSS <= 150 MiB.
 * The S3 and local + S3 runs use the default BACKUP_COMPRESSION_LEVEL; --levels sweeps the local run.
 *
 * --node /path/to/node or a major such as 24 (or BENCH_NODE): also runs the chatflow-db rows (local at the
 * default level, S3, local + S3) under that Node binary, so one run prints the figures of both Node majors. A
 * major is fetched once by scripts/with-node.sh (Node's official build from the npm registry); the image
 * ships Node 24, so `--node 24` measures the image's Node without the image.
 *
 * --size is the approximate plain-SQL dump size (MB by default; 1GB, 500MB also work); default 200MB.
 * The dataset is made once per size and kept as `cfdb_bench_<MB>` (dropped with --drop).
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SETTINGS } from '../src/config/settings.js';
import { generateKeyPair } from '../src/lib/age.js';
import { startS3 } from '../scripts/support/s3rver.js';
import { benchEnv as env, CLI, query, textOption as option } from './common.js';

const DEFAULT_LEVEL = SETTINGS.find((s) => s.name === 'BACKUP_COMPRESSION_LEVEL')?.default ?? '?';

function megabytes(text: string | undefined, fallback: number): number {
  const match = /^(\d+(?:\.\d+)?)\s*(gb|g|mb|m)?$/i.exec(text ?? '');
  if (!match) return fallback;
  return Math.round(Number(match[1]) * (/^g/i.test(match[2] ?? '') ? 1024 : 1));
}

interface Timed {
  seconds: number;
  /** Peak RSS of the process itself (VmHWM), in MiB; undefined for shell pipelines. */
  peakRssMiB?: number;
  /** CPU seconds (user + system, all threads) of the process, as last seen before it exited. */
  cpuSeconds?: number;
}

const TICKS_PER_SECOND = 100;

/** Runs a command; wall time, and the process's own VmHWM read until it exits. Throws on failure. */
function timed(
  command: string,
  args: string[],
  environment: NodeJS.ProcessEnv,
  watchRss = false,
): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(command, args, { env: environment, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let peakKiB = 0;
    let cpuTicks = 0;
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr = (stderr + text).slice(-4000)));
    const poll = watchRss
      ? setInterval(() => {
          try {
            const hwm = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
            if (hwm) peakKiB = Math.max(peakKiB, Number(hwm[1]));
            // Fields 14 and 15 of /proc/<pid>/stat (after the parenthesised name): utime, stime.
            const stat = readFileSync(`/proc/${child.pid}/stat`, 'utf8');
            const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
            cpuTicks = Math.max(cpuTicks, Number(fields[11]) + Number(fields[12]));
          } catch {
            // exited between polls
          }
        }, 20)
      : undefined;
    child.on('error', reject);
    child.on('close', (code) => {
      if (poll) clearInterval(poll);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (code !== 0) reject(new Error(`${command} ${args.join(' ')} exited ${code}: ${stderr}`));
      else
        resolve(
          watchRss
            ? { seconds, peakRssMiB: peakKiB / 1024, cpuSeconds: cpuTicks / TICKS_PER_SECOND }
            : { seconds },
        );
    });
  });
}

/** The binary --node names: a path as given, or a major (`24`) fetched by scripts/with-node.sh. */
function nodeBinary(given: string | undefined): string | undefined {
  if (given === undefined || !/^\d+$/.test(given)) return given;
  const script = fileURLToPath(new URL('../../scripts/with-node.sh', import.meta.url));
  return execFileSync('bash', [script, given, 'node', '-p', 'process.execPath'], { encoding: 'utf8' }).trim();
}

/** `v24.1.0` of a node binary (what --node names), the running one's without spawning. */
function nodeVersion(node: string): string {
  if (node === process.execPath) return process.version;
  return execFileSync(node, ['--version'], { encoding: 'utf8' }).trim();
}

const sh = (script: string, environment: NodeJS.ProcessEnv): Promise<Timed> =>
  timed('sh', ['-c', `set -e; ${script}`], environment);

/**
 * The real ChatFlow schema (initdb/init-complete.sql, run with psql) filled with generated rows that look like
 * a WhatsApp gateway's: users and their numbers, contacts with categories, messages (the bulk: short and long
 * texts in English, Portuguese, Spanish and Indonesian, some with emoji, media on some), webhook events and
 * incoming messages with WhatsApp-like jsonb bodies, broadcasts and their messages, auto-reply logs.
 * Text is drawn from phrase pools (far larger than gzip's 32 KiB window) and ids/phones/timestamps vary per
 * row, so the dump compresses about like real chat data: neither one repeated row nor random hex.
 * All in SQL (generate_series), so even a 1 GB dataset takes a minute or two.
 */
export async function ensureDataset(database: string, sizeMB: number): Promise<void> {
  const exists = await query<{ n: number }>(
    `SELECT count(*)::int AS n FROM pg_database WHERE datname = '${database}'`,
  );
  if (exists[0]?.n) return;
  // Built under another name and renamed when complete: an interrupted run never leaves a half dataset.
  const building = `${database}_building`;
  await query(`DROP DATABASE IF EXISTS ${building} WITH (FORCE)`);
  await query(`CREATE DATABASE ${building}`);
  await psqlFile(building, SCHEMA);
  // ~BYTES_PER_MESSAGE bytes of plain dump per message row, all tables together.
  const messages = Math.max(2000, Math.round((sizeMB * 1024 * 1024) / BYTES_PER_MESSAGE));
  const users = Math.max(10, Math.round(messages / 20_000));
  const phones = users * 2;
  const contacts = Math.max(200, Math.round(messages / 25));
  const broadcasts = Math.max(5, Math.round(messages / 5_000));
  const sessions = Math.max(50, Math.round(contacts / 10));
  console.log(`bench backup: generating ${database} (${messages} messages, ${contacts} contacts)...`);
  await query(datasetSql({ messages, users, phones, contacts, broadcasts, sessions }), building);
  await query(`ALTER DATABASE ${building} RENAME TO ${database}`);
}

const SCHEMA = fileURLToPath(new URL('../../initdb/init-complete.sql', import.meta.url));
const BYTES_PER_MESSAGE = 560;

function psqlFile(database: string, file: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-f', file], {
      env: env(database),
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr = (stderr + text).slice(-4000)));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`psql -f ${file} exited ${code}: ${stderr}`)),
    );
  });
}

interface Counts {
  messages: number;
  users: number;
  phones: number;
  contacts: number;
  broadcasts: number;
  sessions: number;
}

/** Word lists per language; phrases are drawn from them, messages from phrases of one language. */
const WORDS = {
  en: `hi hello thanks thank you ok okay sure please can I get the order my your when will it arrive today tomorrow
    price how much is this still available delivery address payment sent received confirm yes no maybe later
    good morning afternoon evening night see you soon call me back waiting for reply sorry late meeting at
    office home store open close weekend week next last invoice receipt discount promo code size color blue
    red black white small medium large pick up check status track number refund cancel change update`,
  pt: `oi olá bom dia boa tarde noite obrigado obrigada tudo bem sim não talvez depois quando chega meu pedido
    hoje amanhã quanto custa ainda tem disponível entrega endereço pagamento pix enviado recebido confirmar
    por favor pode me ligar aguardo retorno desculpa atraso reunião loja aberta fechada semana próxima nota
    fiscal desconto cupom tamanho cor azul vermelho preto branco pequeno médio grande retirar rastreio
    código reembolso cancelar trocar valor frete grátis cliente atendimento horário segunda sexta sábado`,
  es: `hola buenos días buenas tardes noches gracias muchas vale sí no quizás luego cuándo llega mi pedido hoy
    mañana cuánto cuesta todavía disponible envío dirección pago transferencia enviado recibido confirmar por
    favor puede llamarme espero respuesta perdón retraso reunión tienda abierta cerrada semana próxima
    factura descuento cupón talla color azul rojo negro blanco pequeño mediano grande recoger seguimiento
    número reembolso cancelar cambiar precio gratis cliente atención horario lunes viernes sábado`,
  id: `halo selamat pagi siang sore malam terima kasih banyak oke ya tidak mungkin nanti kapan pesanan saya
    sampai hari ini besok berapa harganya masih ada tersedia pengiriman alamat pembayaran transfer sudah
    dikirim diterima konfirmasi tolong bisa telepon saya tunggu balasan maaf terlambat rapat toko buka tutup
    minggu depan faktur diskon kode promo ukuran warna biru merah hitam putih kecil sedang besar ambil cek
    status resi nomor refund batal ganti harga gratis ongkir pelanggan layanan jam senin jumat sabtu`,
};
/** How a phrase ends: mostly nothing or punctuation, sometimes an emoji. */
const ENDINGS = [
  '',
  '',
  '',
  '',
  '.',
  '.',
  '!',
  '?',
  ...['👍', '🙏', '😊', '😂', '❤️', '🔥', '✅', '🎉', '😅', '👌', '📦', '💰'].map((e) => ` ${e}`),
];
const FIRST = `Maria Ana João Pedro Lucas Gabriel Juliana Fernanda Carlos José Luis Sofía Valentina Mateo Diego
  Camila Budi Siti Dewi Agus Rina Putri Andi Wahyu John Sarah Michael Emily David Jessica Daniel Laura`;
const LAST = `Silva Santos Oliveira Souza Pereira Costa Rodrigues Almeida García Martínez López González Pérez
  Sánchez Ramírez Torres Santoso Wijaya Pratama Saputra Hidayat Kurniawan Smith Johnson Brown Miller Davis`;

const list = (text: string): string =>
  text
    .trim()
    .split(/\s+/)
    .map((w) => `'${w.replace(/'/g, "''")}'`)
    .join(',');

function datasetSql(c: Counts): string {
  const langs = Object.keys(WORDS);
  const perLang = 12_500;
  const phrasePool = perLang * langs.length;
  // A phone number per index: country code + 10 digits; 48271 is a unit modulo the prime 2^31-1, so
  // distinct indexes give distinct numbers.
  const phone = (index: string): string =>
    `((ARRAY['55','62','1','34','52','91','234'])[1 + (${index}) % 7] || lpad((((${index}) + 104729)::bigint * 48271 % 2147483647)::text, 10, '0'))`;
  const ts = (secondsAgo: string): string =>
    `(timestamptz '2025-06-01 00:00:00+00' - ((${secondsAgo}) || ' seconds')::interval)`;
  // Message i spans a year, oldest first.
  const span = 365 * 86_400;
  return `
    SELECT setseed(0.42);
    CREATE TEMP TABLE words AS
      SELECT l.lang, l.n, l.w FROM (VALUES ${langs
        .map((lang, n) => `('${lang}', ${n}, ARRAY[${list(WORDS[lang as keyof typeof WORDS])}])`)
        .join(', ')}) AS l(lang, n, w);
    CREATE TEMP TABLE phrases AS
      SELECT p.id, p.id / ${perLang} AS lang,
             (SELECT string_agg(w.w[1 + floor(random() * array_length(w.w, 1))::int], ' ')
                FROM words w, generate_series(1, 2 + (p.id * 7) % 9) k WHERE w.n = p.id / ${perLang} AND k > 0)
             || (ARRAY[${ENDINGS.map((e) => `'${e}'`).join(', ')}])[1 + floor(random() * ${ENDINGS.length})::int] AS text
      FROM generate_series(0, ${phrasePool - 1}) p(id);
    CREATE UNIQUE INDEX ON phrases (id);
    ANALYZE phrases;
    CREATE TEMP TABLE names AS
      SELECT row_number() OVER () - 1 AS id, f || ' ' || l AS name, lower(f) AS first, lower(l) AS last
      FROM unnest(ARRAY[${list(FIRST)}]) f, unnest(ARRAY[${list(LAST)}]) l;
    CREATE UNIQUE INDEX ON names (id);
    ANALYZE names;

    INSERT INTO users (username, email, password_hash, api_key, jwt_secret, created_at)
      SELECT 'user' || u, 'owner' || u || '@shop' || (u % 50) || '.example.com',
             '$2b$10$' || substr(md5('pw' || u), 1, 22) || substr(md5('salt' || u), 1, 31),
             'cf_' || md5('key' || u), md5('jwt' || u), ${ts(`${span} + u * 3600`)}
      FROM generate_series(1, ${c.users}) u;
    INSERT INTO phone_numbers (user_id, phone_number, device_name, token, webhook_url, webhook_secret, is_connected,
                               last_seen, session_data, auto_reply, created_at, evolution_instance)
      SELECT 1 + (p - 1) / 2, ${phone(`p + 5000000`)}, (ARRAY['Shop phone', 'Support', 'Sales', 'iPhone 13', 'Galaxy A54'])[1 + p % 5],
             md5('token' || p), 'https://hooks.shop' || p || '.example.com/whatsapp', substr(md5('ws' || p), 1, 24),
             p % 4 <> 0, ${ts(`p * 61`)},
             jsonb_build_object('jid', ${phone(`p + 5000000`)} || '@s.whatsapp.net', 'platform', 'android', 'pushname', 'Shop ' || p, 'battery', 20 + p % 80),
             CASE WHEN p % 3 = 0 THEN 'Thanks for your message! We reply within 1 hour.' END,
             ${ts(`${span} + p * 1800`)}, CASE WHEN p % 2 = 0 THEN 'instance_' || p END
      FROM generate_series(1, ${c.phones}) p;
    INSERT INTO contact_categories (user_id, name, color)
      SELECT u, cat, (ARRAY['#1976d2', '#388e3c', '#f57c00', '#d32f2f', '#7b1fa2', '#455a64'])[1 + ord::int % 6]
      FROM generate_series(1, ${c.users}) u,
           unnest(ARRAY['customer', 'lead', 'vip', 'supplier', 'wholesale', 'newsletter']) WITH ORDINALITY AS t(cat, ord);
    INSERT INTO contacts (user_id, name, phone, email, company, address, notes, categories, created_at)
      SELECT 1 + k % ${c.users}, n.name, ${phone('k')},
             CASE WHEN k % 3 = 0 THEN n.first || '.' || n.last || (k % 1000) || (ARRAY['@gmail.com', '@yahoo.com', '@hotmail.com', '@outlook.com'])[1 + k % 4] END,
             CASE WHEN k % 5 = 0 THEN initcap(n.last) || ' ' || (ARRAY['Ltda', 'S.A.', 'LLC', 'PT', 'Store', 'Imports'])[1 + k % 6] END,
             CASE WHEN k % 4 = 0 THEN (k % 2000) || ' ' || (ARRAY['Rua das Flores', 'Av. Paulista', 'Calle Mayor', 'Jl. Sudirman', 'Main Street'])[1 + k % 5] || ', ' || (ARRAY['São Paulo', 'Jakarta', 'Madrid', 'Ciudad de México', 'Lagos', 'Rio de Janeiro'])[1 + k % 6] END,
             CASE WHEN k % 7 = 0 THEN ph.text END,
             string_to_array((ARRAY['', 'customer', 'lead', 'customer,vip', 'supplier', 'customer,newsletter', 'lead,newsletter', 'wholesale,customer,vip'])[1 + k % 8], ','),
             ${ts(`${span} - k * 7`)}
      FROM generate_series(1, ${c.contacts}) k
      JOIN names n ON n.id = (k * 31) % (SELECT count(*) FROM names)
      JOIN phrases ph ON ph.id = (k * 7919) % ${phrasePool};
    INSERT INTO contact_category_relations (contact_id, category_id)
      SELECT ct.id, cc.id FROM contacts ct JOIN contact_categories cc ON cc.user_id = ct.user_id AND cc.name = ANY (ct.categories);

    INSERT INTO messages (phone_number_id, message_id, from_number, to_number, message_type, content, media_url, media_type,
                          status, webhook_sent, created_at, updated_at, user_id, direction, provider, external_message_id)
      SELECT g.pn, g.mid, CASE WHEN g.inbound THEN g.other ELSE g.own END, CASE WHEN g.inbound THEN g.own ELSE g.other END,
             g.mtype,
             CASE WHEN g.mtype = 'text' OR g.r2 < 0.4 THEN
               CASE WHEN g.r < 0.15 THEN (ARRAY['ok', 'Ok 👍', 'sim', 'sí', 'ya', 'thanks!', 'obrigado', 'gracias', 'makasih kak', '🙏', 'oke siap', 'certo'])[1 + floor(g.r2 * 12)::int]
                    WHEN g.r < 0.70 THEN p1.text
                    WHEN g.r < 0.93 THEN p1.text || ' ' || p2.text
                    ELSE p1.text || E'\\n' || p2.text || ' ' || p3.text || E'\\n\\n' || p1.text END
             END,
             CASE WHEN g.mtype <> 'text' THEN 'https://mmg.whatsapp.net/v/t62.7118-24/' || (30000000 + g.i % 9999999) || '_' || (1000000000 + (g.i::bigint * 7919) % 999999999)
               || '_n.enc?ccb=11-4&oh=01_Q5AaI' || substr(md5(g.i::text), 1, 20) || '&oe=' || upper(to_hex(1700000000 + g.i)) || '&_nc_sid=5e03e0&mms3=true' END,
             CASE g.mtype WHEN 'image' THEN 'image/jpeg' WHEN 'audio' THEN 'audio/ogg; codecs=opus' WHEN 'video' THEN 'video/mp4'
               WHEN 'document' THEN 'application/pdf' END,
             CASE WHEN g.inbound THEN 'received' WHEN g.r2 < 0.02 THEN 'failed' WHEN g.r2 < 0.10 THEN 'sent' WHEN g.r2 < 0.45 THEN 'delivered' ELSE 'read' END,
             g.r2 > 0.03, g.at, g.at + ((g.r2 * 90)::int || ' seconds')::interval, 1 + (g.pn - 1) / 2,
             CASE WHEN g.inbound THEN 'inbound' ELSE 'outbound' END,
             CASE WHEN g.pn % 2 = 0 THEN 'evolution-api' ELSE 'go-whatsapp-web-multidevice' END,
             CASE WHEN g.pn % 2 = 0 THEN 'BAE5' || upper(substr(md5('x' || g.i), 1, 12)) END
      FROM (
        SELECT s.*, ${phone(`s.contact`)} AS other, ${phone(`s.pn + 5000000`)} AS own,
               CASE WHEN s.r3 < 0.86 THEN 'text' WHEN s.r3 < 0.94 THEN 'image' WHEN s.r3 < 0.97 THEN 'audio' WHEN s.r3 < 0.99 THEN 'document' ELSE 'video' END AS mtype,
               '3EB0' || upper(substr(md5(s.i::text), 1, 16)) AS mid,
               ${ts(`${span} - s.i::bigint * ${span} / ${c.messages}`)} AS at
        FROM (
          SELECT i, random() AS r, random() AS r2, random() AS r3, random() < 0.5 AS inbound,
                 1 + (i / 7) % ${c.phones} AS pn, 1 + ((i / 5) * 2654435761::bigint) % ${c.contacts} AS contact,
                 lang * ${perLang} + floor(random() * ${perLang})::int AS k1,
                 lang * ${perLang} + floor(random() * ${perLang})::int AS k2,
                 lang * ${perLang} + floor(random() * ${perLang})::int AS k3
          FROM (SELECT i, (i / 5) % ${langs.length} AS lang FROM generate_series(1, ${c.messages}) i) l
        ) s
      ) g
      JOIN phrases p1 ON p1.id = g.k1 JOIN phrases p2 ON p2.id = g.k2 JOIN phrases p3 ON p3.id = g.k3;

    INSERT INTO webhook_events (phone_number_id, phone_id, event_type, payload, retry_count, status, sent_at, created_at, updated_at)
      SELECT m.phone_number_id, m.phone_number_id,
             CASE WHEN m.direction = 'inbound' THEN 'message.received' ELSE 'message.status' END,
             jsonb_build_object('object', 'whatsapp_business_account', 'entry', jsonb_build_array(jsonb_build_object(
               'id', (100000000000000 + m.phone_number_id * 7919)::text,
               'changes', jsonb_build_array(jsonb_build_object('field', 'messages', 'value',
                 CASE WHEN m.direction = 'inbound' THEN jsonb_build_object(
                   'messaging_product', 'whatsapp',
                   'metadata', jsonb_build_object('display_phone_number', m.to_number, 'phone_number_id', (200000000000000 + m.phone_number_id)::text),
                   'contacts', jsonb_build_array(jsonb_build_object('profile', jsonb_build_object('name', n.name), 'wa_id', m.from_number)),
                   'messages', jsonb_build_array(jsonb_build_object('from', m.from_number, 'id', 'wamid.HBgM' || m.from_number || 'FQIAEhgg' || m.message_id,
                     'timestamp', extract(epoch FROM m.created_at)::bigint::text, 'type', m.message_type,
                     'text', jsonb_build_object('body', coalesce(m.content, '')))))
                 ELSE jsonb_build_object(
                   'messaging_product', 'whatsapp',
                   'metadata', jsonb_build_object('display_phone_number', m.from_number, 'phone_number_id', (200000000000000 + m.phone_number_id)::text),
                   'statuses', jsonb_build_array(jsonb_build_object('id', 'wamid.HBgM' || m.to_number || 'FQIAERgS' || m.message_id,
                     'status', m.status, 'timestamp', extract(epoch FROM m.updated_at)::bigint::text, 'recipient_id', m.to_number,
                     'conversation', jsonb_build_object('id', md5(m.to_number || m.phone_number_id), 'origin', jsonb_build_object('type', 'service')),
                     'pricing', jsonb_build_object('billable', true, 'pricing_model', 'CBP', 'category', 'service'))))
                 END))))),
             CASE WHEN m.status = 'failed' THEN 3 ELSE 0 END, CASE WHEN m.id % 50 = 0 THEN 'failed' WHEN m.id % 50 = 1 THEN 'pending' ELSE 'sent' END,
             m.created_at + interval '1 second', m.created_at, m.updated_at
      FROM messages m JOIN names n ON n.id = m.id % (SELECT count(*) FROM names)
      WHERE m.id % 3 = 0;

    INSERT INTO incoming_messages (message_id, phone_id, device_id, sender_phone, sender_name, message_type, message_content,
                                   is_group, group_id, raw_payload, received_at, updated_at)
      SELECT 'in_' || m.message_id, m.phone_number_id, 'device_' || m.phone_number_id, m.from_number, n.name, m.message_type, m.content,
             m.id % 11 = 0, CASE WHEN m.id % 11 = 0 THEN '1203630' || (20000000 + m.id % 500) || '@g.us' END,
             jsonb_build_object('sender_id', m.from_number, 'chat_id', CASE WHEN m.id % 11 = 0 THEN '1203630' || (20000000 + m.id % 500) || '@g.us' ELSE m.from_number || '@s.whatsapp.net' END,
               'from', m.from_number || '@s.whatsapp.net', 'pushname', n.name, 'timestamp', to_char(m.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
               'message', jsonb_build_object('id', m.message_id, 'text', m.content, 'replied_id', '', 'quoted_message', ''),
               'device_id', 'device_' || m.phone_number_id),
             m.created_at, m.created_at
      FROM messages m JOIN names n ON n.id = m.id % (SELECT count(*) FROM names)
      WHERE m.direction = 'inbound' AND m.id % 4 = 1;

    INSERT INTO broadcast_templates (user_id, name, message, variables)
      SELECT u, t.name, t.message, '["name"]'::jsonb FROM generate_series(1, ${c.users}) u,
        (VALUES ('promo', 'Olá {name}! Nossa promoção de fim de semana começou: 20% de desconto em tudo com o cupom FDS20. Responda SAIR para não receber mais.'),
                ('restock', 'Hi {name}, good news: the items you asked about are back in stock. Reply 1 to order or 2 to talk to us.'),
                ('ongkir', 'Halo kak {name}, gratis ongkir se-Indonesia sampai hari Minggu! Cek katalog kami ya 🙏')) AS t(name, message);
    INSERT INTO broadcasts (user_id, name, message, template_id, contact_filter, status, total_contacts, sent_count, failed_count, started_at, completed_at, created_at)
      SELECT 1 + b % ${c.users}, 'Campaign ' || b, t.message, t.id, jsonb_build_object('categories', jsonb_build_array('customer')),
             CASE WHEN b % 10 = 0 THEN 'sending' ELSE 'completed' END, 0, 0, 0, ${ts(`b * 3600`)}, ${ts(`b * 3600 - 1800`)}, ${ts(`b * 3600 + 600`)}
      FROM generate_series(1, ${c.broadcasts}) b
      JOIN broadcast_templates t ON t.id = 1 + (b % ${c.users}) * 3 + b % 3;
    INSERT INTO broadcast_messages (broadcast_id, contact_id, phone, message, status, sent_at, error_message, created_at, user_id)
      SELECT b.id, ct.id, ct.phone, replace(b.message, '{name}', split_part(ct.name, ' ', 1)),
             CASE WHEN ct.id % 40 = 0 THEN 'failed' ELSE 'sent' END, b.started_at + (ct.id % 1800 || ' seconds')::interval,
             CASE WHEN ct.id % 40 = 0 THEN 'number not on WhatsApp' END, b.started_at, b.user_id
      FROM broadcasts b JOIN contacts ct ON ct.user_id = b.user_id AND (ct.id + b.id) % 4 = 0;
    UPDATE broadcasts b SET total_contacts = s.n, sent_count = s.sent, failed_count = s.n - s.sent
      FROM (SELECT broadcast_id, count(*) AS n, count(*) FILTER (WHERE status = 'sent') AS sent FROM broadcast_messages GROUP BY 1) s
      WHERE s.broadcast_id = b.id;

    INSERT INTO auto_reply_configs (user_id, name, trigger_keywords, welcome_message, phone_numbers)
      SELECT u, 'Main menu', ARRAY['menu', 'oi', 'hola', 'halo', 'hi'],
             E'Welcome to our shop! 👋\\nReply with a number:\\n1. Prices\\n2. Delivery\\n3. Opening hours\\n4. Talk to a person',
             ARRAY[u * 2 - 1, u * 2]
      FROM generate_series(1, ${c.users}) u;
    INSERT INTO auto_reply_menus (config_id, menu_key, menu_text, response_text, order_index)
      SELECT cfg.id, m.k, m.t, m.r, m.k::int FROM auto_reply_configs cfg,
        (VALUES ('1', 'Prices', 'Our catalog with prices: https://wa.me/c/5511999990000'),
                ('2', 'Delivery', 'We deliver Monday to Saturday. Orders before 2pm ship the same day.'),
                ('3', 'Opening hours', 'Mon-Fri 9:00-18:00, Sat 9:00-13:00.'),
                ('4', 'Talk to a person', 'One moment please, an attendant will answer you shortly.')) AS m(k, t, r);
    INSERT INTO auto_reply_sessions (phone_number, config_id, current_menu_id, session_data, last_interaction, phone_number_id)
      SELECT ${phone('s')}, 1 + s % ${c.users}, NULL, jsonb_build_object('path', jsonb_build_array('main', (1 + s % 4)::text), 'lang', (ARRAY['${langs.join("', '")}'])[1 + s % ${langs.length}]),
             ${ts(`s * 97`)}, 1 + (s % ${c.users}) * 2
      FROM generate_series(1, ${c.sessions}) s;
    INSERT INTO auto_reply_logs (phone_number, incoming_message, outgoing_message, menu_path, response_time, session_id, created_at)
      SELECT se.phone_number, mm.menu_key, mm.response_text, 'main > ' || mm.menu_text, 40 + (l * 37) % 900, se.id, ${ts(`l * 53`)}
      FROM generate_series(1, ${Math.round(c.messages / 12)}) l
      JOIN auto_reply_sessions se ON se.id = 1 + l % ${c.sessions}
      JOIN auto_reply_menus mm ON mm.config_id = se.config_id AND mm.menu_key = (1 + l % 4)::text;

    ANALYZE;
  `;
}

interface Row {
  what: string;
  seconds: number;
  bytes?: number;
  rss?: number;
  cpu?: number;
}

export async function run(args: string[]): Promise<void> {
  const sizeMB = megabytes(option(args, '--size'), 200);
  const levels = (option(args, '--levels') ?? '1,2,3,4,6').split(',').map(Number);
  const threads = option(args, '--threads');
  const otherNode = nodeBinary(option(args, '--node') ?? process.env.BENCH_NODE);
  const database = `cfdb_bench_${sizeMB}`;
  await ensureDataset(database, sizeMB);
  const dir = mkdtempSync(join(tmpdir(), 'cfdb-bench-backup-'));
  const s3 = await startS3('bench');
  const rows: Row[] = [];
  try {
    const base = env(database, threads ? { BACKUP_COMPRESSION_THREADS: threads } : {});
    // Warm the cache so the first measurement is not penalised.
    await sh('pg_dump --no-password > /dev/null', base);

    const floor = await sh('pg_dump --no-password > /dev/null', base);
    rows.push({ what: 'pg_dump > /dev/null (floor)', seconds: floor.seconds });
    const gzipFile = join(dir, 'gzip6.sql.gz');
    const gzip6 = await sh(`pg_dump --no-password | gzip -6 > ${gzipFile}`, base);
    const gzipBytes = statSync(gzipFile).size;
    rows.push({ what: 'pg_dump | gzip -6 (old script)', seconds: gzip6.seconds, bytes: gzipBytes });
    const customFile = join(dir, 'custom.dump');
    const custom = await sh(`pg_dump --no-password -Fc > ${customFile}`, base);
    rows.push({ what: 'pg_dump -Fc', seconds: custom.seconds, bytes: statSync(customFile).size });

    let n = 0;
    // --age-only: only the floor, gzip -6 and the encryption pairs below.
    const ageOnly = args.includes('--age-only');
    for (const level of ageOnly ? [] : levels) {
      const name = `bench_local_${++n}`;
      const local = await timed(
        process.execPath,
        [CLI, 'backup', name],
        { ...base, BACKUP_DIR: dir, BACKUP_COMPRESSION_LEVEL: String(level) },
        true,
      );
      rows.push({
        what: `node ${nodeVersion(process.execPath)}: backup -> local (level ${level})`,
        seconds: local.seconds,
        bytes: statSync(join(dir, `${name}.sql.gz`)).size,
        rss: local.peakRssMiB,
        cpu: local.cpuSeconds,
      });
    }
    const s3Env = { ...base, ...s3.env, S3_PREFIX: 'bench/' };
    const nodes = ageOnly ? [] : [process.execPath, ...(otherNode ? [otherNode] : [])];
    for (const node of nodes) {
      const tag = `node ${nodeVersion(node)}`;
      if (node !== process.execPath) {
        const name = `bench_local_${++n}`;
        const local = await timed(node, [CLI, 'backup', name], { ...base, BACKUP_DIR: dir }, true);
        rows.push({
          what: `${tag}: backup -> local (default level ${DEFAULT_LEVEL})`,
          seconds: local.seconds,
          bytes: statSync(join(dir, `${name}.sql.gz`)).size,
          rss: local.peakRssMiB,
          cpu: local.cpuSeconds,
        });
      }
      // S3 at the default level, as a deployment runs it.
      const remote = await timed(node, [CLI, 'backup', `bench_s3_${++n}`], s3Env, true);
      rows.push({
        what: `${tag}: backup -> S3 (s3rver, default level ${DEFAULT_LEVEL})`,
        seconds: remote.seconds,
        rss: remote.peakRssMiB,
        cpu: remote.cpuSeconds,
      });
      const bothName = `bench_both_${++n}`;
      const both = await timed(node, [CLI, 'backup', bothName], { ...s3Env, BACKUP_DIR: dir }, true);
      rows.push({
        what: `${tag}: backup -> local + S3 (default level ${DEFAULT_LEVEL})`,
        seconds: both.seconds,
        bytes: statSync(join(dir, `${bothName}.sql.gz`)).size,
        rss: both.peakRssMiB,
        cpu: both.cpuSeconds,
      });
    }

    // Encryption: the same local backup at the default level, in clear and encrypted, alternating so that
    // the load of the shared machine falls on both alike.
    const ageRuns = Number(option(args, '--age-runs') ?? 2);
    const recipient = (await generateKeyPair()).recipient;
    const clearRuns: Timed[] = [];
    const ageTimed: Timed[] = [];
    for (let i = 0; i < ageRuns; i++) {
      const clearName = `bench_clear_${i}`;
      clearRuns.push(
        await timed(process.execPath, [CLI, 'backup', clearName], { ...base, BACKUP_DIR: dir }, true),
      );
      rmSync(join(dir, `${clearName}.sql.gz`));
      const ageName = `bench_age_${i}`;
      const encrypted = await timed(
        process.execPath,
        [CLI, 'backup', ageName],
        { ...base, BACKUP_DIR: dir, BACKUP_AGE_RECIPIENTS: recipient },
        true,
      );
      ageTimed.push(encrypted);
      const last = clearRuns[clearRuns.length - 1] as Timed;
      // Each pair as it is measured: a long run that dies (a shared machine) still leaves its figures.
      console.log(
        `bench backup: pair ${i + 1}: clear ${last.seconds.toFixed(2)} s wall, ${last.cpuSeconds?.toFixed(2)} s CPU; age ${encrypted.seconds.toFixed(2)} s wall, ${encrypted.cpuSeconds?.toFixed(2)} s CPU, ${encrypted.peakRssMiB?.toFixed(0)} MiB`,
      );
      rows.push({
        what: `chatflow-db backup -> local, age (level ${DEFAULT_LEVEL}) #${i + 1}`,
        seconds: encrypted.seconds,
        bytes: statSync(join(dir, `${ageName}.sql.gz.age`)).size,
        rss: encrypted.peakRssMiB,
      });
      rmSync(join(dir, `${ageName}.sql.gz.age`));
    }

    const sqlBytes = Number(
      (await query<{ size: string }>(`SELECT pg_database_size('${database}')::text AS size`))[0]?.size ?? 0,
    );
    console.log(
      `\nbackup benchmark: ${database}, database ${(sqlBytes / 2 ** 20).toFixed(0)} MiB, gzip -6 archive ${(gzipBytes / 2 ** 20).toFixed(1)} MiB`,
    );
    console.log(
      `${'what'.padEnd(56)} ${'seconds'.padStart(8)} ${'x floor'.padStart(8)} ${'MiB'.padStart(8)} ${'x gzip6'.padStart(8)} ${'peak RSS'.padStart(9)} ${'CPU s'.padStart(6)}`,
    );
    for (const row of rows) {
      console.log(
        [
          row.what.padEnd(56),
          row.seconds.toFixed(2).padStart(8),
          (row.seconds / floor.seconds).toFixed(2).padStart(8),
          (row.bytes !== undefined ? (row.bytes / 2 ** 20).toFixed(1) : '').padStart(8),
          (row.bytes !== undefined ? (row.bytes / gzipBytes).toFixed(3) : '').padStart(8),
          (row.rss !== undefined ? `${row.rss.toFixed(0)} MiB` : '').padStart(9),
          (row.cpu !== undefined ? row.cpu.toFixed(1) : '').padStart(6),
        ].join(' '),
      );
    }
    console.log('targets: chatflow-db <= 1.25 x floor, <= 1.10 x gzip -6 size, peak RSS <= 150 MiB\n');
    if (ageRuns === 0) return;
    const sum = (runs: Timed[], pick: (t: Timed) => number | undefined): number =>
      runs.reduce((total, t) => total + (pick(t) ?? NaN), 0);
    const wall = [sum(clearRuns, (t) => t.seconds), sum(ageTimed, (t) => t.seconds)] as const;
    const cpu = [sum(clearRuns, (t) => t.cpuSeconds), sum(ageTimed, (t) => t.cpuSeconds)] as const;
    console.log(`encryption (age), ${ageRuns} alternating pair(s), local, level ${DEFAULT_LEVEL}:`);
    for (const [i, [c, a]] of clearRuns.map((c, i) => [c, ageTimed[i] as Timed] as const).entries())
      console.log(
        `  pair ${i + 1}: clear ${c.seconds.toFixed(2)} s wall, ${c.cpuSeconds?.toFixed(2)} s CPU, ${c.peakRssMiB?.toFixed(0)} MiB` +
          ` | age ${a.seconds.toFixed(2)} s wall, ${a.cpuSeconds?.toFixed(2)} s CPU, ${a.peakRssMiB?.toFixed(0)} MiB`,
      );
    console.log(
      `  encrypted / clear: wall ${(wall[1] / wall[0]).toFixed(3)}, CPU of the chatflow-db process ${(cpu[1] / cpu[0]).toFixed(3)}` +
        ` (target: wall <= 1.05, peak RSS <= 150 MiB)\n`,
    );
  } finally {
    await s3.close();
    rmSync(dir, { recursive: true, force: true });
    if (args.includes('--drop')) await query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  }
}
