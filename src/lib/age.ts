/**
 * age encryption of archives (the age v1 format, https://age-encryption.org/v1): X25519 recipients,
 * ChaCha20-Poly1305 STREAM in 64 KiB chunks. The `age-encryption` package (by age's author) does all of the
 * cryptography and all of the format; this module only adapts its web streams to Node streams, reads keys the
 * way the `age` tool does, and turns the package's terse errors into messages that say what to do.
 * Files made here decrypt with `age -d -i key.txt`, and files made by `age -r` decrypt here.
 *
 * What may never lie:
 * - Decryption passes a chunk on only after its authentication tag checked out, and holds each chunk back
 *   until the next one begins (only the last chunk may carry the last-chunk flag). A flipped byte is refused
 *   before any of its chunk is passed on; a truncated file is refused at its end. Either way the stream fails
 *   (AgeDecryptionError), so a consumer that treats a stream error as failure never keeps forged data, and
 *   never mistakes an authentic but partial prefix for the whole archive.
 * - Secret keys never appear in messages, logs or `inspect` output: an identity is an AgeIdentity object
 *   whose secret is a private field.
 * - An archive is untrusted input: its header may be at most MAX_HEADER_BYTES, so a file that is not age
 *   (or a hostile one) is refused without being read into memory.
 */
import { inspect } from 'node:util';
import { Duplex } from 'node:stream';
import { bech32 } from '@scure/base';
import type * as AgeModule from 'age-encryption';

/**
 * The package, loaded on first use: it costs ~8 MiB of RSS (its post-quantum code comes with it), which a
 * backup in clear should not carry. Keys are checked without it, with the bech32 codec it uses itself.
 */
function library(): Promise<typeof AgeModule> {
  return import('age-encryption');
}

/** True when `text` is bech32 with a valid checksum, the prefix `prefix` (any case) and a 32-byte key. */
function isKey(text: string, prefix: string): boolean {
  try {
    const decoded = bech32.decodeToBytes(text);
    return decoded.prefix.toLowerCase() === prefix && decoded.bytes.length === 32;
  } catch {
    return false;
  }
}

/** The first line of every age v1 file. */
export const AGE_MAGIC = 'age-encryption.org/v1\n';

/** The header of an archive for a handful of recipients is under 1 KiB; anything past this is refused. */
export const MAX_HEADER_BYTES = 64 * 1024;

/** A list of values read from a setting, and what was wrong with it (empty when nothing). */
export interface Parsed<T> {
  value: T;
  problems: string[];
}

/** A decryption failure; the message says what happened and what to do. */
export class AgeDecryptionError extends Error {
  constructor(
    message: string,
    /** `key`: no configured identity opens the archive; `format`: not an age file; `integrity`: altered, corrupt or truncated. */
    readonly reason: 'key' | 'format' | 'integrity',
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'AgeDecryptionError';
  }
}

/** An X25519 identity (AGE-SECRET-KEY-1...). The secret is never printed, logged or serialized. */
export class AgeIdentity {
  readonly #secret: string;
  #recipient: Promise<string> | undefined;

  /** Validated by `parseIdentities` or made by `generateKeyPair`; not meant to be built from raw input. */
  private constructor(secret: string) {
    this.#secret = secret;
  }

  /** Throws when `secret` is not a valid X25519 identity (the package's own test: shape, checksum, size). */
  static fromSecret(secret: string): AgeIdentity {
    if (!secret.startsWith('AGE-SECRET-KEY-1') || !isKey(secret, 'age-secret-key-'))
      throw new Error('invalid identity');
    return new AgeIdentity(secret);
  }

  /** Its public key, `age1...`: what the archives it opens were encrypted to. */
  recipient(): Promise<string> {
    this.#recipient ??= library().then((age) => age.identityToRecipient(this.#secret));
    return this.#recipient;
  }

  /** The AGE-SECRET-KEY-1... line, for keygen's output only. */
  revealSecret(): string {
    return this.#secret;
  }

  toString(): string {
    return 'AgeIdentity(<secret>)';
  }
  toJSON(): string {
    return this.toString();
  }
  [inspect.custom](): string {
    return this.toString();
  }

  /** Adds the identity to a decrypter (the only place the secret is handed out besides revealSecret). */
  addTo(decrypter: AgeModule.Decrypter): void {
    decrypter.addIdentity(this.#secret);
  }
}

const X25519_RECIPIENT = /^age1[02-9ac-hj-np-z]{58}$/;

/**
 * Recipients (public keys) from a setting: one or more `age1...`, separated by commas, spaces or newlines;
 * lines starting with `#` are comments, as in a file for `age -R`. `origin` names the setting (or file) in
 * the messages. Duplicates are kept once.
 */
export function parseRecipients(text: string, origin: string): Parsed<string[]> {
  const problems: string[] = [];
  const recipients: string[] = [];
  const lines = text.split(/\r?\n/);
  const multiline = lines.filter((line) => line.trim() !== '').length > 1;
  lines.forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const where = multiline ? `${origin} line ${index + 1}` : origin;
    for (const word of line.split(/[\s,]+/).filter(Boolean)) {
      if (/^(ssh-(ed25519|rsa)|sk-ssh-|ecdsa-sha2-)/.test(word)) {
        problems.push(
          `${where} holds an SSH public key; chatflow-db encrypts to age X25519 recipients only (age1..., from age-keygen or chatflow-db keygen)`,
        );
        return;
      }
      const problem = recipientProblem(word);
      if (problem) problems.push(`${where}: ${problem}`);
      else if (!recipients.includes(word)) recipients.push(word);
    }
  });
  if (recipients.length === 0 && problems.length === 0)
    problems.push(`${origin} holds no recipient; give one or more age1... public keys`);
  return { value: recipients, problems };
}

/** What is wrong with one recipient word, or undefined when it is a valid X25519 recipient. */
function recipientProblem(word: string): string | undefined {
  // Never quote something that looks like a secret key back into a message or a log.
  if (/^AGE-SECRET-KEY-/i.test(word))
    return 'this is an identity (a secret key), which must never be on the server; give its public key instead (the "# public key:" line that age-keygen and chatflow-db keygen print, or `age-keygen -y key.txt`)';
  const shown = word.length > 90 ? `${word.slice(0, 20)}...` : word;
  if (!word.toLowerCase().startsWith('age1'))
    return `"${shown}" is not an age recipient (expected age1 followed by 58 characters)`;
  const hrp = word.slice(0, word.lastIndexOf('1'));
  if (hrp.toLowerCase() !== 'age')
    return `"${shown}" is a ${hrp.slice(4)} recipient; chatflow-db encrypts to age X25519 recipients only (age1 followed by 58 characters), which Debian's age can decrypt`;
  if (!X25519_RECIPIENT.test(word))
    return `"${shown}" is not a valid age recipient (expected age1 followed by 58 lowercase characters)`;
  if (!isKey(word, 'age'))
    return `"${shown}" is not a valid age recipient (its checksum does not match: a character was changed or lost)`;
  return undefined;
}

/**
 * Identities from the text of an identity file as `age-keygen` writes it: AGE-SECRET-KEY-1... lines, `#`
 * comments and blank lines. `origin` names the setting or file. Messages never quote a line of the file.
 */
export function parseIdentities(text: string, origin: string): Parsed<AgeIdentity[]> {
  const problems: string[] = [];
  const identities: AgeIdentity[] = [];
  if (/^(age-encryption\.org\/|-----BEGIN AGE ENCRYPTED FILE-----)/.test(text.trimStart())) {
    problems.push(
      `${origin} is a passphrase-protected identity file, which chatflow-db cannot open; decrypt it with \`age -d\` into a file readable only by this service`,
    );
    return { value: identities, problems };
  }
  if (/^-----BEGIN [A-Z ]*PRIVATE KEY-----/m.test(text)) {
    problems.push(
      `${origin} is an SSH or PEM private key; chatflow-db decrypts with age X25519 identities only (AGE-SECRET-KEY-1..., from age-keygen or chatflow-db keygen)`,
    );
    return { value: identities, problems };
  }
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const where = `${origin} line ${index + 1}`;
    if (/^age1/i.test(line)) {
      problems.push(
        `${where} is a recipient (a public key); decrypting needs the identity (the AGE-SECRET-KEY-1... line of the file age-keygen or chatflow-db keygen wrote)`,
      );
      return;
    }
    if (/^AGE-PLUGIN-|^AGE-SECRET-KEY-PQ-1/i.test(line)) {
      problems.push(
        `${where} is a plugin or post-quantum identity; chatflow-db supports X25519 identities only`,
      );
      return;
    }
    try {
      if (!/^AGE-SECRET-KEY-1[02-9AC-HJ-NP-Z]{58}$/.test(line)) throw new Error('shape');
      identities.push(AgeIdentity.fromSecret(line));
    } catch {
      problems.push(
        `${where} is not an age identity (expected AGE-SECRET-KEY-1 followed by 58 uppercase characters, as age-keygen writes it, with a valid checksum)`,
      );
    }
  });
  if (identities.length === 0 && problems.length === 0)
    problems.push(`${origin} holds no identity; expected an AGE-SECRET-KEY-1... line`);
  return { value: identities, problems };
}

/** A new identity and its recipient, and the text `age-keygen` would print for them. */
export interface KeyPair {
  identity: AgeIdentity;
  recipient: string;
  /** `# created: ...`, `# public key: age1...`, `AGE-SECRET-KEY-1...`, as age-keygen writes a key file. */
  text: string;
}

export async function generateKeyPair(now: Date = new Date()): Promise<KeyPair> {
  const age = await library();
  const identity = AgeIdentity.fromSecret(await age.generateX25519Identity());
  const recipient = await identity.recipient();
  const created = now.toISOString().replace(/\.\d{3}Z$/, 'Z');
  const text = `# created: ${created}\n# public key: ${recipient}\n${identity.revealSecret()}\n`;
  return { identity, recipient, text };
}

/**
 * A Duplex that encrypts the bytes written to it to age v1 for `recipients` (validated `age1...` strings),
 * in one pass: memory stays at a few 64 KiB chunks whatever the size. Each call makes a new file key.
 */
export function createEncryptStream(recipients: readonly string[]): Duplex {
  if (recipients.length === 0) throw new Error('age encryption needs at least one recipient');
  return bridge({
    start: async (plaintext) => {
      const encrypter = new (await library()).Encrypter();
      for (const recipient of recipients) encrypter.addRecipient(recipient);
      return encrypter.encrypt(plaintext);
    },
    describe: (error) => new Error(`age encryption failed: ${messageOf(error)}`, { cause: error }),
  });
}

/**
 * A Duplex that decrypts an age v1 file written to it with one of `identities`. It fails with an
 * AgeDecryptionError when no identity opens the file, the file is not age, or it was altered, corrupted or
 * truncated; see the header of this module for what it never passes on.
 */
export function createDecryptStream(identities: readonly AgeIdentity[]): Duplex {
  if (identities.length === 0) throw new Error('age decryption needs at least one identity');
  let headerRead = false;
  let consumed = 0;
  return bridge({
    start: async (ciphertext) => {
      const decrypter = new (await library()).Decrypter();
      for (const identity of identities) identity.addTo(decrypter);
      const plaintext = await decrypter.decrypt(ciphertext);
      headerRead = true;
      return plaintext;
    },
    // Until the header is read, the input goes on in pieces of at most 64 KiB, one per read of the
    // package, and counted: a file without a header end (not age, or hostile) is refused after a bounded
    // read, whatever the size of its chunks. After it, whole chunks.
    nextPiece: (pending) => {
      if (headerRead) return pending;
      const piece = pending.subarray(0, HEADER_PIECE);
      consumed += piece.length;
      // The header, the 16-byte nonce and the rest of the piece that held them.
      if (consumed > MAX_HEADER_BYTES + 2 * HEADER_PIECE)
        throw new AgeDecryptionError(
          `not an age-encrypted file: no complete age header in its first ${MAX_HEADER_BYTES / 1024} KiB`,
          'format',
        );
      return piece;
    },
    describe: (error, bytesOut) => decryptionError(error, headerRead, bytesOut),
  });
}

/** The most of a file handed to the package at a time while its header is not read yet. */
const HEADER_PIECE = 64 * 1024;

/** What the package's errors mean for someone restoring a backup. */
function decryptionError(error: unknown, headerRead: boolean, bytesOut: number): Error {
  if (error instanceof AgeDecryptionError) return error;
  const message = messageOf(error);
  if (!headerRead) {
    if (/no identity matched/.test(message))
      return new AgeDecryptionError(
        'none of the configured age identities can decrypt this archive: it was encrypted to other recipients (the backup manifest names them); configure the identity that belongs to one of them',
        'key',
        { cause: error },
      );
    if (/header HMAC/.test(message))
      return new AgeDecryptionError(
        'the archive was altered: its age header does not authenticate (header MAC mismatch)',
        'integrity',
        { cause: error },
      );
    if (/stream ended|invalid stanza/.test(message))
      return new AgeDecryptionError(
        `the archive is truncated or corrupt: its age header is incomplete (${message})`,
        'integrity',
        { cause: error },
      );
    return new AgeDecryptionError(
      `not an age-encrypted file, or its header is corrupt (${message})`,
      'format',
      {
        cause: error,
      },
    );
  }
  return new AgeDecryptionError(
    `the archive failed authentication after ${bytesOut} authentic bytes: it was altered, corrupted or truncated (${message}); nothing unauthenticated was passed on`,
    'integrity',
    { cause: error },
  );
}

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** What `bridge` adapts. */
interface BridgeOptions {
  /** The package's transformation: given the input web stream, the output web stream. */
  start: (input: ReadableStream<Uint8Array>) => Promise<ReadableStream<Uint8Array>>;
  /** Maps the first failure (of `start`, of the output, of `nextPiece`) to the error both sides report. */
  describe: (error: unknown, bytesOut: number) => Error;
  /** The next piece of a written chunk to hand on (a prefix of `pending`); may throw. Default: all of it. */
  nextPiece?: (pending: Uint8Array) => Uint8Array;
}

/**
 * A Node Duplex around an asynchronous web-stream transformation: bytes written to the Duplex are the input
 * stream handed to `start`, the stream it resolves to is what the Duplex reads out. Written chunks go
 * straight into the input stream's controller and output chunks straight from its reader to push(), with no
 * web streams of our own in between. Backpressure holds end to end: a write completes only once the
 * package asked for its last piece, and the output is read only when the Duplex's reader wants more.
 *
 * The first error (of `start`, of its output, of `nextPiece`, or the package cancelling its input because
 * it failed) is mapped by `describe` once and destroys the Duplex with it, so a pipeline reports the
 * described error whichever side notices first. Destroying the Duplex fails the input and cancels the
 * output.
 *
 * Duplex.fromWeb would do most of this, but on Node 20 its destroy turns a rejected cancel of an errored
 * readable into an unhandled `error.filter is not a function` TypeError (fixed in later Node majors), which
 * would crash the process on the failures this module exists to report.
 */
function bridge({ start, describe, nextPiece = (pending) => pending }: BridgeOptions): Duplex {
  let input!: ReadableStreamDefaultController<Uint8Array>;
  /** The package is waiting for input (a read of the input stream is pending). */
  let wanted = false;
  /** What is left of the chunk being written, and its write callback. */
  let pending: Uint8Array | undefined;
  let written: ((error?: Error | null) => void) | undefined;
  let inputDone = false;
  let output: ReadableStreamDefaultReader<Uint8Array> | undefined;
  let reading = false;
  let bytesOut = 0;
  let failure: Error | undefined;

  const fail = (error: unknown): void => {
    if (failure) return;
    failure = describe(error, bytesOut);
    duplex.destroy(failure);
  };

  /** Hands on what is written, one piece per read of the package. */
  const feed = (): void => {
    while (wanted && pending !== undefined && !inputDone) {
      let piece: Uint8Array;
      try {
        piece = nextPiece(pending);
      } catch (error) {
        return fail(error);
      }
      pending = piece.length === pending.length ? undefined : pending.subarray(piece.length);
      wanted = false;
      input.enqueue(piece);
    }
    if (pending === undefined && written) {
      const callback = written;
      written = undefined;
      callback();
    }
  };

  const source = new ReadableStream<Uint8Array>(
    {
      start: (controller) => void (input = controller),
      pull: () => {
        wanted = true;
        feed();
      },
      cancel: fail,
    },
    { highWaterMark: 0 },
  );
  const outputReady = start(source).then((readable) => (output = readable.getReader()));
  outputReady.catch(fail);

  const pushNext = (reader: ReadableStreamDefaultReader<Uint8Array>): void => {
    reader.read().then(({ done, value }) => {
      reading = false;
      if (done) return void duplex.push(null);
      bytesOut += value.length;
      duplex.push(value);
    }, fail);
  };

  const duplex = new Duplex({
    write(chunk: Uint8Array, _encoding, callback) {
      pending = chunk.length > 0 ? chunk : undefined;
      written = callback;
      feed();
    },
    final(callback) {
      if (failure) return callback(failure);
      inputDone = true;
      input.close();
      callback();
    },
    read() {
      if (reading || failure) return;
      reading = true;
      if (output) pushNext(output);
      else outputReady.then(pushNext, () => undefined);
    },
    destroy(error, callback) {
      // Either side may already be closed or errored: settle both, report only the Duplex's own error.
      if (!inputDone) {
        inputDone = true;
        try {
          input.error(error ?? new Error('age stream destroyed'));
        } catch {
          // already closed or errored
        }
      }
      void output?.cancel(error ?? undefined).catch(() => undefined);
      callback(error);
    },
  });
  return duplex;
}
