/**
 * `list` order: newest backup first, and a backup held by two stores is listed as two adjacent rows in the
 * configured store order, whichever store finished writing it last (seen flaky in CI: local and S3 times of
 * one backup differ by milliseconds either way).
 */
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { listStores } from '../../../src/backup/listing.js';
import { LocalStorage } from '../../../src/storage/index.js';

const folders: string[] = [];

function storeHolding(backups: Record<string, string>): LocalStorage {
  const dir = mkdtempSync(join(tmpdir(), 'cfdb-list-order-'));
  folders.push(dir);
  for (const [name, time] of Object.entries(backups)) {
    for (const file of [`${name}.sql.gz`, `${name}.manifest.json`]) {
      writeFileSync(join(dir, file), '{}');
      utimesSync(join(dir, file), new Date(time), new Date(time));
    }
  }
  return new LocalStorage(dir);
}

afterEach(() => {
  for (const dir of folders.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('listStores order', () => {
  it('keeps the copies of one backup together, in store order, whichever copy is newer', async () => {
    const first = storeHolding({ old: '2026-01-01T00:00:00.000Z', new: '2026-02-01T00:00:00.000Z' });
    const second = storeHolding({ old: '2026-01-01T00:00:00.500Z', new: '2026-01-31T23:59:59.000Z' });
    const rows = await listStores([first, second]);
    expect(rows.map((r) => `${r.name}@${r.location === first.location ? 'first' : 'second'}`)).toEqual([
      'new@first',
      'new@second',
      'old@first',
      'old@second',
    ]);
  });

  it('orders backups by their newest copy', async () => {
    const first = storeHolding({ a: '2026-01-01T00:00:00Z' });
    const second = storeHolding({ a: '2026-03-01T00:00:00Z', b: '2026-02-01T00:00:00Z' });
    const rows = await listStores([first, second]);
    expect(rows.map((r) => r.name)).toEqual(['a', 'a', 'b']);
  });
});
