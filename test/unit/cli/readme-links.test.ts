/**
 * The README is the operator's manual and sends readers into docs/ for design, benchmarks and the schema:
 * every such link must reach a file that exists and, with a #fragment, one of its headings. The README
 * never points at the schema contract outside the repository.
 */
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const root = new URL('../../../', import.meta.url);
const readme = readFileSync(new URL('README.md', root), 'utf8');

/** GitHub's anchor of a heading: lower case, punctuation other than - and _ removed, spaces to -. */
function anchors(markdown: string): Set<string> {
  return new Set(
    [...markdown.matchAll(/^#{1,6} (.+)$/gm)].map((m) =>
      (m[1] as string)
        .trim()
        .toLowerCase()
        .replace(/[^\p{L}\p{N} _-]/gu, '')
        .replace(/ /g, '-'),
    ),
  );
}

describe('README links into docs/', () => {
  const links = [...readme.matchAll(/\]\((docs\/[^)#\s]+)(?:#([^)\s]+))?\)/g)].map((m) => ({
    file: m[1] as string,
    anchor: m[2],
  }));

  it('finds the links to the design, benchmarks and schema documents', () => {
    const files = new Set(links.map((l) => l.file));
    for (const file of ['docs/design.md', 'docs/benchmarks.md', 'docs/schema.md', 'docs/schema-notes.md'])
      expect(files).toContain(file);
  });

  it.each(links.map((l) => [`${l.file}${l.anchor ? `#${l.anchor}` : ''}`, l] as const))(
    '%s exists',
    (_, link) => {
      const url = new URL(link.file, root);
      expect(existsSync(url)).toBe(true);
      if (link.anchor) expect(anchors(readFileSync(url, 'utf8'))).toContain(link.anchor);
    },
  );

  it('does not point at the schema contract outside the repository', () => {
    expect(readme).not.toMatch(/SCHEMA\.md|\.\.\/shared/);
  });
});
