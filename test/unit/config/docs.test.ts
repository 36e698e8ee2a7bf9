import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderSettingsTable } from '../../../scripts/config-docs.js';
import { SETTINGS } from '../../../src/config/settings.js';

const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');

describe('README configuration table', () => {
  it('is the table generated from SETTINGS (run `npm run docs:config` after changing a setting)', () => {
    expect(readme).toContain(renderSettingsTable());
  });

  it('lists each setting once', () => {
    const names = SETTINGS.map((s) => s.name);
    expect(new Set(names).size).toBe(names.length);
  });

  it('mentions no chatflow-db variable that the config does not know', () => {
    // BACKUP_KEEP_DAY is the README's example of a typo that is refused.
    const known = new Set([...SETTINGS.flatMap((s) => [s.name, `${s.name}_FILE`]), 'BACKUP_KEEP_DAY']);
    const own = /\b((?:BACKUP|MIGRATE|S3|NOTIFY|HEALTH|APP_DB|DB_WAIT)_[A-Z0-9_]+)\b/g;
    const unknown = [...readme.matchAll(own)].map((m) => m[1]).filter((name) => name && !known.has(name));
    expect([...new Set(unknown)]).toEqual([]);
  });
});
