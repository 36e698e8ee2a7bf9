/**
 * `npm run bench -- encryption [--size 200MB] [--rounds 3] [--threads N] [--dump file.sql]`: what age encryption costs
 * next to the compression it follows (pg_dump -> gzip -> age -> stores), on the same SQL.
 *
 * 1. One thread, in process, MB per CPU second: gzip level 4 of the SQL in 1 MiB members (what each ParallelGzip worker does),
 *    then age encryption (src/lib/age.ts, the age-encryption package) and decryption of that gzip output,
 *    and, for reference only, OpenSSL's ChaCha20-Poly1305 (node:crypto) over the same 64 KiB chunks: the
 *    floor of any age implementation on this machine. Rates are MB/s of their own input and "per SQL MB"
 *    (encryption sees only the compressed bytes).
 * 2. End to end, each run a child process: SQL -> ParallelGzip (level 4, the default threads) -> [age] ->
 *    sha256 -> discard, clear and encrypted alternately; wall time ratio and peak RSS (VmHWM) of each.
 *
 * The SQL is generated (rows of multilingual chat text, ids, phones, timestamps, jsonb; about as
 * compressible as the backup bench's dataset) or read from `--dump` (e.g. `pg_dump db > file.sql`). A 32 MiB
 * sample is repeated up to --size: gzip's window is 32 KiB, so the repetition does not help it.
 */
import { spawn } from 'node:child_process';
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { ParallelGzip } from '../src/backup/gzip.js';
import { createDecryptStream, createEncryptStream, generateKeyPair } from '../src/lib/age.js';
import { median, numberOption, textOption } from './common.js';

const SAMPLE = 32 << 20;
const MIB = 1 << 20;
const LEVEL = 4;

export async function run(args: string[]): Promise<void> {
  const sizeMB = megabytes(textOption(args, '--size'), 200);
  const rounds = numberOption(args, '--rounds', 3);
  const dump = textOption(args, '--dump');
  const sample = sqlSample(dump);
  console.log(
    `bench encryption: ${sizeMB} MB of ${dump ? `SQL from ${dump}` : 'generated SQL'}, node ${process.version}, ${availableParallelism()} cores`,
  );

  // 1. One thread.
  const gzipRates: number[] = [];
  let gz: Buffer = Buffer.alloc(0);
  for (let round = 0; round < rounds; round++) {
    const started = process.cpuUsage();
    const members: Buffer[] = [];
    for (let offset = 0; offset < sample.length; offset += MIB)
      members.push(gzipSync(sample.subarray(offset, offset + MIB), { level: LEVEL }));
    gzipRates.push(rate(sample.length, started));
    gz = Buffer.concat(members);
  }
  const ratio = gz.length / sample.length;
  const { recipient, identity } = await generateKeyPair();
  const encryptRates: number[] = [];
  const decryptRates: number[] = [];
  const opensslRates: number[] = [];
  let encrypted: Buffer = Buffer.alloc(0);
  for (let round = 0; round < rounds; round++) {
    let started = process.cpuUsage();
    encrypted = await through(createEncryptStream([recipient]), gz);
    encryptRates.push(rate(gz.length, started));
    started = process.cpuUsage();
    const back = await through(createDecryptStream([identity]), encrypted);
    decryptRates.push(rate(gz.length, started));
    if (!back.equals(gz)) throw new Error('bench encryption: the round trip changed the data');
    started = process.cpuUsage();
    const key = randomBytes(32);
    const nonce = Buffer.alloc(12);
    for (let offset = 0; offset < gz.length; offset += 64 * 1024) {
      nonce.writeUInt32BE(offset / 65536, 7);
      const cipher = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
      cipher.update(gz.subarray(offset, offset + 64 * 1024));
      cipher.final();
      cipher.getAuthTag();
    }
    opensslRates.push(rate(gz.length, started));
  }
  const gzipRate = median(gzipRates);
  const perSql = (r: number): string => `${fmt(r)} MB/s (${fmt(r / ratio)} MB/s of SQL)`;
  console.log(`  one thread, MB per CPU second, median of ${rounds}:`);
  console.log(
    `    gzip -${LEVEL} (1 MiB members)         ${fmt(gzipRate)} MB/s of SQL, ratio ${ratio.toFixed(3)}`,
  );
  console.log(`    age encrypt (age-encryption)     ${perSql(median(encryptRates))}`);
  console.log(`    age decrypt (age-encryption)     ${perSql(median(decryptRates))}`);
  console.log(`    ChaCha20-Poly1305, OpenSSL (ref) ${perSql(median(opensslRates))}`);
  const cost = gzipRate / (median(encryptRates) / ratio);
  console.log(
    `    CPU of age encryption per SQL byte = ${(cost * 100).toFixed(1)} % of the gzip -${LEVEL} CPU (OpenSSL: ${((gzipRate / (median(opensslRates) / ratio)) * 100).toFixed(1)} %)`,
  );

  // 2. End to end, in child processes.
  const threads = numberOption(args, '--threads', Math.max(1, availableParallelism()));
  const runs: Record<'clear' | 'age', ChildResult[]> = { clear: [], age: [] };
  for (let round = 0; round < rounds; round++)
    for (const mode of ['clear', 'age'] as const) runs[mode].push(await child(mode, sizeMB, threads, dump));
  const summary = (mode: 'clear' | 'age') => ({
    wall: median(runs[mode].map((r) => r.seconds)),
    cpu: median(runs[mode].map((r) => r.cpuSeconds)),
    peak: Math.max(...runs[mode].map((r) => r.peakRssMiB)),
    base: median(runs[mode].map((r) => r.baselineMiB)),
  });
  const clear = summary('clear');
  const aged = summary('age');
  console.log(`  end to end (SQL -> ParallelGzip x${threads} -> [age] -> sha256), median of ${rounds}:`);
  for (const [name, s] of [
    ['clear', clear],
    ['age  ', aged],
  ] as const)
    console.log(
      `    ${name} wall ${s.wall.toFixed(2)} s, CPU ${s.cpu.toFixed(2)} s, peak RSS ${s.peak.toFixed(0)} MiB (${(s.peak - s.base).toFixed(0)} over the ${s.base.toFixed(0)} MiB before the pipeline)`,
    );
  console.log(
    `    age / clear: wall ${(aged.wall / clear.wall).toFixed(3)}, CPU ${(aged.cpu / clear.cpu).toFixed(3)} (target: backup wall time <= 1.05)`,
  );
}

/** The child: one end-to-end run, timed from inside; prints its wall time as JSON. */
async function childRun(
  mode: 'clear' | 'age',
  sizeMB: number,
  threads: number,
  dump?: string,
): Promise<void> {
  const sample = sqlSample(dump);
  const total = sizeMB * 1e6;
  // The peak RSS from here on is the pipeline's (plus the sample): Linux resets VmHWM on "5".
  writeFileSync('/proc/self/clear_refs', '5');
  const baselineMiB = process.memoryUsage().rss / MIB;
  const { recipient } = await generateKeyPair();
  const source = Readable.from(
    (function* () {
      // 64 KiB reads, like a pipe from pg_dump.
      for (let sent = 0; sent < total;) {
        const offset = sent % sample.length;
        const piece = sample.subarray(
          offset,
          Math.min(offset + 64 * 1024, sample.length, offset + total - sent),
        );
        sent += piece.length;
        yield piece;
      }
    })(),
  );
  const hash = createHash('sha256');
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      callback();
    },
  });
  const started = performance.now();
  const cpuStarted = process.cpuUsage();
  const gzip = new ParallelGzip({ level: LEVEL, threads });
  if (mode === 'age') await pipeline(source, gzip, createEncryptStream([recipient]), sink);
  else await pipeline(source, gzip, sink);
  hash.digest();
  const cpu = process.cpuUsage(cpuStarted);
  process.stdout.write(
    JSON.stringify({
      seconds: (performance.now() - started) / 1000,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      baselineMiB,
    }),
  );
}

interface ChildResult {
  seconds: number;
  /** CPU time of the whole process, gzip workers included. */
  cpuSeconds: number;
  /** RSS once the sample was made, before the pipeline started. */
  baselineMiB: number;
  peakRssMiB: number;
}

function child(mode: 'clear' | 'age', sizeMB: number, threads: number, dump?: string): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const args = [fileURLToPath(import.meta.url), '--child', mode, String(sizeMB), String(threads)];
    if (dump) args.push(dump);
    const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    let peakKiB = 0;
    proc.stdout.setEncoding('utf8').on('data', (text: string) => (out += text));
    const poll = setInterval(() => {
      try {
        const hwm = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${proc.pid}/status`, 'utf8'));
        if (hwm) peakKiB = Math.max(peakKiB, Number(hwm[1]));
      } catch {
        // exited between polls
      }
    }, 20);
    proc.on('error', reject);
    proc.on('close', (code) => {
      clearInterval(poll);
      if (code !== 0) return reject(new Error(`bench encryption: the ${mode} run exited ${code}`));
      resolve({ ...(JSON.parse(out) as Omit<ChildResult, 'peakRssMiB'>), peakRssMiB: peakKiB / 1024 });
    });
  });
}

/** 32 MiB of SQL: the start of `dump`, or generated COPY rows of chat data. */
function sqlSample(dump?: string): Buffer {
  if (dump) {
    const text = readFileSync(dump);
    if (text.length < MIB) throw new Error(`bench encryption: ${dump} is smaller than 1 MiB`);
    return text.length >= SAMPLE ? text.subarray(0, SAMPLE) : text;
  }
  let seed = 42;
  const random = (): number => {
    // mulberry32: a small deterministic generator, so every run compresses alike.
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T;
  const phrase = (words: readonly string[]): string =>
    Array.from({ length: 2 + Math.floor(random() * 9) }, () => pick(words)).join(' ') + pick(ENDINGS);
  // Written straight into one buffer: the sample costs its 32 MiB and no more.
  const sample = Buffer.alloc(SAMPLE);
  let length = sample.write(
    'COPY public.messages (id, phone_id, contact, direction, body, status, created_at, meta) FROM stdin;\n',
  );
  for (let id = 1; length < SAMPLE; id++) {
    const words = pick(LANGUAGES);
    const phone = `55${String(Math.floor(random() * 1e10)).padStart(10, '0')}`;
    const at = new Date(Date.UTC(2025, 0, 1) + Math.floor(random() * 365 * 86_400_000)).toISOString();
    const body = Array.from({ length: 1 + Math.floor(random() * 3) }, () => phrase(words)).join(' ');
    const meta = `{"wamid": "wamid.${Math.floor(random() * 1e15).toString(36)}", "type": "text", "ts": ${Math.floor(random() * 1e9)}}`;
    const row = `${id}\t${1 + (id % 40)}\t${phone}\t${pick(['in', 'out'])}\t${body}\t${pick(['sent', 'delivered', 'read', 'failed'])}\t${at}\t${meta}\n`;
    const written = sample.write(row, length);
    if (written < Buffer.byteLength(row)) break;
    length += written;
  }
  return sample.subarray(0, length);
}

const LANGUAGES = [
  `hi hello thanks thank you ok okay sure please can I get the order my your when will it arrive today tomorrow
   price how much is this still available delivery address payment sent received confirm yes no maybe later
   good morning evening see you soon call me back waiting for reply sorry late invoice discount promo code`,
  `oi olá bom dia boa tarde obrigado tudo bem sim não talvez depois quando chega meu pedido hoje amanhã quanto
   custa ainda tem disponível entrega endereço pagamento pix enviado recebido confirmar por favor pode me ligar`,
  `hola buenos días gracias vale sí no quizás luego cuándo llega mi pedido hoy mañana cuánto cuesta todavía
   disponible envío dirección pago transferencia enviado recibido confirmar por favor puede llamarme espero`,
  `halo selamat pagi terima kasih oke ya tidak nanti kapan pesanan saya sampai hari ini besok berapa harganya
   masih ada tersedia pengiriman alamat pembayaran transfer sudah dikirim diterima konfirmasi tolong bisa`,
].map((text) => text.split(/\s+/).filter(Boolean));
const ENDINGS = ['', '', '', '.', '!', '?', ' 👍', ' 🙏', ' 😊', ' 📦'];

async function through(stream: NodeJS.ReadWriteStream, input: Buffer): Promise<Buffer> {
  const out: Buffer[] = [];
  const pieces = function* (): Generator<Buffer> {
    for (let offset = 0; offset < input.length; offset += 64 * 1024)
      yield input.subarray(offset, offset + 64 * 1024);
  };
  await pipeline(
    Readable.from(pieces()),
    stream,
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        out.push(chunk);
        callback();
      },
    }),
  );
  return Buffer.concat(out);
}

function megabytes(text: string | undefined, fallback: number): number {
  const match = /^(\d+(?:\.\d+)?)\s*(gb|g|mb|m)?$/i.exec(text ?? '');
  if (!match) return fallback;
  return Math.round(Number(match[1]) * (/^g/i.test(match[2] ?? '') ? 1024 : 1));
}

/** MB per second of CPU time (not wall time: the machine may be shared, and this part runs on one thread). */
function rate(bytes: number, started: NodeJS.CpuUsage): number {
  const cpu = process.cpuUsage(started);
  return bytes / 1e6 / ((cpu.user + cpu.system) / 1e6);
}
const fmt = (value: number): string => value.toFixed(0).padStart(4);

if (process.argv[2] === '--child') {
  const [mode, size, threads, dump] = process.argv.slice(3);
  await childRun(mode === 'age' ? 'age' : 'clear', Number(size), Number(threads), dump);
}
