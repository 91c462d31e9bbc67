import {
  type AptRepository,
  ensureDebCache,
  ensureDebianImage,
  ensureDebianImageAs,
  ensureTestUser,
  startAptRepository,
  testUserEnv,
} from '@polythene/test-images';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshStorePath, removeWhenDone, runPolythene, runPolytheneAs } from './run-polythene.ts';

// The README's own example: apt-get in a box, from a package repository on the host's
// loopback (built at set-up from `apt-get download`ed debs; see @polythene/test-images).
const isRoot = process.getuid?.() === 0;
const hasTools =
  (await execa('debootstrap', ['--version'], { reject: false })).exitCode === 0 &&
  (await execa('apt-ftparchive', ['--help'], { reject: false })).exitCode === 0;

const install = 'apt-get update && apt-get install -y hello && hello';
// apt's download methods as root (no drop to _apt): the networking is the same either way.
const installAsRoot =
  'apt-get -o APT::Sandbox::User=root update && apt-get -o APT::Sandbox::User=root install -y hello && hello';

let repository: AptRepository | undefined;
let sourcesLine = '';

beforeAll(async () => {
  if (!isRoot || !hasTools) return;
  await ensureDebianImage();
  const debs = await ensureDebCache(['hello']);
  repository = await startAptRepository(debs.dir);
  sourcesLine = repository.sourcesLine;
}, 1_200_000);

afterAll(async () => {
  await repository?.stop();
});

/** Pulls the Debian image into `store` and points its apt at the loopback repository only. */
async function pullWithSources(
  run: typeof runPolythene,
  ref: string,
  store: string,
): Promise<string> {
  const pulled = await run(['pull', ref, '--store', store, '--quiet']);
  expect(pulled.exitCode, pulled.stderr).toBe(0);
  const id = pulled.stdout.trim();
  const written = await run([
    'exec',
    id,
    '--store',
    store,
    '--env',
    `LINE=${sourcesLine}`,
    '--',
    'sh',
    '-c',
    'printf "%s\\n" "$LINE" > /etc/apt/sources.list && rm -f /etc/apt/sources.list.d/*',
  ]);
  expect(written.exitCode, written.stderr).toBe(0);
  return id;
}

describe.skipIf(!isRoot || !hasTools)('apt-get from a loopback repository, as root', () => {
  let store: string;
  let id: string;

  beforeAll(async () => {
    store = await freshStorePath();
    id = await pullWithSources(runPolythene, (await ensureDebianImage()).ref, store);
  }, 600_000);

  const execIn = (args: string[], command: string) =>
    runPolythene(['exec', id, '--store', store, ...args, '--', 'sh', '-c', command]);

  it('--network none: fails fast with apt error and exit code unchanged', async () => {
    const startedAt = Date.now();
    const run = await execIn(['--ephemeral'], installAsRoot);
    expect(run.exitCode).toBe(100);
    expect(run.stderr).toMatch(/Could not connect to 127\.0\.0\.1/);
    expect(run.stderr).toMatch(/Unable to locate package hello/);
    expect(Date.now() - startedAt).toBeLessThan(30_000);
  });

  it('--network private: the loopback repository on the host is not reachable', async () => {
    const run = await execIn(['--ephemeral', '--network', 'private'], installAsRoot);
    expect(run.exitCode).toBe(100);
    expect(run.stderr).toMatch(/Could not connect to 127\.0\.0\.1/);
  });

  it.each(['chroot', 'proot'])(
    '--network host on %s: installs hello, apt dropping to _apt',
    async (backend) => {
      const run = await execIn(
        ['--ephemeral', '--network', 'host', '--isolation', backend],
        install,
      );
      expect(run.exitCode, run.stderr).toBe(0);
      expect(run.stdout).toMatch(/Hello, world!\n$/);
      // apt's download methods ran as _apt: no "Download is performed unsandboxed as root".
      expect(run.stderr).not.toMatch(/unsandboxed/);
    },
  );

  it('--network host on bwrap: installs hello, which then runs', async () => {
    const run = await execIn(['--network', 'host', '--isolation', 'bwrap'], installAsRoot);
    expect(run.exitCode, run.stderr).toBe(0);
    const hello = await runPolythene(['exec', id, '--store', store, '--', 'hello']);
    expect(hello.stdout).toBe('Hello, world!\n');
  });

  // Root in the box holds setuid/setgid in its own user namespace: apt's download methods
  // drop to _apt (no "unsandboxed as root" warning).
  it('--network host on bwrap: apt drops to _apt (root in the box keeps setuid and setgid)', async () => {
    const run = await execIn(['--ephemeral', '--network', 'host', '--isolation', 'bwrap'], install);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/Hello, world!\n?$/);
    expect(run.stderr).not.toMatch(/unsandboxed as root/);
  });
});

describe.skipIf(!isRoot || !hasTools)('apt-get from a loopback repository, unprivileged', () => {
  let store: string;
  let id: string;

  beforeAll(async () => {
    const user = await ensureTestUser();
    const ref = await ensureDebianImageAs(user.name, testUserEnv(user));
    store = removeWhenDone(`/tmp/polythene-apt-user-${process.pid}-${Date.now()}`);
    id = await pullWithSources(runPolytheneAs as typeof runPolythene, ref, store);
  }, 600_000);

  const execAs = (args: string[], command: string) =>
    runPolytheneAs(['exec', id, '--store', store, ...args, '--', 'sh', '-c', command]);

  it('--network host on proot: installs hello, apt dropping to _apt', async () => {
    const run = await execAs(['--ephemeral', '--network', 'host', '--isolation', 'proot'], install);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/Hello, world!$/);
    expect(run.stderr).not.toMatch(/unsandboxed/);
  });

  it('--network host on bwrap: installs hello (apt sandbox user root)', async () => {
    const run = await execAs(['--ephemeral', '--network', 'host'], installAsRoot);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/Hello, world!$/);
  });

  it('--network none: fails with apt error and exit code', async () => {
    const run = await execAs(['--ephemeral'], installAsRoot);
    expect(run.exitCode).toBe(100);
    expect(run.stderr).toMatch(/Unable to locate package hello/);
  });

  it('--network host on bwrap: apt drops to _apt (root in the box keeps setuid and setgid)', async () => {
    const run = await execAs(['--ephemeral', '--network', 'host'], install);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/Hello, world!\n?$/);
    expect(run.stderr).not.toMatch(/unsandboxed as root/);
  });
});
