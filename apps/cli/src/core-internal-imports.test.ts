import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The CLI imports core's modules as `@polythene/core/internal/<file>`. Its binary bundles those
// sources, but its programmatic API (which the testkit loads) imports them through core's
// `./internal` barrel (see tsdown.config.ts), so every name it imports must be exported there.

const cliSources = fileURLToPath(new URL('.', import.meta.url));
const barrelPath = fileURLToPath(
  new URL('../../../packages/core/src/internal.ts', import.meta.url),
);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') ? [path] : [];
  });
}

function importedName(specifier: string): string {
  return (
    specifier
      .trim()
      .replace(/^type\s+/, '')
      .split(/\s+as\s+/)[0] ?? ''
  );
}

function exportedName(specifier: string): string {
  return (
    specifier
      .trim()
      .replace(/^type\s+/, '')
      .split(/\s+as\s+/)
      .pop() ?? ''
  );
}

describe("the CLI's imports of core's modules", () => {
  it('are all exported by the @polythene/core/internal barrel', () => {
    const barrel = readFileSync(barrelPath, 'utf8');
    const exported = new Set(
      [...barrel.matchAll(/export\s+(?:type\s+)?\{([^}]*)\}/g)].flatMap((match) =>
        (match[1] ?? '').split(',').map(exportedName),
      ),
    );
    const imports = sourceFiles(cliSources).flatMap((file) =>
      [
        ...readFileSync(file, 'utf8').matchAll(
          /import\s+(?:type\s+)?\{([^}]*)\}\s+from\s+'@polythene\/core\/internal\/[^']+'/g,
        ),
      ].flatMap((match) =>
        (match[1] ?? '')
          .split(',')
          .map(importedName)
          .filter((name) => name !== '')
          .map((name) => ({ name, file: relative(cliSources, file) })),
      ),
    );
    expect(imports.length).toBeGreaterThan(20);
    expect(imports.filter(({ name }) => !exported.has(name))).toEqual([]);
  });
});
