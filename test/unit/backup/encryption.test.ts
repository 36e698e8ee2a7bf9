import { randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { inspect } from 'node:util';
import { gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  AGE_MAGIC,
  AgeDecryptionError,
  createDecryptStream,
  createEncryptStream,
  generateKeyPair,
  parseIdentities,
  parseRecipients,
  type AgeIdentity,
  type KeyPair,
} from '../../../src/lib/age.js';

import { AGE_CHUNK as CHUNK, STREAM_SIZES } from '../../helpers/age-sizes.js';
/** Odd piece sizes, cycled: 1-byte writes, primes, a chunk and a byte, more than a MiB. */
const PIECES = [1, 7, 4093, CHUNK + 1, 3, (1 << 20) + 3, 65_521];

function* pieces(data: Buffer, sizes = PIECES): Generator<Buffer> {
  let offset = 0;
  for (let i = 0; offset < data.length; i++) {
    const size = sizes[i % sizes.length] as number;
    yield data.subarray(offset, offset + size);
    offset += size;
  }
}

async function run(stream: NodeJS.ReadWriteStream, input: Iterable<Buffer>): Promise<Buffer> {
  const out: Buffer[] = [];
  await pipeline(Readable.from(input), stream, collect(out));
  return Buffer.concat(out);
}

function collect(out: Buffer[]): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      out.push(chunk);
      callback();
    },
  });
}

/** Decrypts, and returns what came out before the stream failed along with the error (if any). */
async function decryptSome(
  identities: readonly AgeIdentity[],
  input: Iterable<Buffer>,
): Promise<{ output: Buffer; error: unknown }> {
  const out: Buffer[] = [];
  const error = await pipeline(Readable.from(input), createDecryptStream(identities), collect(out)).then(
    () => undefined,
    (e: unknown) => e,
  );
  return { output: Buffer.concat(out), error };
}

const encrypt = (recipients: string[], data: Buffer, sizes?: number[]): Promise<Buffer> =>
  run(createEncryptStream(recipients), pieces(data, sizes));

/** Bytes of ciphertext after the header: the 16-byte nonce, then 64 KiB + 16 per chunk. */
function payloadOffset(file: Buffer): number {
  const end = file.indexOf('\n--- ');
  return file.indexOf('\n', end + 1) + 1;
}

let alice: KeyPair;
let bob: KeyPair;
let mallory: KeyPair;
beforeAll(async () => {
  [alice, bob, mallory] = await Promise.all([generateKeyPair(), generateKeyPair(), generateKeyPair()]);
});

describe('age streams', () => {
  it.each(STREAM_SIZES)('%s round-trips, written in odd pieces', async (_title, size) => {
    const data = randomBytes(size);
    const file = await encrypt([alice.recipient], data);
    expect(file.subarray(0, AGE_MAGIC.length).toString()).toBe(AGE_MAGIC);
    const chunks = Math.max(1, Math.ceil(size / CHUNK));
    expect(file.length - payloadOffset(file)).toBe(16 + size + 16 * chunks);
    const plain = await run(createDecryptStream([alice.identity]), pieces(file, [...PIECES].reverse()));
    expect(plain.equals(data)).toBe(true);
  });

  it('encrypts each run under a new file key', async () => {
    const data = Buffer.from('same input');
    const [a, b] = await Promise.all([encrypt([alice.recipient], data), encrypt([alice.recipient], data)]);
    expect(a.equals(b)).toBe(false);
  });

  it('decrypts with any one of several recipients, and with a list of identities', async () => {
    const data = randomBytes(100_000);
    const file = await encrypt([alice.recipient, bob.recipient], data);
    for (const identities of [[alice.identity], [bob.identity], [mallory.identity, bob.identity]])
      expect((await run(createDecryptStream(identities), [file])).equals(data)).toBe(true);
  });

  it('a file fed one byte at a time decrypts', async () => {
    const data = randomBytes(3000);
    const file = await encrypt([alice.recipient], data);
    expect((await run(createDecryptStream([alice.identity]), pieces(file, [1]))).equals(data)).toBe(true);
  });

  it('refuses a wrong identity before passing anything on, naming what to do', async () => {
    const file = await encrypt([alice.recipient, bob.recipient], randomBytes(200_000));
    const { output, error } = await decryptSome([mallory.identity], [file]);
    expect(output.length).toBe(0);
    expect(error).toBeInstanceOf(AgeDecryptionError);
    expect((error as AgeDecryptionError).reason).toBe('key');
    expect((error as Error).message).toMatch(/none of the configured age identities can decrypt/);
  });

  describe('an altered or truncated file is refused; nothing unauthenticated comes out', () => {
    const data = randomBytes(3 * CHUNK + 100); // four chunks, the last one short
    let file: Buffer;
    let payload: number;
    beforeAll(async () => {
      file = await encrypt([alice.recipient], data);
      payload = payloadOffset(file);
    });
    const chunkStart = (n: number): number => payload + 16 + n * (CHUNK + 16);

    const cases: [string, () => Buffer, number][] = [
      ['a flipped byte in the first chunk', () => flip(file, chunkStart(0) + 5), 0],
      ['a flipped byte in the third chunk', () => flip(file, chunkStart(2) + 100), 2 * CHUNK],
      ['a flipped tag byte of the last chunk', () => flip(file, file.length - 1), 3 * CHUNK],
      ['a flipped nonce byte', () => flip(file, payload + 3), 0],
      [
        'truncated at a chunk boundary (the last chunk removed)',
        () => file.subarray(0, chunkStart(3)),
        2 * CHUNK,
      ],
      ['truncated inside a chunk', () => file.subarray(0, chunkStart(2) + 1000), 2 * CHUNK],
      ['truncated after the nonce', () => file.subarray(0, payload + 16), 0],
      ['truncated inside the nonce', () => file.subarray(0, payload + 8), 0],
      ['truncated inside the header', () => file.subarray(0, payload - 30), 0],
      [
        'a chunk removed from the middle',
        () => Buffer.concat([file.subarray(0, chunkStart(1)), file.subarray(chunkStart(2))]),
        CHUNK,
      ],
      ['two chunks swapped', () => swapChunks(file, chunkStart(0), chunkStart(1)), 0],
      ['bytes appended', () => Buffer.concat([file, Buffer.from('more')]), 3 * CHUNK],
      ['an empty chunk appended', () => Buffer.concat([file, randomBytes(16)]), 3 * CHUNK],
      ['the header MAC changed', () => flip(file, payload - 5), 0],
    ];
    it.each(cases)('%s', async (_title, make, authenticBytes) => {
      const altered = make();
      for (const sizes of [[1 << 20], [1, 4093, CHUNK + 1], [4093, CHUNK + 1, 7]]) {
        const { output, error } = await decryptSome([alice.identity], pieces(altered, sizes));
        expect(error, 'the stream must fail').toBeInstanceOf(AgeDecryptionError);
        expect((error as Error).message).toMatch(/altered|truncated|corrupt/);
        // At most the chunks before the damage come out, and they are the authentic ones.
        expect(output.length).toBeLessThanOrEqual(authenticBytes);
        expect(output.equals(data.subarray(0, output.length))).toBe(true);
      }
    });

    it('a stanza altered so the file key no longer unwraps counts as a wrong key', async () => {
      const stanzaBody = file.indexOf('\n', file.indexOf('-> X25519')) + 3;
      const { output, error } = await decryptSome([alice.identity], [flip(file, stanzaBody)]);
      expect(output.length).toBe(0);
      expect(error).toBeInstanceOf(AgeDecryptionError);
    });
  });

  it('fails with the described error whichever side of the stream notices first', async () => {
    // The package fails its output and cancels its input at once; both sides must carry one message.
    for (let round = 0; round < 5; round++) {
      const file = await encrypt([alice.recipient], randomBytes(150_000));
      const altered = flip(file, file.length - 20_000);
      const { error } = await decryptSome([alice.identity], pieces(altered, [4093, CHUNK + 1, 7]));
      expect((error as Error).message).toMatch(
        /failed authentication after \d+ authentic bytes: it was altered/,
      );
    }
  });

  it.each([
    ['a gzip file', gzipSync(randomBytes(300_000))],
    ['plain SQL', Buffer.from('--\n-- PostgreSQL database dump\n--\nSET statement_timeout = 0;\n')],
    ['an empty file', Buffer.alloc(0)],
  ])('refuses %s as not age', async (_title, input) => {
    const { output, error } = await decryptSome([alice.identity], [input]);
    expect(output.length).toBe(0);
    expect(error).toBeInstanceOf(AgeDecryptionError);
    expect((error as AgeDecryptionError).reason).not.toBe('key');
    expect((error as Error).message).toMatch(/not an age-encrypted file|truncated/);
  });

  it('refuses a header that never ends after a bounded read', async () => {
    let read = 0;
    const endless = Readable.from(
      (function* () {
        const line = Buffer.concat([Buffer.from(AGE_MAGIC), Buffer.alloc((1 << 20) - AGE_MAGIC.length, 'A')]);
        for (let i = 0; i < 64; i++) {
          read += line.length;
          yield i === 0 ? line : Buffer.alloc(1 << 20, 'A');
        }
      })(),
      { highWaterMark: 1 },
    );
    const error = await pipeline(endless, createDecryptStream([alice.identity]), collect([])).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(AgeDecryptionError);
    expect((error as Error).message).toMatch(/no complete age header/);
    expect(read).toBeLessThanOrEqual(8 << 20);
  });

  it('a stream destroyed by its consumer stops without an unhandled error', async () => {
    const source = Readable.from(pieces(randomBytes(1 << 20), [CHUNK]));
    const error = await pipeline(
      source,
      createEncryptStream([alice.recipient]),
      new Writable({ write: (_c, _e, callback) => callback(new Error('store failed')) }),
    ).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((error as Error).message).toBe('store failed');
  });
});

describe('parseRecipients', () => {
  it('reads a list separated by commas, spaces and newlines, with # comments, once each', () => {
    const { recipient: a } = alice;
    const { recipient: b } = bob;
    const { recipient: c } = mallory;
    expect(parseRecipients(`${a},${b}`, 'R')).toEqual({ value: [a, b], problems: [] });
    expect(parseRecipients(` ${a}  ${b}\t`, 'R')).toEqual({ value: [a, b], problems: [] });
    expect(parseRecipients(`# ops team\n${a}\n\n# backup laptop\r\n${b}, ${c}\n${a}\n`, 'R')).toEqual({
      value: [a, b, c],
      problems: [],
    });
  });

  const valid = 'age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p'; // the age spec's example
  it.each([
    ['', /holds no recipient/],
    ['# only a comment\n', /holds no recipient/],
    [valid.slice(0, -1) + 'q', /checksum does not match/],
    [valid.slice(0, -2), /not a valid age recipient/],
    [valid.toUpperCase(), /not a valid age recipient/],
    ['age1yubikey1qwt50d05nh5vutpdzmlg5wn80xq5negm4uj9ghv0snvdd3yysf5yw3rhl3t', /is a yubikey recipient/],
    [
      'age1pq1' + 'q'.repeat(60),
      /"age1pq1q+" is a pq recipient; chatflow-db encrypts to age X25519 recipients only/,
    ],
    ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHfoo user@host', /holds an SSH public key/],
    ['gpg:ABCDEF', /is not an age recipient/],
  ])('refuses %j', (text, message) => {
    const { problems } = parseRecipients(text, 'BACKUP_AGE_RECIPIENTS');
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^BACKUP_AGE_RECIPIENTS/);
    expect(problems[0]).toMatch(message);
  });

  it('accepts the age specification example recipient', () => {
    expect(parseRecipients(valid, 'R')).toEqual({ value: [valid], problems: [] });
  });

  it('refuses a secret key without quoting it', () => {
    const secret = alice.identity.revealSecret();
    const { problems } = parseRecipients(`${alice.recipient}\n${secret}\n`, 'BACKUP_AGE_RECIPIENTS_FILE');
    expect(problems).toEqual([expect.stringMatching(/^BACKUP_AGE_RECIPIENTS_FILE line 2: .*secret key/)]);
    expect(problems.join()).not.toContain(secret.slice(16, 40));
  });

  it('reports every bad entry, with its line', () => {
    const { value, problems } = parseRecipients(
      `${alice.recipient}\nage1nope\nage1bad, ${bob.recipient}`,
      'F',
    );
    expect(value).toEqual([alice.recipient, bob.recipient]);
    expect(problems).toEqual([
      expect.stringMatching(/^F line 2: "age1nope"/),
      expect.stringMatching(/^F line 3: "age1bad"/),
    ]);
  });
});

describe('parseIdentities', () => {
  it('reads the file age-keygen writes (and chatflow-db keygen prints)', async () => {
    const { value, problems } = parseIdentities(alice.text, 'AGE_IDENTITY_FILE');
    expect(problems).toEqual([]);
    expect(value).toHaveLength(1);
    expect(await value[0]?.recipient()).toBe(alice.recipient);
  });

  it('reads several identities, CRLF line ends and blank lines', async () => {
    const text = `${alice.text}\r\n\r\n${bob.text.replace(/\n/g, '\r\n')}`;
    const { value, problems } = parseIdentities(text, 'AGE_IDENTITY');
    expect(problems).toEqual([]);
    expect(await Promise.all(value.map((i) => i.recipient()))).toEqual([alice.recipient, bob.recipient]);
  });

  it('decrypts what age-keygen style identities were encrypted to', async () => {
    const [identity] = parseIdentities(bob.text, 'I').value;
    const file = await encrypt([bob.recipient], Buffer.from('hello'));
    expect((await run(createDecryptStream([identity as AgeIdentity]), [file])).toString()).toBe('hello');
  });

  const broken = (secret: string): string =>
    secret.slice(0, 30) + (secret[30] === 'Q' ? 'P' : 'Q') + secret.slice(31);
  it.each<[string, () => string, RegExp]>([
    ['an empty file', () => '', /holds no identity/],
    ['only comments', () => '# created: 2024-01-01\n', /holds no identity/],
    ['a recipient', () => `${alice.recipient}\n`, /line 1 is a recipient \(a public key\)/],
    ['a changed character', () => broken(alice.identity.revealSecret()), /line 1 is not an age identity/],
    [
      'a lowercase identity',
      () => alice.identity.revealSecret().toLowerCase(),
      /line 1 is not an age identity/,
    ],
    ['a passphrase-protected file', () => `${AGE_MAGIC}-> scrypt abc 18\n`, /passphrase-protected/],
    [
      'an armored passphrase-protected file',
      () =>
        '-----BEGIN AGE ENCRYPTED FILE-----\nYWdlLWVuY3J5cHRpb24ub3JnL3YxCg==\n-----END AGE ENCRYPTED FILE-----\n',
      /passphrase-protected/,
    ],
    ['an SSH private key', () => '-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn\n', /SSH or PEM private key/],
    ['a post-quantum identity', () => 'AGE-SECRET-KEY-PQ-1' + 'Q'.repeat(58), /post-quantum identity/],
  ])('refuses %s, quoting no line of it', (_title, make, message) => {
    const text = make();
    const { value, problems } = parseIdentities(text, 'AGE_IDENTITY_FILE');
    expect(value).toEqual([]);
    expect(problems).toEqual([expect.stringMatching(message)]);
    expect(problems[0]).toMatch(/^AGE_IDENTITY_FILE/);
    for (const line of text.split('\n').filter((l) => l.length > 12)) expect(problems[0]).not.toContain(line);
  });
});

describe('generateKeyPair', () => {
  it('prints a key file as age-keygen does', () => {
    const when = new Date('2026-11-30T07:35:42.123Z');
    return generateKeyPair(when).then(({ text, recipient, identity }) => {
      const lines = text.split('\n');
      expect(lines[0]).toBe('# created: 2026-11-30T07:35:42Z');
      expect(lines[1]).toBe(`# public key: ${recipient}`);
      expect(lines[2]).toMatch(/^AGE-SECRET-KEY-1[0-9A-Z]{58}$/);
      expect(lines[3]).toBe('');
      expect(recipient).toMatch(/^age1[0-9a-z]{58}$/);
      expect(lines[2]).toBe(identity.revealSecret());
    });
  });

  it('never shows the secret in inspect, JSON or string form', () => {
    const secret = alice.identity.revealSecret();
    const { identity } = alice;
    for (const shown of [
      inspect(identity),
      inspect({ identity }),
      JSON.stringify({ identity }),
      String(identity),
    ])
      expect(shown.includes(secret)).toBe(false);
  });
});

function flip(file: Buffer, at: number): Buffer {
  const copy = Buffer.from(file);
  copy[at] = (copy[at] as number) ^ 0x01;
  return copy;
}

function swapChunks(file: Buffer, first: number, second: number): Buffer {
  const copy = Buffer.from(file);
  file.copy(copy, first, second, second + CHUNK + 16);
  file.copy(copy, second, first, first + CHUNK + 16);
  return copy;
}
