import { describe, expect, it } from 'vitest';
import { progressReport, startProgress } from '../../../src/lib/progress.js';
import { silentLogger, type Logger } from '../../../src/lib/logger.js';
import { parseHeader } from '../../../src/restore/post-data.js';

const MiB = 1048576;

describe('progressReport', () => {
  const base = { logger: silentLogger, label: 'restore', intervalMs: 1000, verb: 'read' };

  it('with a total: percent, rate and time left, in the fields and the message', () => {
    const report = progressReport({ ...base, bytes: () => 50 * MiB, totalBytes: 100 * MiB }, 0, 10_000);
    expect(report.fields).toMatchObject({
      bytes: 50 * MiB,
      totalBytes: 100 * MiB,
      percent: 50,
      mibPerSecond: 5,
      elapsedSeconds: 10,
      etaSeconds: 10,
    });
    expect(report.message).toBe(
      'restore: 50.0 MiB of 100.0 MiB (50 %) read, 5 MiB/s, 10 s elapsed, about 10 s left',
    );
  });

  it('without a total: no percent and no estimate', () => {
    const report = progressReport(
      { ...base, label: 'backup', verb: 'written', bytes: () => 3 * MiB },
      0,
      3000,
    );
    expect(report.fields.percent).toBeUndefined();
    expect(report.fields.etaSeconds).toBeUndefined();
    expect(report.message).toBe('backup: 3.0 MiB written, 1 MiB/s, 3 s elapsed');
  });

  it('a phase replaces the byte figures', () => {
    const report = progressReport(
      { ...base, bytes: () => MiB, phase: () => ({ fields: { phase: 'post-data' }, text: '2 of 5 done' }) },
      0,
      4000,
    );
    expect(report.message).toBe('restore: 2 of 5 done, 4 s elapsed');
    expect(report.fields.phase).toBe('post-data');
  });
});

describe('post-data headers', () => {
  it.each([
    ['-- Name: items_a; Type: INDEX; Schema: public; Owner: postgres', { type: 'index', name: 'items_a' }],
    [
      '-- Name: items items_pkey; Type: CONSTRAINT; Schema: public; Owner: -',
      { type: 'constraint', name: 'items_pkey' },
    ],
    [
      '-- Name: a a_b_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -',
      { type: 'fk constraint', name: 'a_b_fkey' },
    ],
    ['-- Name: items; Type: TABLE; Schema: public; Owner: postgres', undefined],
    ['-- Data for Name: items; Type: TABLE DATA; Schema: public; Owner: -', undefined],
  ])('%s', (line, expected) => {
    expect(parseHeader(line)).toEqual(expected);
  });
});

describe('startProgress', () => {
  // A job shorter than one interval logged nothing at all (a sub-second backup in CI had no progress line).
  it('logs a final line when stopped after a success, and none after a failure', () => {
    const lines: string[] = [];
    const logger = { info: (_fields: unknown, message: string) => lines.push(message) } as unknown as Logger;
    const options = { logger, label: 'backup', intervalMs: 60_000, verb: 'written', bytes: () => 2 * MiB };
    // The clock moves one second between start and stop.
    const clock = () => {
      let t = -1000;
      return () => (t += 1000);
    };
    startProgress({ ...options, now: clock() }).stop();
    expect(lines).toEqual([]);
    startProgress({ ...options, now: clock() }).stop({ final: true });
    expect(lines).toEqual(['backup: 2.0 MiB written, 2 MiB/s, 1 s elapsed']);
  });
});
