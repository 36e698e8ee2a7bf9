/** The encryption settings: BACKUP_AGE_RECIPIENTS(_FILE) and AGE_IDENTITY(_FILE), read and validated once. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load.js';
import { generateKeyPair, type KeyPair } from '../../../src/lib/age.js';
import { ConfigError } from '../../../src/lib/errors.js';

let alice: KeyPair;
let bob: KeyPair;
let dir: string;
beforeAll(async () => {
  [alice, bob] = await Promise.all([generateKeyPair(), generateKeyPair()]);
  dir = mkdtempSync(join(tmpdir(), 'cfdb-enc-config-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env, 2);
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    throw error;
  }
  return [];
}

describe('encryption settings', () => {
  it('are off by default: backups in clear, no identity', () => {
    const config = loadConfig({}, 2);
    expect(config.backup.encryptTo).toBeUndefined();
    expect(config.ageIdentities).toEqual([]);
  });

  it('reads recipients from the variable or from a file, and identities from AGE_IDENTITY(_FILE)', async () => {
    const direct = loadConfig(
      {
        BACKUP_AGE_RECIPIENTS: `${alice.recipient}, ${bob.recipient}`,
        AGE_IDENTITY: alice.identity.revealSecret(),
      },
      2,
    );
    expect(direct.backup.encryptTo).toEqual([alice.recipient, bob.recipient]);
    expect(await direct.ageIdentities[0]?.recipient()).toBe(alice.recipient);

    const recipients = join(dir, 'recipients.txt');
    writeFileSync(recipients, `# ops team\n${alice.recipient}\n\n${bob.recipient}\n`);
    const key = join(dir, 'key.txt');
    writeFileSync(key, bob.text);
    const files = loadConfig({ BACKUP_AGE_RECIPIENTS_FILE: recipients, AGE_IDENTITY_FILE: key }, 2);
    expect(files.backup.encryptTo).toEqual([alice.recipient, bob.recipient]);
    expect(await files.ageIdentities[0]?.recipient()).toBe(bob.recipient);
    // The secret never shows in the frozen configuration's printed form.
    expect(inspect(files, { depth: 5 })).not.toContain('AGE-SECRET-KEY');
    expect(JSON.stringify(files)).not.toContain('AGE-SECRET-KEY');
  });

  it('reports every problem at once, naming the file and line, never quoting a secret', () => {
    const key = join(dir, 'not-a-key.txt');
    writeFileSync(key, `# a file of recipients given as an identity\n${alice.recipient}\n`);
    const problems = problemsOf({
      BACKUP_AGE_RECIPIENTS: `${alice.recipient} age1qqqq ${alice.identity.revealSecret()}`,
      AGE_IDENTITY_FILE: key,
      BACKUP_KEEP_LAST: 'many',
    });
    expect(problems).toHaveLength(4);
    expect(problems.join('\n')).toContain('BACKUP_AGE_RECIPIENTS: "age1qqqq" is not a valid age recipient');
    expect(problems.join('\n')).toMatch(/BACKUP_AGE_RECIPIENTS: this is an identity \(a secret key\)/);
    expect(problems.join('\n')).toContain(`AGE_IDENTITY_FILE (${key}) line 2 is a recipient`);
    expect(problems.join('\n')).not.toContain(alice.identity.revealSecret());
  });

  it('refuses an empty recipient list, an unreadable file, and both a variable and its _FILE', () => {
    expect(problemsOf({ BACKUP_AGE_RECIPIENTS: '# nobody\n' })).toEqual([
      'BACKUP_AGE_RECIPIENTS holds no recipient; give one or more age1... public keys',
    ]);
    expect(problemsOf({ AGE_IDENTITY_FILE: join(dir, 'missing.txt') })[0]).toMatch(
      /^AGE_IDENTITY_FILE points to ".*missing\.txt", which cannot be read/,
    );
    expect(
      problemsOf({ BACKUP_AGE_RECIPIENTS: alice.recipient, BACKUP_AGE_RECIPIENTS_FILE: '/dev/null' }),
    ).toEqual(['BACKUP_AGE_RECIPIENTS and BACKUP_AGE_RECIPIENTS_FILE are both set; keep one']);
    expect(problemsOf({ AGE_IDENTITIES: 'x' })).toEqual([
      "AGE_IDENTITIES is not a chatflow-db setting (see the README's configuration table)",
    ]);
  });
});
