import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

describe('docs/backends.md', () => {
  it('shows the example backend exactly as the fixture the conformance suite runs', () => {
    const doc = readFileSync(join(import.meta.dirname, '../../../docs/backends.md'), 'utf8');
    const match =
      /<!-- example-backend:start -->\n```js\n([\s\S]*?)```\n<!-- example-backend:end -->/.exec(
        doc,
      );
    expect(match, 'the example block markers are missing from docs/backends.md').not.toBeNull();
    const fixture = readFileSync(
      join(import.meta.dirname, 'fixtures/third-party-backend.mjs'),
      'utf8',
    );
    expect(match?.[1]).toBe(fixture);
  });
});
