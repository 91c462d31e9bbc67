import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));

describe('docs/backends.md', () => {
  it('shows the example backend exactly as the tested fixture', () => {
    const doc = readFileSync(join(here, '../../../docs/backends.md'), 'utf8');
    const match =
      /<!-- example-backend:start -->\n```js\n([\s\S]*?)```\n<!-- example-backend:end -->/.exec(
        doc,
      );
    expect(match, 'the example block markers are missing from docs/backends.md').not.toBeNull();
    const fixture = readFileSync(join(here, 'fixtures/example-backend.mjs'), 'utf8');
    expect(match?.[1]).toBe(fixture);
  });
});
