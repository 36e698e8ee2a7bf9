/** pgDumpVersion: the answer of the pg_dump on PATH, or an error that says what went wrong and what to check. */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { pgDumpVersion } from '../../../src/backup/source.js';

const originalPath = process.env.PATH;
const folders: string[] = [];

/** PATH holding only a `pg_dump` shell script with `body`. */
function fakePgDump(body: string): void {
  const dir = mkdtempSync(join(tmpdir(), 'cfdb-fake-pg-dump-'));
  folders.push(dir);
  writeFileSync(join(dir, 'pg_dump'), `#!/bin/sh\n${body}\n`);
  chmodSync(join(dir, 'pg_dump'), 0o755);
  process.env.PATH = `${dir}:/usr/bin:/bin`;
}

afterEach(() => {
  process.env.PATH = originalPath;
  for (const dir of folders.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('pgDumpVersion', () => {
  it('returns the installed pg_dump version line', async () => {
    expect(await pgDumpVersion()).toMatch(/^pg_dump \(PostgreSQL\) \d+/);
  });

  it('names the exit code and what pg_dump said when it fails', async () => {
    fakePgDump('echo "pg_dump: broken install" >&2; exit 3');
    await expect(pgDumpVersion()).rejects.toThrow(
      /pg_dump --version failed \(exit code 3: pg_dump: broken install\); is the PostgreSQL client installed and on PATH\?/,
    );
  });

  it('says when pg_dump is not on PATH', async () => {
    process.env.PATH = mkdtempSync(join(tmpdir(), 'cfdb-empty-path-'));
    folders.push(process.env.PATH);
    await expect(pgDumpVersion()).rejects.toThrow(/is the PostgreSQL client installed and on PATH\?/);
  });

  it('gives up after the timeout', async () => {
    fakePgDump('exec sleep 30');
    await expect(pgDumpVersion(300)).rejects.toThrow(/pg_dump --version gave no answer within 0.3 s/);
  });

  it('refuses an empty answer', async () => {
    fakePgDump('exit 0');
    await expect(pgDumpVersion()).rejects.toThrow(/pg_dump --version/);
  });
});
