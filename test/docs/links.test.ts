/**
 * Every link between the docs leads somewhere: a relative link names a file of the repository, and
 * a `#fragment` names a heading of its page (as GitHub makes anchors from headings).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { docFiles, root } from '../helpers/doc-blocks.js';

const pages = [...docFiles, 'CHANGELOG.md', 'CONTRIBUTING.md', 'BENCHMARKS.md'];

/** The text of a page without its fenced code, where `[x](y)` is not a link. */
const prose = (file: string) =>
  readFileSync(join(root, file), 'utf8').replace(/^```[\s\S]*?^```$/gm, '');

/** GitHub's anchors for a page's headings: lower case, punctuation dropped, spaces to hyphens. */
function anchorsOf(file: string): Set<string> {
  const anchors = new Set<string>();
  for (const [, heading = ''] of prose(file).matchAll(/^#{1,6} (.+)$/gm)) {
    const slug = heading
      .trim()
      .toLowerCase()
      .replace(/[^\p{L}\p{N} _-]/gu, '')
      .replace(/ /g, '-');
    let anchor = slug;
    for (let n = 1; anchors.has(anchor); n++) anchor = `${slug}-${n}`;
    anchors.add(anchor);
  }
  return anchors;
}

describe('links between the docs', () => {
  it.each(pages)('every relative link of %s leads to a file and heading that exist', (page) => {
    const broken: string[] = [];
    for (const [, target = ''] of prose(page).matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/.test(target)) continue; // https:, mailto:
      const [path = '', fragment] = target.split('#');
      const file = path ? relative(root, normalize(join(dirname(join(root, page)), path))) : page;
      if (!existsSync(join(root, file))) broken.push(`${target}: no file ${file}`);
      else if (fragment !== undefined && !anchorsOf(file).has(fragment)) {
        broken.push(`${target}: no heading for #${fragment} in ${file}`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('README links every guide in docs/', () => {
    const readme = prose('README.md');
    for (const guide of docFiles.filter((file) => file.startsWith('docs/'))) {
      expect(readme).toContain(`](${guide})`);
    }
  });
});
