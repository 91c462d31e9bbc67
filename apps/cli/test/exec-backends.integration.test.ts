import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ensureTestImages,
  ensureTestImagesAs,
  ensureTestUser,
  runAsTestUser,
} from '@polythene/test-images';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  freshStorePath,
  POLYTHENE_BIN,
  removeWhenDone,
  runPolythene,
  runPolytheneAs,
} from './run-polythene.ts';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
// The complete example backend of docs/backends.md.
const exampleBackend = join(
  repoRoot,
  'packages/backend-conformance/test/fixtures/third-party-backend.mjs',
);

let store: string;
let id: string;

beforeAll(async () => {
  const images = await ensureTestImages();
  store = await freshStorePath();
  const run = await runPolythene(['pull', images.busybox, '--store', store, '--quiet']);
  expect(run.exitCode, run.stderr).toBe(0);
  id = run.stdout.trim();
});

describe.each(['bwrap', 'proot', 'chroot'])(
  'a command a signal ends, --isolation %s',
  (backend) => {
    it.each([
      ['KILL', 137],
      ['SEGV', 139],
    ])('SIG%s: exit %i, and stderr holds only what the command wrote', async (signal, code) => {
      const run = await runPolythene([
        'exec',
        id,
        '--store',
        store,
        '--isolation',
        backend,
        '--',
        'sh',
        '-c',
        `echo mine >&2; kill -${signal} $$`,
      ]);
      expect(run.exitCode, run.stderr).toBe(code);
      // No "Killed" or "Segmentation fault" from a shell of polythene's (proot warns first).
      const lines = run.stderr
        .split('\n')
        .filter((line) => !line.startsWith('polythene: warning:'));
      expect(lines).toEqual(['mine', '']);
    });
  },
);

describe('custom backends through the CLI', () => {
  it('runs a command with a backend module named by --backend-module', async () => {
    // Twice: the second run compiles the CLI from the code cache the first one left, where
    // the module must still be imported (Node 20 loses `import()` in cached code).
    for (const attempt of ['first', 'from the code cache']) {
      const run = await runPolythene([
        'exec',
        id,
        '--store',
        store,
        '--backend-module',
        exampleBackend,
        '--isolation',
        'example-bwrap',
        '--json',
        '--',
        'echo',
        'from the example',
      ]);
      expect(run.exitCode, `${attempt}: ${run.stderr}`).toBe(0);
      expect(JSON.parse(run.stdout)).toMatchObject({
        backend: 'example-bwrap',
        stdout: 'from the example\n',
      });
    }
  });

  it('registers modules from POLYTHENE_BACKENDS, and lists them in `polythene backends`', async () => {
    const run = await runPolythene(['backends', '--json'], {
      env: { POLYTHENE_BACKENDS: exampleBackend },
    });
    expect(run.exitCode, run.stderr).toBe(0);
    const names = (JSON.parse(run.stdout) as { name: string }[]).map((backend) => backend.name);
    expect(names).toEqual(['bwrap', 'proot', 'chroot', 'example-bwrap']);
  });

  it('names a broken module in one line and exits 125', async () => {
    const dir = removeWhenDone(await mkdtemp(join(tmpdir(), 'polythene-broken-backend-')));
    const broken = join(dir, 'broken.mjs');
    await writeFile(broken, 'export default 42;\n');
    const run = await runPolythene([
      'exec',
      id,
      '--store',
      store,
      '--backend-module',
      broken,
      '--',
      'true',
    ]);
    expect(run.exitCode).toBe(125);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toContain(broken);
    const missing = await runPolythene([
      'exec',
      id,
      '--store',
      store,
      '--backend-module',
      '@polythene/backend-does-not-exist',
      '--',
      'true',
    ]);
    expect(missing.exitCode).toBe(125);
    expect(missing.stderr).toContain('@polythene/backend-does-not-exist');
  });
});

describe('no backend available', () => {
  it('exits 126 naming the missing tools and their Debian packages', async () => {
    const user = await ensureTestUser();
    const images = await ensureTestImagesAs(user);
    const userStore = removeWhenDone(`/tmp/polythene-nobackend-${process.pid}-${Date.now()}`);
    removeWhenDone(`${userStore}-cache`);
    const pulled = await runPolytheneAs(['pull', images.busybox, '--store', userStore, '--quiet']);
    expect(pulled.exitCode, pulled.stderr).toBe(0);
    // Neither bwrap nor proot on polythene's PATH, and chroot needs root.
    const run = await runAsTestUser(
      [
        '/usr/bin/env',
        'PATH=/nonexistent',
        process.execPath,
        POLYTHENE_BIN,
        'exec',
        pulled.stdout.trim(),
        '--store',
        userStore,
        '--',
        'true',
      ],
      { env: { XDG_CACHE_HOME: `${userStore}-cache` }, reject: false },
    );
    expect(run.exitCode).toBe(126);
    expect(run.stderr).toMatch(/^polythene: no backend can run here: /);
    expect(run.stderr).toContain('bubblewrap');
    expect(run.stderr).toContain('proot');
    expect(run.stderr).toMatch(/chroot.*root/);
  });
});

describe('host secrets', () => {
  it('reach neither the environment nor any /proc/*/environ or cmdline the command can read', async () => {
    const secrets = {
      GITHUB_TOKEN: 'ghp_polythene_secret_1',
      AWS_SECRET_ACCESS_KEY: 'aws_polythene_secret_2',
      SSH_AUTH_SOCK: '/tmp/ssh-polythene-secret-3',
      LD_PRELOAD: '/polythene-secret-4.so',
    };
    for (const backend of ['bwrap', 'proot', 'chroot']) {
      const run = await runPolythene(
        [
          'exec',
          id,
          '--store',
          store,
          '--isolation',
          backend,
          '--',
          'sh',
          '-c',
          'env; cat /proc/[0-9]*/environ /proc/[0-9]*/cmdline 2>/dev/null | tr "\\0" "\\n"',
        ],
        { env: secrets },
      );
      expect(run.exitCode, `${backend}: ${run.stderr}`).toBe(0);
      expect(run.stdout.length, backend).toBeGreaterThan(0);
      for (const value of Object.values(secrets)) expect(run.stdout, backend).not.toContain(value);
    }
  });
});
