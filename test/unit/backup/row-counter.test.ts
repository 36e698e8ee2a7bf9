import { describe, expect, it } from 'vitest';
import { copyTarget, CopyRowCounter } from '../../../src/backup/row-counter.js';

function count(text: string, chunkSize?: number): Record<string, number> {
  const data = Buffer.from(text);
  const counter = new CopyRowCounter();
  const size = chunkSize ?? data.length;
  for (let at = 0; at < data.length; at += size) counter.scan(data.subarray(at, at + size));
  counter.finish();
  return counter.counts;
}

const HEADER = 'SET statement_timeout = 0;\n--\n-- Data for Name: users; Type: TABLE DATA\n--\n\n';

// [name, SQL, expected counts]
const CASES: [string, string, Record<string, number>][] = [
  ['no COPY at all', 'CREATE TABLE public.t (a int);\n', {}],
  ['an empty table', `${HEADER}COPY public.users (id, name) FROM stdin;\n\\.\n\n`, { 'public.users': 0 }],
  [
    'two tables',
    `${HEADER}COPY public.a (id) FROM stdin;\n1\n2\n3\n\\.\n\nCOPY public.b (id, x) FROM stdin;\n1\tx\n\\.\n`,
    { 'public.a': 3, 'public.b': 1 },
  ],
  [
    'escaped newlines and backslashes in values stay one row each',
    'COPY public.m (body) FROM stdin;\nline one\\nline two\nback\\\\slash\n\\\\.\nx\\.\n\\.\n',
    { 'public.m': 4 },
  ],
  [
    'CRLF line ends (end marker \\.\\r\\n)',
    'COPY public.c (id) FROM stdin;\r\n1\r\n2\r\n\\.\r\nSELECT 1;\r\n',
    { 'public.c': 2 },
  ],
  [
    'quoted names with dots, spaces and doubled quotes',
    'COPY "My Schema"."a.b ""c""" (id) FROM stdin;\n1\n\\.\n',
    { '"My Schema"."a.b ""c"""': 1 },
  ],
  ['a table without columns', 'COPY public.nocols  FROM stdin;\n\n\n\\.\n', { 'public.nocols': 2 }],
  [
    'lines that only look like COPY are not blocks',
    "COPYRIGHT\nCOPY\n  COPY public.x (a) FROM stdin;\nCOPY public.y (a) TO stdout;\nSELECT 'COPY public.z (a) FROM stdin;';\nCOPY public.w (a) FROM stdin;\n\\.\n",
    { 'public.w': 0 },
  ],
  [
    'short lines between blocks',
    'C\nCO\n\nCOP\nCOPY public.a (id) FROM stdin;\n1\n\\.\nC\nCOPY public.b (id) FROM stdin;\n2\n\\.\n',
    { 'public.a': 1, 'public.b': 1 },
  ],
  [
    'a block cut off before its end counts what it saw',
    'COPY public.t (a) FROM stdin;\n1\n2\n',
    { 'public.t': 2 },
  ],
];

describe('CopyRowCounter', () => {
  it.each(CASES)('%s', (_name, text, expected) => {
    expect(count(text), 'whole').toEqual(expected);
    expect(count(text, 1), '1-byte chunks').toEqual(expected);
    expect(count(text, 7), '7-byte chunks').toEqual(expected);
  });

  it('counts through the stream interface and flushes a block cut off at the end', async () => {
    const counter = new CopyRowCounter();
    const out: Buffer[] = [];
    counter.on('data', (chunk: Buffer) => out.push(chunk));
    const done = new Promise((resolve) => counter.on('end', resolve));
    counter.write('COPY public.a (id) FROM stdin;\n1\n');
    counter.end('2\n');
    await done;
    expect(counter.counts).toEqual({ 'public.a': 2 });
    expect(Buffer.concat(out).toString()).toBe('COPY public.a (id) FROM stdin;\n1\n2\n');
  });
});

describe('copyTarget', () => {
  it.each([
    ['COPY public.users (id, name) FROM stdin;', 'public.users'],
    ['COPY public.users (id) FROM stdin;\r', 'public.users'],
    ['COPY "x y".t (id) FROM stdin;', '"x y".t'],
    ['COPY public.t  FROM stdin;', 'public.t'],
    ['COPY public.t (id) TO stdout;', undefined],
    ['COPY public.t (id) FROM stdin; extra', undefined],
    ["COPY public.t (id) FROM PROGRAM 'x';", undefined],
  ])('%j -> %j', (line, table) => {
    expect(copyTarget(line)).toBe(table);
  });
});
