// Acceptance for the engine as a library (issue 14): a project installs `@polythene/core`
// and only the backend packages it wants, from the packed tarballs, outside the workspace.
// Runs once the workspace has a `@polythene/core` package to pack.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureTestImages } from '@polythene/test-images';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { installPacked, listInstalledPackages } from './install-packed.ts';

const packed = inject('packed');
const hasCore = packed.some((pkg) => pkg.name === '@polythene/core');

const BACKENDS = [
  { name: 'proot', pkg: '@polythene/backend-proot', factory: 'createProotBackend' },
  { name: 'bwrap', pkg: '@polythene/backend-bwrap', factory: 'createBwrapBackend' },
] as const;
const ALL_BACKEND_PACKAGES = [
  '@polythene/backend-bwrap',
  '@polythene/backend-proot',
  '@polythene/backend-chroot',
];

describe.runIf(hasCore)('composing the engine with only the backends a project needs', () => {
  let store: string;
  let image: string;

  beforeAll(async () => {
    image = (await ensureTestImages()).busybox;
    store = await mkdtemp(join(tmpdir(), 'polythene-acceptance-store-'));
  });
  afterAll(async () => {
    if (store !== undefined) await rm(store, { recursive: true, force: true });
  });

  for (const backend of BACKENDS) {
    const others = ALL_BACKEND_PACKAGES.filter((pkg) => pkg !== backend.pkg);

    it(`@polythene/core + ${backend.pkg} only: exec runs through ${backend.name}, and no other backend package is installed`, async () => {
      const project = await installPacked(['@polythene/core', backend.pkg], packed);
      try {
        const installed = await listInstalledPackages(project.nodeModules);
        expect(installed).toContain(backend.pkg);
        for (const other of others) expect(installed).not.toContain(other);
        await writeFile(
          join(project.dir, 'run.mjs'),
          [
            "import { exec, pull, remove } from '@polythene/core';",
            `import { ${backend.factory} } from '${backend.pkg}';`,
            '',
            `const backends = [${backend.factory}()];`,
            'const { id } = await pull({ image: process.env.ACCEPTANCE_IMAGE });',
            "const result = await exec({ id, command: ['echo', 'hi'], stdio: 'pipe', backends });",
            'const stdout = new TextDecoder().decode(result.stdout);',
            'console.log(JSON.stringify([result.backend, result.exitCode, stdout]));',
            'await remove([id]);',
            '',
          ].join('\n'),
        );
        const result = await execa(process.execPath, ['run.mjs'], {
          cwd: project.dir,
          env: { ...project.env, POLYTHENE_STORE: store, ACCEPTANCE_IMAGE: image },
          extendEnv: false,
          reject: false,
        });
        expect([result.exitCode, result.stderr]).toEqual([0, '']);
        expect(JSON.parse(result.stdout)).toEqual([backend.name, 0, 'hi\n']);
      } finally {
        await project.remove();
      }
    });
  }

  it('@polythene/testkit with a single backend package (proot) runs a vitest suite through it', async () => {
    const project = await installPacked(
      ['@polythene/testkit', '@polythene/backend-proot'],
      packed,
      {
        extra: ['vitest@^4'],
      },
    );
    try {
      const installed = await listInstalledPackages(project.nodeModules);
      expect(installed).not.toContain('@polythene/backend-bwrap');
      expect(installed).not.toContain('@polythene/backend-chroot');
      await writeFile(
        join(project.dir, 'box.test.ts'),
        [
          "import { createPolytheneTest } from '@polythene/testkit';",
          "import { expect } from 'vitest';",
          '',
          'const test = createPolytheneTest(process.env.ACCEPTANCE_IMAGE as string);',
          '',
          "test('a command runs in its box through proot', async ({ box }) => {",
          "  const result = await box.exec('echo hi > /tmp/greeting');",
          '  expect(result).toSucceed();',
          "  expect(result.backend).toBe('proot');",
          "  await expect(box).toHaveFile('/tmp/greeting', /hi/);",
          '});',
          '',
        ].join('\n'),
      );
      const result = await execa(project.bin('vitest'), ['run'], {
        cwd: project.dir,
        env: {
          ...project.env,
          POLYTHENE_STORE: store,
          ACCEPTANCE_IMAGE: image,
          CI: '1',
          NO_COLOR: '1',
        },
        extendEnv: false,
        reject: false,
        all: true,
      });
      expect(result.all).toMatch(/Tests\s+1 passed/);
      expect(result.exitCode).toBe(0);
    } finally {
      await project.remove();
    }
  });
});
