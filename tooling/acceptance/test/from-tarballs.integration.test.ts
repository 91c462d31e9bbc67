// Acceptance from packed tarballs: what a user gets from `npm install` of the release folder,
// in fresh projects outside the workspace (no pnpm links, no workspace sources).
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkPackedManifests } from '@polythene/release';
import { ensureTestImages } from '@polythene/test-images';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  exists,
  type InstalledProject,
  installPacked,
  listInstalledPackages,
} from './install-packed.ts';

const packed = inject('packed');
// What this host lets a backend do varies (a warning names a guarantee it lost); nothing else may.
const errorsIn = (stderr: string): string[] =>
  stderr.split('\n').filter((line) => line !== '' && !line.startsWith('polythene: warning: '));
const versionOf = (name: string): string | undefined =>
  packed.find((pkg) => pkg.name === name)?.version;

describe('the packed tarballs', () => {
  it('are every publishable package, and form a set npm can install', async () => {
    const names = packed.map((pkg) => pkg.name);
    expect(names).toEqual(
      expect.arrayContaining(['@polythene/cli', '@polythene/testkit', '@polythene/native']),
    );
    expect(names).not.toContain('@polythene/bench');
    expect(await checkPackedManifests(packed)).toEqual([]);
  });

  it('keep the native helpers executable (pnpm pack marks only listed files +x)', async () => {
    for (const name of ['@polythene/native', '@polythene/cli']) {
      const tarball = packed.find((pkg) => pkg.name === name)?.tarball ?? '';
      const { stdout } = await execa('tar', ['-tvzf', tarball]);
      const files = stdout.split('\n').filter((line) => / package\/bin\/polythene-/.test(line));
      // The Node-API addon (`.node`) is loaded with dlopen, never exec'd: no +x needed.
      const helpers = files.filter((line) => !line.endsWith('.node'));
      expect(helpers.length, name).toBeGreaterThan(0);
      for (const line of helpers) expect(line, name).toMatch(/^-rwxr-xr-x /);
      expect(
        files.some((line) => line.endsWith('polythene-dumpable-x64.node')),
        name,
      ).toBe(true);
    }
  });
});

describe('the polythene CLI, installed with npm install -g from the tarballs', () => {
  let cli: InstalledProject;
  let store: string;
  let image: string;

  beforeAll(async () => {
    image = (await ensureTestImages()).busybox;
    cli = await installPacked(['@polythene/cli'], packed, { global: true });
    store = await mkdtemp(join(tmpdir(), 'polythene-acceptance-store-'));
  });
  afterAll(async () => {
    await cli?.remove();
    if (store !== undefined) await rm(store, { recursive: true, force: true });
  });

  const polythene = (args: readonly string[]) =>
    execa(cli.bin('polythene'), ['--store', store, ...args], {
      env: cli.env,
      extendEnv: false,
      reject: false,
    });

  it('is the polythene command of this release, without the testkit', async () => {
    const result = await execa(cli.bin('polythene'), ['--version'], {
      env: cli.env,
      extendEnv: false,
    });
    expect(result.stdout).toContain(`polythene/${versionOf('@polythene/cli')}`);
    const installed = await listInstalledPackages(cli.nodeModules);
    expect(installed).toContain('@polythene/backend-bwrap');
    expect(installed).not.toContain('@polythene/testkit');
  });

  it('pulls a local image and runs a command in it through every backend this host has', async () => {
    const pulled = await polythene(['pull', '--quiet', image]);
    expect(pulled.stderr).toBe('');
    expect(pulled.exitCode).toBe(0);
    const id = pulled.stdout.trim();
    expect(await exists(join(store, id))).toBe(true);

    const byDefault = await polythene(['exec', id, '--', 'echo', 'hi']);
    expect([byDefault.exitCode, byDefault.stdout, errorsIn(byDefault.stderr)]).toEqual([
      0,
      'hi',
      [],
    ]);

    const backends = JSON.parse((await polythene(['backends', '--json'])).stdout) as {
      name: string;
      available: boolean;
    }[];
    const available = backends
      .filter((backend) => backend.available)
      .map((backend) => backend.name);
    expect(available.length).toBeGreaterThan(0);
    for (const backend of available) {
      const result = await polythene(['exec', '--isolation', backend, id, '--', 'echo', 'hi']);
      expect([backend, result.exitCode, result.stdout, errorsIn(result.stderr)]).toEqual([
        backend,
        0,
        'hi',
        [],
      ]);
    }
  });
});

describe('@polythene/testkit and the API of @polythene/cli, installed with npm into a fresh project', () => {
  let project: InstalledProject;
  let store: string;
  let image: string;

  beforeAll(async () => {
    image = (await ensureTestImages()).busybox;
    project = await installPacked(['@polythene/testkit', '@polythene/cli'], packed, {
      extra: ['vitest@^4'],
    });
    store = await mkdtemp(join(tmpdir(), 'polythene-acceptance-store-'));
  });
  afterAll(async () => {
    await project?.remove();
    if (store !== undefined) await rm(store, { recursive: true, force: true });
  });

  it('runs a vitest suite with a box per test', async () => {
    await writeFile(
      join(project.dir, 'box.test.ts'),
      [
        "import { createPolytheneTest } from '@polythene/testkit';",
        "import { expect } from 'vitest';",
        '',
        'const test = createPolytheneTest(process.env.ACCEPTANCE_IMAGE as string);',
        '',
        "test('a command writes a file in its box', async ({ box }) => {",
        "  expect(await box.exec('echo hi > /tmp/greeting')).toSucceed();",
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
  });

  it("runs the README's example of the API from an ES module", async () => {
    await writeFile(
      join(project.dir, 'api.mjs'),
      [
        "import { exec, pull, remove } from '@polythene/cli';",
        '',
        'const { id } = await pull({ image: process.env.ACCEPTANCE_IMAGE });',
        "const result = await exec({ id, command: ['echo', 'hi'], stdio: 'pipe' });",
        'console.log(JSON.stringify([id, result.exitCode, new TextDecoder().decode(result.stdout)]));',
        'await remove([id]);',
        '',
      ].join('\n'),
    );
    const result = await execa(process.execPath, ['api.mjs'], {
      cwd: project.dir,
      env: { ...project.env, POLYTHENE_STORE: store, ACCEPTANCE_IMAGE: image },
      extendEnv: false,
      reject: false,
    });
    expect([result.exitCode, errorsIn(result.stderr)]).toEqual([0, []]);
    const [id, exitCode, stdout] = JSON.parse(result.stdout) as [string, number, string];
    expect([exitCode, stdout]).toEqual([0, 'hi\n']);
    expect(await readdir(store)).not.toContain(id);
  });
});
