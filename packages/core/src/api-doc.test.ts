import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as core from './index.ts';

// Keeps docs/api.md true to the exports: every exported function has a heading naming it
// (`` `pull(`` in a `##` or `###` heading), and no heading names a function core does not export.
const doc = readFileSync(new URL('../../../docs/api.md', import.meta.url), 'utf8');

const exportedFunctions = Object.entries(core)
  .filter(([, value]) => typeof value === 'function')
  .map(([name]) => name)
  .sort();

// Headings outside fenced code blocks (a `#` comment in a shell example is no heading).
function headings(markdown: string): string[] {
  let isInFence = false;
  const found: string[] = [];
  for (const line of markdown.split('\n')) {
    if (/^\s*(```|~~~)/.test(line)) isInFence = !isInFence;
    else if (!isInFence && /^#{2,3} /.test(line)) found.push(line);
  }
  return found;
}

const functionHeadings = headings(doc);
const documentedFunctions = [
  ...new Set(
    functionHeadings.flatMap((heading) =>
      [...heading.matchAll(/`([A-Za-z_$][\w$]*)\(/g)].map((match) => match[1] as string),
    ),
  ),
].sort();

describe('docs/api.md', () => {
  it('finds the exported functions', () => {
    expect(exportedFunctions).toContain('pull');
    expect(exportedFunctions).toContain('exec');
  });

  for (const name of exportedFunctions) {
    it(`has a heading for ${name}`, () => {
      expect(functionHeadings.some((heading) => heading.includes(`\`${name}(`))).toBe(true);
    });
  }

  it('names in its headings only functions @polythene/core exports', () => {
    expect(documentedFunctions).toEqual(exportedFunctions);
  });
});
