/**
 * Interoperability with the reference `age` tool (Debian's `age` package, which CI installs): what
 * chatflow-db encrypts decrypts with `age -d -i key.txt` (the README's restore by hand), and what `age -r` /
 * `age -R` encrypts decrypts here; key files from `age-keygen` and from our keygen work in both.
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createDecryptStream,
  createEncryptStream,
  generateKeyPair,
  parseIdentities,
  parseRecipients,
  type KeyPair,
} from '../../../src/lib/age.js';

import { AGE_CHUNK as CHUNK, STREAM_SIZES } from '../../helpers/age-sizes.js';
let dir: string;
let ours: KeyPair;
let theirs: { keyFile: string; recipient: string };

beforeAll(async () => {
  try {
    execFileSync('age', ['--version'], { stdio: 'pipe' });
  } catch {
    throw new Error(
      'these tests need the reference age tool: apt-get install age (Debian) or brew install age',
    );
  }
  dir = mkdtempSync(join(tmpdir(), 'cfdb-age-'));
  ours = await generateKeyPair();
  writeFileSync(join(dir, 'ours.txt'), ours.text, { mode: 0o600 });
  const keyFile = join(dir, 'theirs.txt');
  execFileSync('age-keygen', ['-o', keyFile], { stdio: 'pipe' });
  theirs = { keyFile, recipient: execFileSync('age-keygen', ['-y', keyFile], { encoding: 'utf8' }).trim() };
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Runs a command with `input` on stdin; its stdout, or a rejection with its stderr. */
function runTool(command: string, args: string[], input: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(Buffer.concat(out)) : reject(new Error(`${command} exited ${code}: ${stderr}`)),
    );
    child.stdin.on('error', () => undefined); // a tool that refuses early closes its stdin
    child.stdin.end(input);
  });
}

async function through(stream: NodeJS.ReadWriteStream, input: Buffer): Promise<Buffer> {
  const out: Buffer[] = [];
  const pieces = function* (): Generator<Buffer> {
    for (let offset = 0, i = 0; offset < input.length; i++) {
      const size = [4093, CHUNK + 1, 7][i % 3] as number;
      yield input.subarray(offset, offset + size);
      offset += size;
    }
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

describe('age CLI interoperability', () => {
  it.each(STREAM_SIZES)('ours -> age -d -i (our keygen file): %s', async (_title, size) => {
    const data = randomBytes(size);
    const file = await through(createEncryptStream([ours.recipient]), data);
    const plain = await runTool('age', ['-d', '-i', join(dir, 'ours.txt')], file);
    expect(plain.equals(data)).toBe(true);
  });

  it.each(STREAM_SIZES)('age -r -> ours (age-keygen identity file): %s', async (_title, size) => {
    const data = randomBytes(size);
    const file = await runTool('age', ['-r', theirs.recipient], data);
    const identities = parseIdentities(readFileSync(theirs.keyFile, 'utf8'), 'age-keygen file');
    expect(identities.problems).toEqual([]);
    expect(await identities.value[0]?.recipient()).toBe(theirs.recipient);
    const plain = await through(createDecryptStream(identities.value), file);
    expect(plain.equals(data)).toBe(true);
  });

  it('ours to several recipients (one from age-keygen): each one decrypts with age', async () => {
    const recipients = parseRecipients(`# ops\n${ours.recipient}\n${theirs.recipient}\n`, 'R');
    expect(recipients.problems).toEqual([]);
    const data = randomBytes(300_000);
    const file = await through(createEncryptStream(recipients.value), data);
    for (const key of [join(dir, 'ours.txt'), theirs.keyFile])
      expect((await runTool('age', ['-d', '-i', key], file)).equals(data)).toBe(true);
  });

  it('age -R with a recipients file (comments, two keys) -> ours, with either identity', async () => {
    const recipientsFile = join(dir, 'recipients.txt');
    writeFileSync(recipientsFile, `# backup keys\n${ours.recipient}\n\n${theirs.recipient}\n`);
    // The same file is a valid BACKUP_AGE_RECIPIENTS_FILE.
    expect(parseRecipients(readFileSync(recipientsFile, 'utf8'), 'F').value).toEqual([
      ours.recipient,
      theirs.recipient,
    ]);
    const data = randomBytes(200_000);
    const file = await runTool('age', ['-R', recipientsFile], data);
    expect((await through(createDecryptStream([ours.identity]), file)).equals(data)).toBe(true);
    const [theirIdentity] = parseIdentities(readFileSync(theirs.keyFile, 'utf8'), 'F').value;
    expect(theirIdentity).toBeDefined();
    if (theirIdentity)
      expect((await through(createDecryptStream([theirIdentity]), file)).equals(data)).toBe(true);
  });

  it('the README restore by hand: age -d -i key.txt archive.sql.gz.age | gunzip', async () => {
    const sql = Buffer.from('SELECT 1;\n'.repeat(50_000));
    const archive = join(dir, 'nightly.sql.gz.age');
    writeFileSync(archive, await through(createEncryptStream([ours.recipient]), gzipSync(sql, { level: 4 })));
    const restored = execFileSync('sh', [
      '-c',
      `age -d -i "$1" "$2" | gunzip`,
      'sh',
      join(dir, 'ours.txt'),
      archive,
    ]);
    expect(restored.equals(sql)).toBe(true);
  });

  it('age refuses what we refuse: a flipped byte in our output', async () => {
    const file = await through(createEncryptStream([ours.recipient]), randomBytes(150_000));
    file[file.length - 20_000] = (file[file.length - 20_000] as number) ^ 1;
    await expect(runTool('age', ['-d', '-i', join(dir, 'ours.txt')], file)).rejects.toThrow(/exited 1/);
    await expect(through(createDecryptStream([ours.identity]), file)).rejects.toThrow(/altered/);
  });
});
