import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { hasErrorCode } from '@polythene/errors';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadBackendModule } from './load-backend-module.ts';

let cwd: string;

const backendSource = (name: string) =>
  `{ name: '${name}', description: 'd', probe: async () => ({ available: false, reason: 'r' }), run: async () => { throw new Error('no'); } }`;

function write(relativePath: string, content: string): void {
  const path = join(cwd, relativePath);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
}

beforeAll(() => {
  cwd = mkdtempSync(join(tmpdir(), 'polythene-modules-'));
  write('factory.mjs', `export default () => (${backendSource('factory')});\n`);
  write('async-factory.mjs', `export default async () => (${backendSource('async-factory')});\n`);
  write('object.mjs', `export default ${backendSource('object')};\n`);
  write('sub/dir/deep.mjs', `export default () => (${backendSource('deep')});\n`);
  write('syntax.mjs', 'export default () => ({ name: \n');
  write('throws-on-load.mjs', "throw new Error('cannot start: missing config');\n");
  write('no-default.mjs', `export const backend = ${backendSource('nodefault')};\n`);
  write('wrong-shape.mjs', "export default () => ({ name: '', probe: 'yes' });\n");
  write('factory-throws.mjs', "export default () => { throw new Error('factory exploded'); };\n");
  write('not-object.mjs', 'export default () => 42;\n');
  write('bad-aliases.mjs', `export default { ...${backendSource('bad')}, aliases: 'x' };\n`);
  // A CommonJS package resolved through "main".
  write(
    'node_modules/cjs-backend/package.json',
    JSON.stringify({ name: 'cjs-backend', main: 'main.js' }),
  );
  write('node_modules/cjs-backend/main.js', `module.exports = () => (${backendSource('cjs')});\n`);
  // An ESM-only package whose exports offer only the "import" condition.
  write(
    'node_modules/@acme/esm-backend/package.json',
    JSON.stringify({
      name: '@acme/esm-backend',
      type: 'module',
      exports: { '.': { types: './index.d.ts', import: './dist/index.js' } },
    }),
  );
  write(
    'node_modules/@acme/esm-backend/dist/index.js',
    `export default () => (${backendSource('esm')});\n`,
  );
});
afterAll(() => {
  rmSync(cwd, { recursive: true, force: true });
});

async function loadError(specifier: string): Promise<Error> {
  const error = await loadBackendModule(specifier, { cwd }).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(hasErrorCode(error, 'POLYTHENE_BACKEND_MODULE')).toBe(true);
  return error as Error;
}

describe('loadBackendModule', () => {
  it('loads a default-exported factory, async factory or object by path', async () => {
    expect((await loadBackendModule('./factory.mjs', { cwd })).name).toBe('factory');
    expect((await loadBackendModule('./async-factory.mjs', { cwd })).name).toBe('async-factory');
    expect((await loadBackendModule(join(cwd, 'object.mjs'), { cwd })).name).toBe('object');
    expect((await loadBackendModule('./dir/deep.mjs', { cwd: join(cwd, 'sub') })).name).toBe(
      'deep',
    );
  });

  it('loads installed packages, CommonJS and ESM-only, by name from cwd', async () => {
    expect((await loadBackendModule('cjs-backend', { cwd })).name).toBe('cjs');
    expect((await loadBackendModule('@acme/esm-backend', { cwd: join(cwd, 'sub/dir') })).name).toBe(
      'esm',
    );
  });

  it('says to install a package that is not there', async () => {
    const error = await loadError('@acme/not-installed/sub');
    expect(error.message).toBe(
      `backend module "@acme/not-installed/sub" is not installed where ${cwd} can see it: install it (npm install @acme/not-installed) or pass a path like ./my-backend.js`,
    );
  });

  it('says which path does not exist', async () => {
    const error = await loadError('./missing.mjs');
    expect(error.message).toContain(`${join(cwd, 'missing.mjs')} is not a file`);
  });

  it('wraps a syntax error or a throw while loading', async () => {
    const syntax = await loadError('./syntax.mjs');
    expect(syntax.message).toMatch(
      /^backend module "\.\/syntax\.mjs" failed to load \(.+\): fix the module/,
    );
    expect(syntax.cause).toBeDefined();
    const throws = await loadError('./throws-on-load.mjs');
    expect(throws.message).toContain('failed to load (cannot start: missing config)');
  });

  it('requires a default export', async () => {
    const error = await loadError('./no-default.mjs');
    expect(error.message).toBe(
      'backend module "./no-default.mjs" has no default export: add `export default` of a factory function that returns a Backend',
    );
  });

  it('names every shape problem', async () => {
    const error = await loadError('./wrong-shape.mjs');
    expect(error.message).toContain(
      '"name" must be a non-empty string, "description" must be a string, "probe" must be a function, "run" must be a function',
    );
    expect((await loadError('./not-object.mjs')).message).toContain(
      'got number instead of an object',
    );
    expect((await loadError('./bad-aliases.mjs')).message).toContain(
      '"aliases" must be an array of strings',
    );
  });

  it('wraps a factory that throws', async () => {
    const error = await loadError('./factory-throws.mjs');
    expect(error.message).toContain('its factory threw (factory exploded)');
  });

  it('refuses an empty name', async () => {
    expect((await loadError(' ')).message).toMatch(/name is empty/);
  });
});
