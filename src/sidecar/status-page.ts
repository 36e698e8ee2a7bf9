/**
 * The status page: Status -> one HTML document. Server-rendered, no script, no external asset (inline
 * CSS and SVG), light and dark by prefers-color-scheme, a table that turns into cards on a phone.
 * Every string from the model is escaped: backup names come from a bucket others can write to. The
 * page has no form and no button; its only links are the pager and the read-only endpoints.
 */
import type { BackupStatus, Status } from './status-model.js';

// ---------------------------------------------------------------------------------------------------
// Text
// ---------------------------------------------------------------------------------------------------

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Text safe inside an element or a quoted attribute. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => ESCAPES[char]!);
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(locale: string, timeZone: string): Intl.DateTimeFormat {
  const key = `${locale} ${timeZone}`;
  let format = formatters.get(key);
  if (!format) {
    format = new Intl.DateTimeFormat(locale, {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      timeZoneName: 'short',
    });
    formatters.set(key, format);
  }
  return format;
}

/**
 * The wall-clock fields of a moment in `timeZone`. The zone's abbreviation comes from en-GB (CET, BST)
 * or en-US (EDT, PST), whichever knows one; else an offset such as GMT+9.
 */
function parts(ms: number, timeZone: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of formatter('en-GB', timeZone).formatToParts(new Date(ms))) out[part.type] = part.value;
  if (out.timeZoneName?.startsWith('GMT')) {
    const us = formatter('en-US', timeZone)
      .formatToParts(new Date(ms))
      .find((part) => part.type === 'timeZoneName')?.value;
    if (us && !us.startsWith('GMT')) out.timeZoneName = us;
  }
  return out;
}

/** `2026-11-30 08:35 CET`: a moment as a wall-clock time in `timeZone`. */
export function formatTime(isoTime: string, timeZone: string): string {
  const p = parts(Date.parse(isoTime), timeZone);
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute} ${p.timeZoneName ?? ''}`.trim();
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `30 Nov`: the date of a moment in `timeZone`, for plot axes. */
export function formatDay(ms: number, timeZone: string): string {
  const p = parts(ms, timeZone);
  return `${Number(p.day)} ${MONTHS[Number(p.month) - 1] ?? ''}`;
}

/** `1.5 GiB`, `340 KiB`, `12 B`: binary units, three significant digits at most. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const digits = unit === 0 || value >= 100 ? 0 : value >= 10 ? 1 : 2;
  return `${Number(value.toFixed(digits))} ${units[unit]}`;
}

/** `0.4 s`, `12 s`, `3 min 4 s`, `2 h 5 min`. */
export function formatDuration(seconds: number): string {
  if (seconds < 10) return `${Number(seconds.toFixed(1))} s`;
  if (seconds < 60) return `${Math.round(seconds)} s`;
  const whole = Math.round(seconds);
  if (whole < 3600) return `${Math.floor(whole / 60)} min ${whole % 60} s`;
  return `${Math.floor(whole / 3600)} h ${Math.floor((whole % 3600) / 60)} min`;
}

/** `5 min ago`, `in 3 h`, `2 days ago`: a moment relative to now. */
export function formatRelative(isoTime: string, nowIso: string): string {
  const delta = Date.parse(isoTime) - Date.parse(nowIso);
  const abs = Math.abs(delta);
  const text =
    abs < 60_000
      ? 'less than a minute'
      : abs < 3_600_000
        ? `${Math.round(abs / 60_000)} min`
        : abs < 2 * 86_400_000
          ? `${Math.round(abs / 3_600_000)} h`
          : `${Math.round(abs / 86_400_000)} days`;
  return delta < 0 ? `${text} ago` : `in ${text}`;
}

// ---------------------------------------------------------------------------------------------------
// Page
// ---------------------------------------------------------------------------------------------------

export function renderStatusPage(status: Status): string {
  const title = `${status.verdict.ok ? 'OK' : 'PROBLEM'} · ${status.database} · chatflow-db`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'">
<meta name="robots" content="noindex">
<title>${escapeHtml(title)}</title>
<style>${CSS}</style>
</head>
<body>
<main>
<header>
<h1>chatflow-db <span class="db">${escapeHtml(status.database)}</span></h1>
<p class="muted">Status at ${escapeHtml(formatTime(status.generatedAt, status.timeZone))} · times in ${escapeHtml(status.timeZone)}</p>
</header>
${renderVerdict(status)}
${renderFacts(status)}
${renderTrends(status)}
${renderBackups(status)}
<footer class="muted">Read-only. The same facts as JSON: <a href="api/status">/api/status</a> · health: <a href="healthz">/healthz</a> · metrics: <a href="metrics">/metrics</a></footer>
</main>
</body>
</html>
`;
}

function renderVerdict(status: Status): string {
  const { verdict } = status;
  if (verdict.ok) {
    const backups = verdict.lastBackupAt ? 'the backups are on schedule' : 'no backup is due yet';
    const drill = verdict.lastDrill ? ' and the last restore drill passed' : '';
    return `<section class="verdict ok" id="verdict"><p class="word">All fine</p><p>The database answers, no migration is pending, ${backups}${drill}.</p></section>`;
  }
  const count = verdict.problems.length;
  const items = verdict.problems
    .map((problem) => {
      const since = problem.since
        ? ` <span class="since">since ${escapeHtml(formatTime(problem.since, status.timeZone))} (${escapeHtml(
            formatRelative(problem.since, status.generatedAt),
          )})</span>`
        : ' <span class="since">seen just now</span>';
      return `<li data-area="${escapeHtml(problem.area)}">${localTimes(escapeHtml(problem.message), status.timeZone)}${since}</li>`;
    })
    .join('');
  return `<section class="verdict bad" id="verdict"><p class="word">${count === 1 ? 'One problem' : `${count} problems`}</p><ul>${items}</ul></section>`;
}

const ISO_TIME = /\b\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z\b/g;

/** ISO times inside a message (as /healthz words them) shown in the page's zone. */
function localTimes(escaped: string, timeZone: string): string {
  return escaped.replace(ISO_TIME, (time) => escapeHtml(formatTime(time, timeZone)));
}

function when(isoTime: string | null, status: Status, none: string): string {
  if (!isoTime) return `<span class="muted">${escapeHtml(none)}</span>`;
  return `${escapeHtml(formatTime(isoTime, status.timeZone))} <span class="muted">(${escapeHtml(
    formatRelative(isoTime, status.generatedAt),
  )})</span>`;
}

function renderFacts(status: Status): string {
  const { schedule, migrations, versions, verdict } = status;
  const migrationText = migrations.known
    ? `${migrations.applied} applied${migrations.latest ? ` (newest ${escapeHtml(migrations.latest)})` : ''}, ${
        migrations.pending.length === 0
          ? 'none pending'
          : `<strong class="bad-text">${migrations.pending.length} pending</strong>: ${migrations.pending
              .map(escapeHtml)
              .join(', ')}`
      }`
    : `<span class="bad-text">unknown</span> (${escapeHtml(migrations.error)})`;
  const lastDrill = verdict.lastDrill
    ? `${verdict.lastDrill.ok ? '<span class="ok-text">passed</span>' : '<span class="bad-text">failed</span>'} ${when(
        verdict.lastDrill.at,
        status,
        '',
      )}`
    : '<span class="muted">none yet</span>';
  const cron = (text: string | null): string => (text ? ` <code>${escapeHtml(text)}</code>` : '');
  const rows: [string, string][] = [
    ['Last backup', when(verdict.lastBackupAt, status, 'none yet')],
    [
      'Next backup',
      `${when(schedule.nextBackup, status, 'not scheduled')}${cron(schedule.backupCron)}<br>prune: ${when(
        schedule.nextPrune,
        status,
        'retention off',
      )}`,
    ],
    [
      'Restore drills',
      `last: ${lastDrill}<br>next: ${when(schedule.nextDrill, status, 'drills off')}${cron(schedule.drillCron)}`,
    ],
    ['Migrations', migrationText],
    [
      'Versions',
      `chatflow-db ${escapeHtml(versions.chatflowDb)} · PostgreSQL ${escapeHtml(
        versions.server ?? 'unknown',
      )} · pg_dump ${escapeHtml(versions.pgDump ?? 'unknown')}`,
    ],
  ];
  return `<section class="facts"><dl>${rows
    .map(([term, value]) => `<div><dt>${term}</dt><dd>${value}</dd></div>`)
    .join('')}</dl></section>`;
}

// ---------------------------------------------------------------------------------------------------
// Plots
// ---------------------------------------------------------------------------------------------------

const W = 420;
const H = 190;
const M = { left: 54, right: 12, top: 12, bottom: 26 };
/** The time axis spans at least this much, however young the history. */
const MIN_AXIS_MS = 7 * 86_400_000;

interface PlotPoint {
  at: number;
  value: number;
  segment: number;
  name: string;
  label: string;
  /** Drawn in red (a failed drill, an incomplete archive) and not joined to the line. */
  failed?: boolean;
}

interface Axis {
  from: number;
  to: number;
  timeZone: string;
  /** Width of a missed slot's band (the schedule's interval), in ms. */
  slotMs: number;
}

function niceStep(max: number, ticks: number): number {
  const raw = max / ticks;
  const power = 10 ** Math.floor(Math.log10(raw));
  const mult = [1, 2, 2.5, 5, 10].find((m) => m * power >= raw) ?? 10;
  return mult * power;
}

function niceBytesStep(max: number, ticks: number): number {
  const unit = 1024 ** Math.max(0, Math.floor(Math.log(Math.max(max, 1)) / Math.log(1024)));
  return niceStep(max / unit, ticks) * unit;
}

const round = (value: number): string => value.toFixed(1);

function plot(
  kind: string,
  caption: string,
  axis: Axis,
  points: readonly PlotPoint[],
  missed: readonly string[],
  format: (value: number) => string,
  bytes: boolean,
): string {
  const { from, to, timeZone } = axis;
  const max = Math.max(0, ...points.map((p) => p.value));
  const step = max <= 0 ? 1 : bytes ? niceBytesStep(max, 4) : niceStep(max, 4);
  const top = max <= 0 ? step * 4 : Math.ceil((max * 1.05) / step) * step;
  const plotW = W - M.left - M.right;
  const plotH = H - M.top - M.bottom;
  const x = (at: number): number => M.left + ((at - from) / Math.max(1, to - from)) * plotW;
  const y = (value: number): number => M.top + plotH - (value / top) * plotH;

  const grid: string[] = [];
  for (let v = 0; v <= top + step / 2; v += step) {
    grid.push(
      `<line class="grid" x1="${M.left}" x2="${W - M.right}" y1="${round(y(v))}" y2="${round(y(v))}"/>` +
        (points.length === 0
          ? ''
          : `<text class="axis" x="${M.left - 6}" y="${round(y(v) + 4)}" text-anchor="end">${escapeHtml(format(v))}</text>`),
    );
  }
  for (let i = 0; i <= 3; i++) {
    const at = from + ((to - from) * i) / 3;
    const anchor = i === 0 ? 'start' : i === 3 ? 'end' : 'middle';
    grid.push(
      `<text class="axis" x="${round(x(at))}" y="${H - 7}" text-anchor="${anchor}">${escapeHtml(formatDay(at, timeZone))}</text>`,
    );
  }

  // A missed slot is a pale red band as wide as the interval, over the whole height.
  const gaps = missed.map((at) => {
    const start = Date.parse(at);
    const left = Math.max(M.left, x(start));
    const width = Math.max(2, Math.min(W - M.right, x(start + axis.slotMs)) - left);
    return `<rect class="missed" x="${round(left)}" y="${M.top}" width="${round(width)}" height="${plotH}" data-at="${escapeHtml(
      at,
    )}"><title>no backup for the slot of ${escapeHtml(formatTime(at, timeZone))}</title></rect>`;
  });
  const segments = new Map<number, PlotPoint[]>();
  for (const point of points) {
    if (point.failed && kind !== 'drill') continue;
    const list = segments.get(point.segment);
    if (list) list.push(point);
    else segments.set(point.segment, [point]);
  }
  const lines = [...segments.values()]
    .filter((list) => list.length > 1)
    .map(
      (list) =>
        `<polyline class="line" points="${list.map((p) => `${round(x(p.at))},${round(y(p.value))}`).join(' ')}"/>`,
    );
  const dots = points.map(
    (p) =>
      `<circle class="point${p.failed ? ' failed' : ''}" cx="${round(x(p.at))}" cy="${round(y(p.value))}" r="3.5" data-name="${escapeHtml(
        p.name,
      )}" data-at="${escapeHtml(new Date(p.at).toISOString())}" data-value="${p.value}"><title>${escapeHtml(
        `${p.name} · ${formatTime(new Date(p.at).toISOString(), timeZone)} · ${p.label}`,
      )}</title></circle>`,
  );
  const empty =
    points.length === 0
      ? `<text class="empty" x="${M.left + plotW / 2}" y="${M.top + plotH / 2}" text-anchor="middle">nothing yet</text>`
      : '';
  const missedNote =
    missed.length > 0
      ? ` <span class="bad-text">· ${missed.length} missed slot${missed.length === 1 ? '' : 's'}</span>`
      : '';
  return `<figure class="plot"><figcaption>${escapeHtml(caption)} <span class="muted">(${points.length})</span>${missedNote}</figcaption>
<svg data-plot="${kind}" viewBox="0 0 ${W} ${H}" role="img" aria-label="${escapeHtml(caption)}">${grid.join('')}${gaps.join('')}${lines.join('')}${dots.join('')}${empty}</svg></figure>`;
}

/**
 * The time axis: the trend window, shortened to the history when it is younger than the window (at least
 * MIN_AXIS_MS), so that a week of backups is not squeezed into the right edge of 90 days.
 */
function axisOf(status: Status): Axis {
  const { trend } = status;
  const windowFrom = Date.parse(trend.from);
  const to = Date.parse(trend.to);
  const times = [
    ...trend.backups.map((b) => Date.parse(b.at)),
    ...trend.missedSlots.map((at) => Date.parse(at)),
    ...trend.drills.map((d) => Date.parse(d.at)),
  ];
  const slotMs = (trend.intervalSeconds ?? 86_400) * 1000;
  const first = times.length > 0 ? Math.min(...times) : to;
  const padded = first - Math.max(slotMs, (to - first) * 0.03);
  return {
    from: Math.max(windowFrom, Math.min(padded, to - MIN_AXIS_MS)),
    to,
    timeZone: status.timeZone,
    slotMs,
  };
}

/** `day`, `6 hours`, `15 minutes`: a schedule interval in words. */
export function formatInterval(seconds: number): string {
  const units: [number, string][] = [
    [604_800, 'week'],
    [86_400, 'day'],
    [3600, 'hour'],
    [60, 'minute'],
  ];
  for (const [size, unit] of units) {
    if (seconds >= size && seconds % size === 0) {
      const n = seconds / size;
      return n === 1 ? unit : `${n} ${unit}s`;
    }
  }
  return formatDuration(seconds);
}

function renderTrends(status: Status): string {
  const { trend } = status;
  const axis = axisOf(status);
  const days = Math.round((axis.to - axis.from) / 86_400_000);
  const backups = trend.backups.map((b) => ({ ...b, atMs: Date.parse(b.at) }));
  const size = plot(
    'size',
    'Backup size',
    axis,
    backups.map((b) => ({
      at: b.atMs,
      value: b.size,
      segment: b.segment,
      name: b.name,
      label: b.complete ? formatBytes(b.size) : `${formatBytes(b.size)}, incomplete`,
      failed: !b.complete,
    })),
    trend.missedSlots,
    formatBytes,
    true,
  );
  const duration = plot(
    'duration',
    'Backup duration',
    axis,
    backups
      .filter((b) => b.durationSeconds !== null)
      .map((b) => ({
        at: b.atMs,
        value: b.durationSeconds!,
        segment: b.segment,
        name: b.name,
        label: formatDuration(b.durationSeconds!),
      })),
    trend.missedSlots,
    axisDuration,
    false,
  );
  const drill = plot(
    'drill',
    'Restore drill duration',
    axis,
    trend.drills.map((d) => ({
      at: Date.parse(d.at),
      value: d.durationSeconds,
      segment: 0,
      name: d.name,
      label: `${d.ok ? 'passed' : 'FAILED'} in ${formatDuration(d.durationSeconds)}`,
      failed: !d.ok,
    })),
    [],
    axisDuration,
    false,
  );
  const expected = trend.intervalSeconds
    ? `Backups are due every ${formatInterval(trend.intervalSeconds)}. `
    : '';
  const gapNote = trend.slotsChecked
    ? 'A missing one shows as a red band and a break in the line.'
    : 'The schedule is too dense to check slot by slot.';
  return `<section class="trends"><h2>Last ${days} days</h2><p class="muted">${escapeHtml(expected + gapNote)}</p><div class="plots">${size}${duration}${drill}</div></section>`;
}

function axisDuration(seconds: number): string {
  if (seconds === 0) return '0';
  if (seconds < 120) return `${Number(seconds.toFixed(1))} s`;
  if (seconds < 7200) return `${Number((seconds / 60).toFixed(1))} min`;
  return `${Number((seconds / 3600).toFixed(1))} h`;
}

// ---------------------------------------------------------------------------------------------------
// Table
// ---------------------------------------------------------------------------------------------------

function renderBackups(status: Status): string {
  const { backups } = status;
  const heading = `<h2>Backups <span class="muted">(${backups.total})</span></h2>`;
  if (backups.total === 0) {
    return `<section class="backups">${heading}<p class="empty-note">No backups yet. The first one is due ${when(
      status.schedule.nextBackup,
      status,
      'when one is scheduled',
    )}.</p></section>`;
  }
  const rows = backups.items.map((backup) => renderRow(backup, status)).join('\n');
  return `<section class="backups">${heading}
<table>
<thead><tr><th>Name</th><th>Made</th><th class="num">Size</th><th class="num">Duration</th><th>Stores</th><th>Verified</th><th>Drill</th><th>Encrypted</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>
${renderPager(status)}
</section>`;
}

function renderRow(backup: BackupStatus, status: Status): string {
  const verified =
    backup.verified.result === 'passed'
      ? '<span class="ok-text">✓ passed</span>'
      : backup.verified.result === 'failed'
        ? '<span class="bad-text">✗ failed</span>'
        : '<span class="muted">sizes match</span>';
  const drill = backup.drill
    ? backup.drill.ok
      ? `<span class="ok-text">✓ ${escapeHtml(formatDuration(backup.drill.durationSeconds))}</span>`
      : `<span class="bad-text">✗ ${escapeHtml(backup.drill.failedChecks.join(', ') || 'failed')}</span>`
    : '<span class="muted">–</span>';
  const drillTitle = backup.drill
    ? ` title="${escapeHtml(`drilled ${formatTime(backup.drill.at, status.timeZone)}`)}"`
    : '';
  const cell = (label: string, value: string, extra = ''): string =>
    `<td data-label="${label}"${extra}><span class="v">${value}</span></td>`;
  return (
    `<tr class="backup" data-name="${escapeHtml(backup.name)}">` +
    cell(
      'Name',
      `${escapeHtml(backup.name)}${backup.complete ? '' : ' <span class="tag bad-text">incomplete</span>'}`,
      ' class="name"',
    ) +
    cell(
      'Made',
      `<time datetime="${escapeHtml(backup.createdAt)}">${escapeHtml(formatTime(backup.createdAt, status.timeZone))}</time>`,
      ' class="when"',
    ) +
    cell('Size', escapeHtml(formatBytes(backup.size)), ' class="num"') +
    cell(
      'Duration',
      backup.durationSeconds === null
        ? '<span class="muted">–</span>'
        : escapeHtml(formatDuration(backup.durationSeconds)),
      ' class="num"',
    ) +
    cell(
      'Stores',
      backup.stores.map((store) => `<span class="tag">${escapeHtml(store)}</span>`).join(' '),
      ' class="state"',
    ) +
    cell('Verified', verified, ` class="state" title="${escapeHtml(backup.verified.detail)}"`) +
    cell('Drill', drill, drillTitle) +
    cell('Encrypted', backup.encrypted ? 'yes' : '<span class="muted">no</span>') +
    `</tr>`
  );
}

function renderPager(status: Status): string {
  const { page, pages } = status.backups;
  if (pages <= 1) return '';
  const newer =
    page > 1 ? `<a rel="prev" href="?page=${page - 1}">← newer</a>` : '<span class="muted">← newer</span>';
  const older =
    page < pages
      ? `<a rel="next" href="?page=${page + 1}">older →</a>`
      : '<span class="muted">older →</span>';
  return `<nav class="pager" aria-label="pages">${newer}<span>page ${page} of ${pages}</span>${older}</nav>`;
}

// ---------------------------------------------------------------------------------------------------
// Style
// ---------------------------------------------------------------------------------------------------

const CSS = `
:root{--bg:#f7f7f5;--fg:#1d1f21;--muted:#6a6f75;--card:#fff;--line:#dcdfe3;--accent:#2f6fdb;--ok:#1f7a3a;--ok-bg:#e6f4ea;--bad:#b3261e;--bad-bg:#fce8e6;--grid:#e6e8eb}
@media (prefers-color-scheme: dark){:root{--bg:#15171a;--fg:#e6e8eb;--muted:#9aa1a9;--card:#1e2125;--line:#30343a;--accent:#79a6f2;--ok:#6fcf8a;--ok-bg:#173222;--bad:#ff8a80;--bad-bg:#3b1c1a;--grid:#2a2e33}}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;background:var(--bg);color:var(--fg);font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif}
main{max-width:1180px;margin:0 auto;padding:16px}
h1{font-size:1.35rem;margin:0 0 2px}
h1 .db{font-weight:400;color:var(--muted)}
h2{font-size:1.1rem;margin:24px 0 8px}
a{color:var(--accent)}
code{font:0.85em ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:var(--grid);padding:1px 4px;border-radius:4px}
.muted{color:var(--muted)}
.ok-text{color:var(--ok)}
.bad-text{color:var(--bad)}
header{margin-bottom:12px}
header p{margin:0}
.verdict{border-radius:10px;padding:12px 16px;margin:12px 0;border:1px solid var(--line)}
.verdict.ok{background:var(--ok-bg);border-color:var(--ok)}
.verdict.bad{background:var(--bad-bg);border-color:var(--bad)}
.verdict .word{font-size:1.5rem;font-weight:700;margin:0 0 4px}
.verdict.ok .word{color:var(--ok)}
.verdict.bad .word{color:var(--bad)}
.verdict p{margin:0}
.verdict ul{margin:4px 0 0;padding-left:20px}
.verdict li{margin:4px 0;overflow-wrap:anywhere}
.since{color:var(--muted);white-space:nowrap}
.facts dl{display:grid;grid-template-columns:repeat(auto-fill,minmax(300px,1fr));gap:8px;margin:0}
.facts dl>div{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:8px 12px}
.facts dt{font-size:.8rem;text-transform:uppercase;letter-spacing:.04em;color:var(--muted)}
.facts dd{margin:0;overflow-wrap:anywhere}
.plots{display:grid;grid-template-columns:repeat(auto-fill,minmax(340px,1fr));gap:12px}
.plot{margin:0;background:var(--card);border:1px solid var(--line);border-radius:8px;padding:8px}
.plot figcaption{font-weight:600;margin:0 4px 4px}
.plot svg{display:block;width:100%;height:auto}
.plot .grid{stroke:var(--grid);stroke-width:1}
.plot .axis{fill:var(--muted);font-size:11.5px}
.plot .line{fill:none;stroke:var(--accent);stroke-width:1.6;stroke-linejoin:round}
.plot .point{fill:var(--accent);stroke:var(--card);stroke-width:1}
.plot .point.failed{fill:var(--bad)}
.plot .missed{fill:var(--bad);opacity:.2}
.plot .empty{fill:var(--muted);font-size:14px}
table{width:100%;border-collapse:collapse;background:var(--card);border:1px solid var(--line);border-radius:8px;overflow:hidden}
th,td{text-align:left;padding:7px 10px;border-bottom:1px solid var(--line);vertical-align:top}
th{font-size:.8rem;text-transform:uppercase;letter-spacing:.04em;color:var(--muted);font-weight:600}
tbody tr:last-child td{border-bottom:0}
td.when,td.state{white-space:nowrap}
td.name{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.88em;overflow-wrap:anywhere;min-width:12em}
.num{text-align:right;white-space:nowrap}
.tag{display:inline-block;font-size:.8em;border:1px solid var(--line);border-radius:999px;padding:0 7px;white-space:nowrap}
.pager{display:flex;justify-content:space-between;align-items:center;gap:12px;margin:12px 0}
.pager a{font-weight:600;text-decoration:none;padding:6px 10px;border:1px solid var(--line);border-radius:6px;background:var(--card)}
.pager span.muted{padding:6px 10px}
footer{margin:28px 0 8px;font-size:.9rem}
@media (max-width:720px){
main{padding:12px}
.plots{grid-template-columns:1fr}
.facts dl{grid-template-columns:1fr}
table,thead,tbody,tr,td{display:block;border:0}
table{background:none}
thead{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
tr.backup{background:var(--card);border:1px solid var(--line);border-radius:8px;margin:0 0 10px;padding:6px 12px}
td{display:grid;grid-template-columns:6.5em 1fr;gap:8px;padding:3px 0;border:0;text-align:left}
td::before{content:attr(data-label);color:var(--muted);font-size:.85em}
td.num{text-align:left}
td.name{display:block;font-weight:600;font-size:.95em;padding:4px 0 6px;border-bottom:1px solid var(--line);margin-bottom:4px}
td.name::before{content:none}
td.when,td.state{white-space:normal}
}
`;
