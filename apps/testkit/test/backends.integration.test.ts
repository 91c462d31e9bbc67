import { spawnSync } from 'node:child_process';
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createProotBackend } from '@polythene/backend-proot';
import { ensureTestImages } from '@polythene/test-images';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { polythene } from '../src/index.ts';

const testkitDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const workspace = join(testkitDir, '..', '..');

let work: string;
let busybox: string;
beforeAll(async () => {
  busybox = (await ensureTestImages()).busybox;
  work = mkdtempSync(join(tmpdir(), 'polythene-testkit-backends-'));
});
afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the backends a box runs with', () => {
  it('are the ones passed: polythene.image(ref, { backends: [proot] }) runs through proot', async () => {
    const image = await polythene.image(busybox, {
      store: join(work, 'store'),
      backends: [createProotBackend()],
      hostEnv: { ...process.env, POLYTHENE_ISOLATION: '' },
    });
    // proot cannot mount an overlay: the testkit chose copies for this backend list.
    expect(image.boxMethod).toBe('copy');
    await using box = await image.box();
    const result = await box.exec('echo hi');
    expect(result).toMatchObject({ exitCode: 0, stdout: 'hi\n', backend: 'proot' });
  });

  it('refuses an empty list as usage', async () => {
    const error = await polythene
      .image(busybox, { store: join(work, 'store'), backends: [] })
      .catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'POLYTHENE_USAGE' });
  });

  it('with no backend package installed, the error names the packages to add', () => {
    // A project whose node_modules holds the testkit (a copy of the built package, so that it
    // resolves from here) and its dependencies, but no backend.
    const project = join(work, 'project');
    const scope = join(project, 'node_modules', '@polythene');
    mkdirSync(join(scope, 'testkit'), { recursive: true });
    cpSync(join(testkitDir, 'dist'), join(scope, 'testkit', 'dist'), { recursive: true });
    cpSync(join(testkitDir, 'package.json'), join(scope, 'testkit', 'package.json'));
    // Its dependencies as its package.json lists them (workspace packages, linked).
    const manifest = JSON.parse(readFileSync(join(testkitDir, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    const dependencies = Object.keys(manifest.dependencies);
    expect(dependencies).toContain('@polythene/core');
    for (const name of dependencies) {
      const short = name.replace('@polythene/', '');
      symlinkSync(join(workspace, 'packages', short), join(scope, short));
    }
    symlinkSync(
      join(testkitDir, 'node_modules', 'vitest'),
      join(project, 'node_modules', 'vitest'),
    );
    const script = join(project, 'try.mjs');
    writeFileSync(
      script,
      `import { polythene } from '@polythene/testkit';
polythene.image('busybox', { store: ${JSON.stringify(join(work, 'store2'))} }).then(
  () => console.log('no error'),
  (error) => console.log(JSON.stringify({ code: error.code, message: error.message })),
);
`,
    );
    const run = spawnSync(process.execPath, [script], {
      cwd: project,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(run.stderr).toBe('');
    const outcome = JSON.parse(run.stdout) as { code: string; message: string };
    expect(outcome.code).toBe('POLYTHENE_NO_BACKEND');
    for (const name of [
      '@polythene/backend-bwrap',
      '@polythene/backend-proot',
      '@polythene/backend-chroot',
    ]) {
      expect(outcome.message).toContain(name);
    }
  });
});
