import { describe, expect, it } from 'vitest';
import { buildStatus, type StatusInputs } from '../../../src/sidecar/status-model.js';
import {
  escapeHtml,
  formatBytes,
  formatDuration,
  formatTime,
  renderStatusPage,
} from '../../../src/sidecar/status-page.js';
import { DAY, NOW, daily, drill, inputs, type HistoryBackup } from '../../helpers/status.js';

const render = (backups: readonly HistoryBackup[], overrides: Partial<StatusInputs> = {}): string =>
  renderStatusPage(buildStatus(inputs(backups, overrides)));

const count = (html: string, pattern: RegExp): number => html.match(new RegExp(pattern, 'g'))?.length ?? 0;

/** The <svg> of one plot. */
function svg(html: string, plot: 'size' | 'duration' | 'drill'): string {
  const match = new RegExp(`<svg data-plot="${plot}"[\\s\\S]*?</svg>`).exec(html);
  if (!match) throw new Error(`no ${plot} plot`);
  return match[0];
}

const VOID = new Set(['meta', 'link', 'br', 'hr', 'img', 'input']);

/**
 * A small well-formedness check: outside <style>, every tag opened is closed in order (void elements and
 * `/>` excepted), and no stray `<` or `>` remains in text. Returns the problems found.
 */
function malformations(html: string): string[] {
  const problems: string[] = [];
  const body = html.replace(/<style>[\s\S]*?<\/style>/, '<style></style>').replace(/^<!doctype html>/i, '');
  const stack: string[] = [];
  const tag = /<(\/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[a-zA-Z][a-zA-Z0-9:-]*(?:="[^"<>]*")?)*)\s*(\/?)>/g;
  let last = 0;
  for (let match = tag.exec(body); match; match = tag.exec(body)) {
    const text = body.slice(last, match.index);
    if (/[<>]/.test(text)) problems.push(`stray < or > in text: ${JSON.stringify(text.slice(0, 60))}`);
    last = tag.lastIndex;
    const [, closing, rawName, , selfClosing] = match;
    const name = rawName!.toLowerCase();
    if (closing) {
      const open = stack.pop();
      if (open !== name) problems.push(`</${name}> closes <${open ?? 'nothing'}>`);
    } else if (!selfClosing && !VOID.has(name)) {
      stack.push(name);
    }
  }
  if (/[<>]/.test(body.slice(last))) problems.push('stray < or > after the last tag');
  if (stack.length > 0) problems.push(`unclosed: ${stack.join(', ')}`);
  return problems;
}

describe('renderStatusPage', () => {
  it('empty history: says all fine and that there are no backups yet, with empty plots', () => {
    const html = render([]);
    expect(html).toContain('<p class="word">All fine</p>');
    expect(html).toContain('No backups yet');
    expect(count(html, /<tr class="backup"/)).toBe(0);
    expect(count(html, /class="point/)).toBe(0);
    expect(svg(html, 'size')).toContain('nothing yet');
    expect(html).toContain('none yet');
    expect(malformations(html)).toEqual([]);
  });

  it('one backup: one row with its time in TZ, human size and duration, one point per plot', () => {
    const html = render([{ daysAgo: 0, size: 123_456, durationMs: 2500, stores: ['local', 's3'] }]);
    expect(count(html, /<tr class="backup"/)).toBe(1);
    expect(html).toContain('chatflow_backup_20261130_020005');
    // 02:00:05 UTC is 03:00 in Berlin in November.
    expect(html).toContain('<time datetime="2026-11-30T02:00:05.000Z">2026-11-30 03:00 CET</time>');
    expect(html).toContain('<span class="v">121 KiB</span>');
    expect(html).toContain('<span class="v">2.5 s</span>');
    expect(html).toContain('<span class="tag">local</span> <span class="tag">s3:chatflow-backups</span>');
    expect(count(svg(html, 'size'), /class="point"/)).toBe(1);
    expect(count(svg(html, 'duration'), /class="point"/)).toBe(1);
    expect(count(svg(html, 'drill'), /class="point/)).toBe(0);
    expect(html).not.toContain('class="pager"');
    expect(malformations(html)).toEqual([]);
  });

  it('400 backups: 50 rows per page, an older link, 90 days of points', () => {
    const html = render(daily(400));
    expect(count(html, /<tr class="backup"/)).toBe(50);
    expect(html).toContain('Backups <span class="muted">(400)</span>');
    expect(html).toContain('<a rel="next" href="?page=2">older →</a>');
    expect(html).toContain('page 1 of 8');
    expect(html).not.toContain('rel="prev"');
    expect(count(svg(html, 'size'), /class="point"/)).toBe(90);
    expect(count(svg(html, 'duration'), /class="point"/)).toBe(90);
    // No gap: one unbroken line.
    expect(count(svg(html, 'size'), /<polyline/)).toBe(1);
    expect(malformations(html)).toEqual([]);

    const last = render(daily(400), { page: 8 });
    expect(count(last, /<tr class="backup"/)).toBe(50);
    expect(last).toContain('<a rel="prev" href="?page=7">← newer</a>');
    expect(last).not.toContain('rel="next"');
    expect(last).toContain('chatflow_backup_20251027_020005');
  });

  it('a failed drill: the verdict says so in words, with since-when; the row and the plot show it', () => {
    const base = inputs(daily(5));
    const name = base.entries[0]!.name;
    const failedAt = new Date(NOW.getTime() - 2 * 3_600_000);
    const drills = new Map([
      [
        name,
        [drill(new Date(NOW.getTime() - DAY), true, 7000), drill(failedAt, false, 9000, ['row counts'])],
      ],
    ]);
    const html = renderStatusPage(buildStatus({ ...base, drills }));
    expect(html).toContain('<section class="verdict bad" id="verdict"><p class="word">One problem</p>');
    expect(html).toContain(`drill: the last drill of ${name} at 2026-11-30 06:30 CET failed (row counts)`);
    expect(html).toContain('since 2026-11-30 06:30 CET (2 h ago)');
    expect(html).toContain('✗ row counts');
    expect(count(svg(html, 'drill'), /class="point failed"/)).toBe(1);
    expect(count(svg(html, 'drill'), /class="point"/)).toBe(1);
    expect(html).toMatch(/<title>PROBLEM · chatflow · chatflow-db<\/title>/);
    expect(malformations(html)).toEqual([]);
  });

  it('health problems are listed one by one; an unknown since says "seen just now"', () => {
    const html = render(daily(2), {
      health: { reasons: ['database: connection refused', 'migrations: 1 pending'], since: new Map() },
    });
    expect(html).toContain('<p class="word">2 problems</p>');
    expect(html).toContain(
      '<li data-area="database">database: connection refused <span class="since">seen just now</span></li>',
    );
  });

  it('missed slots: a red tick per missing slot and the line broken at each gap', () => {
    const html = render(daily(20).filter((b) => ![3, 4, 10].includes(b.daysAgo)));
    const size = svg(html, 'size');
    expect(count(size, /<rect class="missed"/)).toBe(3);
    expect(count(size, /<polyline/)).toBe(3);
    expect(count(size, /class="point"/)).toBe(17);
    expect(html).toContain('3 missed slots');
    expect(html).toContain('Backups are due every day.');
  });

  it('an incomplete archive is a red point of its own, not a dip in the line', () => {
    const html = render([
      { daysAgo: 0 },
      { daysAgo: 1 },
      { daysAgo: 1, name: 'half', complete: false, size: 10 },
      { daysAgo: 2 },
    ]);
    const size = svg(html, 'size');
    expect(count(size, /class="point/)).toBe(4);
    expect(count(size, /class="point failed" [^>]*data-name="half"/)).toBe(1);
    const line = /<polyline class="line" points="([^"]*)"/.exec(size)?.[1] ?? '';
    expect(line.split(' ')).toHaveLength(3);
    expect(html).toContain('<span class="tag bad-text">incomplete</span>');
  });

  it('hostile names and messages are escaped everywhere', () => {
    const hostile = '<script>alert(1)</script>"><img src=x onerror=alert(2)>';
    const html = render([{ daysAgo: 0, name: hostile }, { daysAgo: 1 }], {
      health: { reasons: [`backup: the last backup failed: ${hostile}`] },
      migrations: { known: true, applied: 1, latest: hostile, pending: [hostile] },
      database: hostile,
    });
    expect(html).not.toContain('<script');
    expect(html).not.toContain('<img');
    expect(html).toContain(
      '&lt;script&gt;alert(1)&lt;/script&gt;&quot;&gt;&lt;img src=x onerror=alert(2)&gt;',
    );
    expect(html).toContain(`data-name="${escapeHtml(hostile)}"`);
    expect(malformations(html)).toEqual([]);
  });

  it('light and dark, phone and desktop: the CSS is there and nothing external is loaded', () => {
    const html = render(daily(3));
    expect(html).toContain('<meta name="color-scheme" content="light dark">');
    expect(html).toContain('@media (prefers-color-scheme: dark){:root{--bg:');
    expect(html).toContain('@media (max-width:720px)');
    expect(html).toContain('<meta name="viewport" content="width=device-width, initial-scale=1">');
    expect(html).toContain("default-src 'none'");
    expect(html).not.toMatch(/<(script|form|button|input|link|iframe)\b/);
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
  });

  it('the verdict when all is fine is the first thing in the body after the title', () => {
    const html = render(daily(3));
    const verdict = html.indexOf('id="verdict"');
    expect(verdict).toBeGreaterThan(html.indexOf('<header>'));
    expect(verdict).toBeLessThan(html.indexOf('class="facts"'));
    expect(html).toMatch(/<title>OK · chatflow · chatflow-db<\/title>/);
  });

  it('the well-formedness check itself finds broken markup', () => {
    expect(malformations('<p><b>x</p></b>')).not.toEqual([]);
    expect(malformations('<div>a < b</div>')).not.toEqual([]);
    expect(malformations('<div><span>x</span>')).toEqual(['unclosed: div']);
    expect(malformations('<p>x<br>y</p>')).toEqual([]);
  });
});

describe('formatting', () => {
  it.each([
    [0, '0 B'],
    [1023, '1023 B'],
    [1024, '1 KiB'],
    [123_456, '121 KiB'],
    [1_500_000, '1.43 MiB'],
    [15 * 1024 ** 3, '15 GiB'],
  ])('formatBytes(%d) = %s', (bytes, text) => {
    expect(formatBytes(bytes)).toBe(text);
  });

  it.each([
    [0.42, '0.4 s'],
    [12.4, '12 s'],
    [184, '3 min 4 s'],
    [7500, '2 h 5 min'],
  ])('formatDuration(%d) = %s', (seconds, text) => {
    expect(formatDuration(seconds)).toBe(text);
  });

  it('formatTime shows the wall clock of the zone', () => {
    expect(formatTime('2026-07-01T12:00:00Z', 'America/New_York')).toBe('2026-07-01 08:00 EDT');
    expect(formatTime('2026-07-01T12:00:00Z', 'UTC')).toBe('2026-07-01 12:00 UTC');
  });
});
