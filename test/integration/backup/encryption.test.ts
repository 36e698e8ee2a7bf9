/**
 * Encrypted backups end to end, through the real CLI: BACKUP_AGE_RECIPIENTS makes `<name>.sql.gz.age`
 * archives (local and S3) whose manifest names the recipients; restore and verify decrypt with AGE_IDENTITY;
 * the README's restore by hand works with Debian's `age`; a missing or wrong identity is refused before any
 * work (exit 2, recipients named); a tampered or truncated archive is refused with the target untouched and
 * no scratch database left; clear and encrypted backups live in one store (`latest`, list, prune); the
 * sidecar encrypts its backups; keygen writes keys the `age` tool reads.
 */
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGE_MAGIC, generateKeyPair, type KeyPair } from '../../../src/lib/age.js';
import { runCli } from '../../helpers/cli.js';
import { adminQuery, dbEnv, uniqueName, withDb } from '../../helpers/database.js';
import { spawnCli } from '../../helpers/process.js';
import { startS3, testS3Client, type TestS3 } from '../../../scripts/support/s3rver.js';
import {
  databasesStartingWith,
  dropDatabasesStartingWith,
  logMessages,
  seed,
  snapshot,
} from '../restore/support.js';

const prefix = uniqueName('cfdb_enc');
const source = `${prefix}_src`;
let dir: string;
let keys: string;
let ours: KeyPair;
let other: KeyPair;
let s3: TestS3;
let sourceSnapshot: Record<string, string>;
/** Backs up `source` into `dir`, encrypted to `ours`. */
let env: Record<string, string>;
const oursFile = (): string => join(keys, 'ours.txt');
const otherFile = (): string => join(keys, 'other.txt');

beforeAll(async () => {
  [ours, other] = await Promise.all([generateKeyPair(), generateKeyPair()]);
  keys = mkdtempSync(join(tmpdir(), 'cfdb-enc-keys-'));
  writeFileSync(oursFile(), ours.text, { mode: 0o600 });
  writeFileSync(otherFile(), other.text, { mode: 0o600 });
  dir = mkdtempSync(join(tmpdir(), 'cfdb-enc-'));
  await adminQuery(`CREATE DATABASE "${source}"`);
  await seed(source);
  // Poorly compressible rows: the archive spans dozens of 64 KiB age chunks.
  await withDb(source, (c) =>
    c.query(
      `CREATE TABLE noise (id int PRIMARY KEY, data text);
       INSERT INTO noise SELECT i, md5(i::text) || md5((i * 7)::text) FROM generate_series(1, 40000) i`,
    ),
  );
  sourceSnapshot = await snapshot(source);
  s3 = await startS3();
  env = { ...dbEnv(source), BACKUP_DIR: dir, BACKUP_AGE_RECIPIENTS: ours.recipient };
  const made = await runCli(['backup', 'enc_local'], env);
  expect(made.code, made.stderr).toBe(0);
}, 120_000);

afterAll(async () => {
  await dropDatabasesStartingWith(prefix);
  await s3?.close();
  for (const d of [dir, keys]) if (d) rmSync(d, { recursive: true, force: true });
});

/** A target database holding its own data, which a refused restore must leave exactly as it was. */
async function makeTarget(suffix: string): Promise<{ target: string; before: Record<string, string> }> {
  const target = `${prefix}_${suffix}`;
  await adminQuery(`CREATE DATABASE "${target}"`);
  await withDb(target, (c) =>
    c.query("CREATE TABLE precious (v text); INSERT INTO precious VALUES ('keep me')"),
  );
  return { target, before: await snapshot(target) };
}

async function expectUntouched(target: string, before: Record<string, string>): Promise<void> {
  expect(await snapshot(target)).toEqual(before);
  // No scratch database (<target>_restore_...) and no renamed target were left behind.
  expect(await databasesStartingWith(`${target}_`)).toEqual([]);
}

type Manifest = Record<string, unknown> & { sha256: string; size: number };
const readManifest = (name: string, where = dir): Manifest =>
  JSON.parse(readFileSync(join(where, `${name}.manifest.json`), 'utf8')) as Manifest;

/** A copy of enc_local under `name` whose archive bytes `edit` changed; the manifest matches the new bytes. */
function alteredCopy(name: string, edit: (archive: Buffer) => Buffer): void {
  const archive = edit(readFileSync(join(dir, 'enc_local.sql.gz.age')));
  writeFileSync(join(dir, `${name}.sql.gz.age`), archive);
  const manifest = {
    ...readManifest('enc_local'),
    name,
    archive: `${name}.sql.gz.age`,
    // A checksum that matches the altered bytes: only age's authentication stands between them and psql.
    sha256: createHash('sha256').update(archive).digest('hex'),
    size: archive.length,
  };
  writeFileSync(join(dir, `${name}.manifest.json`), `${JSON.stringify(manifest, null, 2)}\n`);
}

describe('encrypted backups', () => {
  it('are stored as .sql.gz.age with the recipients (never an identity) in the manifest, checksum of the stored bytes', () => {
    expect(readdirSync(dir).sort()).toEqual(['enc_local.manifest.json', 'enc_local.sql.gz.age']);
    const stored = readFileSync(join(dir, 'enc_local.sql.gz.age'));
    expect(stored.subarray(0, AGE_MAGIC.length).toString()).toBe(AGE_MAGIC);
    expect(stored.includes(Buffer.from('CREATE TABLE'))).toBe(false);
    const manifest = readManifest('enc_local');
    expect(manifest).toMatchObject({
      name: 'enc_local',
      archive: 'enc_local.sql.gz.age',
      encryption: { format: 'age', recipients: [ours.recipient] },
      size: stored.length,
      sha256: createHash('sha256').update(stored).digest('hex'),
    });
    const text = readFileSync(join(dir, 'enc_local.manifest.json'), 'utf8');
    expect(text).not.toMatch(/AGE-SECRET-KEY/i);
    // Spans many 64 KiB chunks, so the tamper and truncation cases below hit the middle of the stream.
    expect(stored.length).toBeGreaterThan(10 * 65_536);
  });

  it('restore decrypts with AGE_IDENTITY_FILE: a round trip to identical contents', async () => {
    const target = `${prefix}_local`;
    const result = await runCli(['restore', 'enc_local', '--no-migrate'], {
      ...dbEnv(target),
      BACKUP_DIR: dir,
      AGE_IDENTITY_FILE: oursFile(),
    });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('restored enc_local');
    expect(await snapshot(target)).toEqual(sourceSnapshot);
  });

  it('the README restore by hand: age -d -i key.txt NAME.sql.gz.age | gunzip | psql', async () => {
    const target = `${prefix}_byhand`;
    await adminQuery(`CREATE DATABASE "${target}"`);
    const archive = join(dir, 'enc_local.sql.gz.age');
    // Exactly the README's pipeline, with Debian's age.
    const script = `age -d -i "$1" "$2" | gunzip | psql -X -q -v ON_ERROR_STOP=1 --single-transaction -d "$3" >/dev/null`;
    const run = spawnSync('bash', ['-o', 'pipefail', '-c', script, 'bash', oursFile(), archive, target], {
      env: { ...process.env, ...dbEnv(target) },
      encoding: 'utf8',
    });
    expect(run.status, run.stderr).toBe(0);
    expect(await snapshot(target)).toEqual(sourceSnapshot);
  });

  it('round trip through S3 with two recipients from BACKUP_AGE_RECIPIENTS_FILE; either identity restores', async () => {
    const recipientsFile = join(keys, 'recipients.txt');
    writeFileSync(recipientsFile, `# backup keys\n${ours.recipient}\n${other.recipient}\n`);
    const s3env = {
      ...dbEnv(source),
      ...s3.env,
      S3_PREFIX: 'enc/',
      BACKUP_AGE_RECIPIENTS_FILE: recipientsFile,
    };
    const made = await runCli(['backup', 'enc_s3'], s3env);
    expect(made.code, made.stderr).toBe(0);
    const client = testS3Client(s3.endpoint);
    const page = await client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: 'enc/' }));
    client.destroy();
    expect((page.Contents ?? []).map((o) => o.Key).sort()).toEqual([
      'enc/enc_s3.manifest.json',
      'enc/enc_s3.sql.gz.age',
    ]);
    const list = await runCli(['list', '--json'], { ...s3env, BACKUP_AGE_RECIPIENTS_FILE: undefined });
    expect(JSON.parse(list.stdout)).toEqual([
      expect.objectContaining({
        name: 'enc_s3',
        archive: 'enc_s3.sql.gz.age',
        encrypted: true,
        manifest: true,
      }),
    ]);
    const target = `${prefix}_s3`;
    // The second recipient's identity, given directly (a Docker secret would use AGE_IDENTITY_FILE).
    const identity = other.identity.revealSecret();
    const result = await runCli(['restore', 'enc_s3', '--no-migrate'], {
      ...dbEnv(target),
      ...s3.env,
      S3_PREFIX: 'enc/',
      AGE_IDENTITY: identity,
    });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).not.toContain(identity);
    expect(await snapshot(target)).toEqual(sourceSnapshot);
  });

  it('without an identity, restore refuses before any work: exit 2, the recipients named', async () => {
    const { target, before } = await makeTarget('noid');
    const result = await runCli(['restore', 'enc_local'], { ...dbEnv(target), BACKUP_DIR: dir });
    expect(result.code).toBe(2);
    const said = logMessages(result.stderr).join('\n');
    expect(said).toContain(ours.recipient);
    expect(said).toMatch(/AGE_IDENTITY_FILE/);
    expect(said).not.toMatch(/restoring into a new database/);
    await expectUntouched(target, before);
  });

  it('with an identity of another recipient, restore refuses early (exit 2) and verify too', async () => {
    const { target, before } = await makeTarget('wrongid');
    const result = await runCli(['restore', 'enc_local'], {
      ...dbEnv(target),
      BACKUP_DIR: dir,
      AGE_IDENTITY_FILE: otherFile(),
    });
    expect(result.code).toBe(2);
    const said = logMessages(result.stderr).join('\n');
    expect(said).toContain(`encrypted to ${ours.recipient}`);
    expect(said).toContain(other.recipient);
    expect(said).not.toMatch(/restoring into a new database/);
    await expectUntouched(target, before);
    const verify = await runCli(['verify', 'enc_local'], { ...env, AGE_IDENTITY_FILE: otherFile() });
    expect(verify.code).toBe(2);
  });

  it('verify: checksum of the stored bytes without a key, the deep check (decrypt + gunzip) with one', async () => {
    const without = await runCli(['verify', 'enc_local'], env);
    expect(without.code, without.stderr).toBe(0);
    expect(logMessages(without.stderr).join('\n')).toMatch(/not decrypted \(no AGE_IDENTITY configured\)/);
    const deep = await runCli(['verify', 'enc_local'], { ...env, AGE_IDENTITY_FILE: oursFile() });
    expect(deep.code, deep.stderr).toBe(0);
    expect(logMessages(deep.stderr).join('\n')).toContain('enc_local in');
    expect(logMessages(deep.stderr).join('\n')).toMatch(/is intact/);
  });

  it.each([
    [
      'a flipped byte in a middle chunk',
      'enc_flipped',
      (archive: Buffer) => {
        const copy = Buffer.from(archive);
        const at = Math.floor(copy.length / 2);
        copy[at] = (copy[at] as number) ^ 0x01;
        return copy;
      },
      /altered|authentication/,
    ],
    [
      'a truncated file (cut at a chunk boundary)',
      'enc_truncated',
      (archive: Buffer) => {
        // Header, then whole chunks of 64 KiB + 16: cut after the 5th, a prefix that is authentic by itself.
        const header = archive.indexOf('\n', archive.indexOf('\n--- ') + 1) + 1 + 16;
        return archive.subarray(0, header + 5 * (65_536 + 16));
      },
      /truncated|authentication/,
    ],
  ])(
    '%s is refused (exit 1) with the target untouched and the scratch database gone',
    async (_t, name, edit, why) => {
      alteredCopy(name, edit);
      const { target, before } = await makeTarget(name.replace('enc_', ''));
      const result = await runCli(['restore', name, '--no-migrate'], {
        ...dbEnv(target),
        BACKUP_DIR: dir,
        AGE_IDENTITY_FILE: oursFile(),
      });
      expect(result.code).toBe(1);
      const said = logMessages(result.stderr).join('\n');
      expect(said).toMatch(/age decryption failed/);
      expect(said).toMatch(why);
      expect(said).toMatch(/target was not changed/);
      await expectUntouched(target, before);
      // verify with the key finds it too (its sha256 matches: only the decryption can tell).
      const verify = await runCli(['verify', name], { ...env, AGE_IDENTITY_FILE: oursFile() });
      expect(verify.code).toBe(1);
      rmSync(join(dir, `${name}.sql.gz.age`));
      rmSync(join(dir, `${name}.manifest.json`));
    },
  );
});

describe('clear and encrypted backups in one store', () => {
  let mixed: string;
  const clearEnv = (): Record<string, string> => ({ ...dbEnv(source), BACKUP_DIR: mixed });
  const encEnv = (): Record<string, string> => ({ ...clearEnv(), BACKUP_AGE_RECIPIENTS: ours.recipient });
  const pause = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 1100));

  beforeAll(() => {
    mixed = join(dir, 'mixed');
    mkdirSync(mixed);
  });

  it('list shows which are encrypted; `latest` is the newest of either kind', async () => {
    expect((await runCli(['backup', 'mix_1_clear'], clearEnv())).code).toBe(0);
    await pause();
    expect((await runCli(['backup', 'mix_2_enc'], encEnv())).code).toBe(0);
    const list = await runCli(['list', '--json'], clearEnv());
    expect(
      (JSON.parse(list.stdout) as { name: string; encrypted: boolean; archive: string }[]).map((r) => [
        r.name,
        r.encrypted,
        r.archive,
      ]),
    ).toEqual([
      ['mix_2_enc', true, 'mix_2_enc.sql.gz.age'],
      ['mix_1_clear', false, 'mix_1_clear.sql.gz'],
    ]);
    const table = await runCli(['list'], clearEnv());
    expect(table.stdout).toMatch(/NAME\s+STORE\s+SIZE\s+AGE\s+MANIFEST\s+ENCRYPTED/);
    expect(table.stdout).toMatch(/mix_2_enc .* yes\s+age/);
    expect(table.stdout).toMatch(/mix_1_clear .* yes\s+no/);

    // latest is the encrypted one: refused without a key, restored with it.
    const { target, before } = await makeTarget('latest');
    const refused = await runCli(['restore', 'latest', '--source-db', source], {
      ...dbEnv(target),
      BACKUP_DIR: mixed,
    });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('AGE_IDENTITY');
    await expectUntouched(target, before);
    const restored = await runCli(
      ['restore', 'latest', '--source-db', source, '--no-migrate', '--drop-previous'],
      {
        ...dbEnv(target),
        BACKUP_DIR: mixed,
        AGE_IDENTITY_FILE: oursFile(),
      },
    );
    expect(restored.code, restored.stderr).toBe(0);
    expect(restored.stdout).toContain('restored mix_2_enc');
    expect(await snapshot(target)).toEqual(sourceSnapshot);

    // The older clear backup stays restorable without any key (turning encryption on loses nothing).
    const older = await runCli(['restore', 'mix_1_clear', '--no-migrate', '--drop-previous'], {
      ...dbEnv(target),
      BACKUP_DIR: mixed,
    });
    expect(older.code, older.stderr).toBe(0);
    expect(await snapshot(target)).toEqual(sourceSnapshot);
  });

  it('prune treats .sql.gz.age archives like any other', async () => {
    const retention = {
      BACKUP_KEEP_LAST: '1',
      BACKUP_KEEP_DAYS: '0',
      BACKUP_KEEP_DAILY: '0',
      BACKUP_KEEP_WEEKLY: '0',
      BACKUP_KEEP_MONTHLY: '0',
    };
    const first = await runCli(['backup'], { ...encEnv(), ...retention });
    expect(first.code, first.stderr).toBe(0);
    await pause();
    const second = await runCli(['backup'], { ...clearEnv(), ...retention });
    expect(second.code, second.stderr).toBe(0);
    const [a, b] = [first.stdout.trim(), second.stdout.trim()];
    expect(readdirSync(mixed)).toContain(`${a}.sql.gz.age`);
    const pruned = await runCli(['prune'], { ...clearEnv(), ...retention });
    expect(pruned.code, pruned.stderr).toBe(0);
    expect(pruned.stdout).toContain(`deleted  ${a}`);
    const left = readdirSync(mixed);
    expect(left.filter((f) => f.startsWith(a))).toEqual([]);
    expect(left).toContain(`${b}.sql.gz`);
    // Named backups are never pruned, whatever their kind.
    expect(left).toContain('mix_2_enc.sql.gz.age');
  });
});

describe('a failed encrypted backup is never stored', () => {
  /** A fake `pg_dump` first on PATH: `body` is shell code that may call "$REAL" "$@". */
  function fakePgDump(body: string): Record<string, string> {
    const bin = join(keys, 'bin');
    mkdirSync(bin, { recursive: true });
    const real = execFileSync('sh', ['-c', 'command -v pg_dump'], { encoding: 'utf8' }).trim();
    writeFileSync(
      join(bin, 'pg_dump'),
      `#!/bin/sh\nREAL=${real}\nif [ "$1" = "--version" ]; then exec "$REAL" "$@"; fi\n${body}\n`,
      { mode: 0o755 },
    );
    return { PATH: `${bin}:${process.env.PATH ?? ''}` };
  }

  it.each([
    ['pg_dump killed mid-stream', '"$REAL" "$@" | head -c 1500000\nkill -9 $$', /killed by SIGKILL/],
    [
      'pg_dump failing after its last byte (age had written its last chunk)',
      '"$REAL" "$@"\necho "pg_dump: error: simulated" >&2\nexit 1',
      /exit code 1: pg_dump: error: simulated/,
    ],
  ])('%s', async (_title, body, cause) => {
    const store = mkdtempSync(join(tmpdir(), 'cfdb-enc-fail-'));
    try {
      const result = await runCli(['backup', 'enc_failed'], {
        ...env,
        BACKUP_DIR: store,
        ...fakePgDump(body),
      });
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(cause);
      expect(result.stderr).toContain('Nothing was stored');
      expect(readdirSync(store)).toEqual([]);
    } finally {
      rmSync(store, { recursive: true, force: true });
    }
  });
});

describe('configuration and keygen', () => {
  it('malformed keys are a configuration error at start (exit 2), every problem listed', async () => {
    const result = await runCli(['list'], {
      BACKUP_DIR: dir,
      BACKUP_AGE_RECIPIENTS: `${ours.recipient},age1notakey`,
      AGE_IDENTITY_FILE: join(keys, 'recipients.txt'),
    });
    expect(result.code).toBe(2);
    const said = logMessages(result.stderr).join('\n');
    expect(said).toContain('BACKUP_AGE_RECIPIENTS: "age1notakey" is not a valid age recipient');
    expect(said).toMatch(/AGE_IDENTITY_FILE \(.*recipients\.txt\) line 2 is a recipient/);
  });

  it('keygen prints an identity and its public key (on stderr when piped), which the age tool reads', async () => {
    const result = await runCli(['keygen'], {});
    expect(result.code, result.stderr).toBe(0);
    const lines = result.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^# created: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(lines[1]).toMatch(/^# public key: age1[a-z0-9]{58}$/);
    expect(lines[2]).toMatch(/^AGE-SECRET-KEY-1[A-Z0-9]{58}$/);
    const recipient = (lines[1] ?? '').slice('# public key: '.length);
    expect(result.stderr.trim()).toBe(`Public key: ${recipient}`);
    const file = join(keys, 'keygen.txt');
    writeFileSync(file, result.stdout, { mode: 0o600 });
    expect(execFileSync('age-keygen', ['-y', file], { encoding: 'utf8' }).trim()).toBe(recipient);

    const out = join(keys, 'keygen-o.txt');
    const written = await runCli(['keygen', '-o', out], {});
    expect(written.code, written.stderr).toBe(0);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    expect(written.stderr).toMatch(/^Public key: age1/);
    const again = await runCli(['keygen', '-o', out], {});
    expect(again.code).toBe(2);
    expect(logMessages(again.stderr).join('\n')).toMatch(/never overwrites/);
  });
});

describe('sidecar', () => {
  it('`start` with BACKUP_AGE_RECIPIENTS makes encrypted backups', async () => {
    const database = `${prefix}_sidecar`;
    await adminQuery(`CREATE DATABASE "${database}"`);
    const store = join(dir, 'sidecar');
    mkdirSync(store);
    const sidecar = spawnCli(['start'], {
      ...dbEnv(database),
      BACKUP_DIR: store,
      BACKUP_AGE_RECIPIENTS: ours.recipient,
      BACKUP_ON_START: 'true',
      BACKUP_SCHEDULE: '0 2 * * *',
      HEALTH_PORT: '0',
      BACKUP_COMPRESSION_THREADS: '1',
    });
    try {
      const done = await sidecar.waitForLog((line) => /^backup .* complete$/.test(line.msg ?? ''), 60_000);
      expect(done.encrypted).toBe(true);
      const name = String(done.backup);
      expect(readdirSync(store).sort()).toEqual([`${name}.manifest.json`, `${name}.sql.gz.age`]);
      expect(readManifest(name, store)).toMatchObject({
        encryption: { format: 'age', recipients: [ours.recipient] },
      });
      // And it decrypts with the age tool.
      const plain = execFileSync('sh', [
        '-c',
        'age -d -i "$1" "$2" | gunzip',
        'sh',
        oursFile(),
        join(store, `${name}.sql.gz.age`),
      ]);
      expect(plain.toString()).toContain('PostgreSQL database dump complete');
    } finally {
      sidecar.signal('SIGTERM');
      await sidecar.exited;
    }
  });
});
