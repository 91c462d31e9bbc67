import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canRunOverlayHere } from '@polythene/cli';
import { hasErrorCode } from '@polythene/errors';
import { ensureTestImages } from '@polythene/test-images';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type BoxMethod,
  installPolytheneMatchers,
  listLiveScratchDirs,
  openImage,
  type PolytheneImage,
} from '../src/index.ts';

installPolytheneMatchers();

let work: string;
let store: string;
let busybox: string;
let canOverlay: boolean;

beforeAll(async () => {
  busybox = (await ensureTestImages()).busybox;
  work = await mkdtemp(join(tmpdir(), 'polythene-testkit-box-'));
  store = join(work, 'store');
  canOverlay = await canRunOverlayHere();
});
afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

async function listScratch(): Promise<string[]> {
  return (await readdir(store)).filter((name) => name.startsWith('.scratch-'));
}

describe.each(['copy', 'overlay'] as const)('a %s box', (method: BoxMethod) => {
  let image: PolytheneImage;
  beforeAll(async () => {
    image = await openImage(busybox, { store, boxMethod: method });
  });

  it('reads, writes and diffs files inside the rootfs, never on the host', async () => {
    await using box = await image.box();
    expect(box.method).toBe(method);
    expect(await box.exists('/bin/busybox')).toBe(true);
    expect(await box.exists('/no/such/file')).toBe(false);
    await box.writeFile('/etc/motd', 'hello box\n', { mode: 0o600 });
    expect(await box.readFile('/etc/motd')).toBe('hello box\n');
    await expect(box).toHaveFile('/etc/motd', /hello/);
    await box.writeFile('/tmp/new-file', 'x');
    expect((await box.diff()).added).toEqual(
      expect.arrayContaining(['/etc/motd', '/tmp/new-file']),
    );
    // The entry itself is untouched.
    const entryRoot = join(store, image.id);
    await expect(stat(join(entryRoot, 'etc/motd'))).rejects.toThrow();
    await expect(box.readFile('/etc/nothing')).rejects.toThrow(/no such file in the box/);
  });

  it('resolves absolute symlinks inside the box, not on the host', async () => {
    await using box = await image.box();
    // A symlink pointing at an absolute path: the host's /etc/hostname must not be read.
    await box.writeFile('/etc/hostname', 'box-hostname\n');
    if (method === 'copy') {
      const { symlink } = await import('node:fs/promises');
      const rootfs = join(box.scratchDir, 'rootfs');
      await symlink('/etc/hostname', join(rootfs, 'escape'));
      await symlink('../../../../../../etc/hostname', join(rootfs, 'escape-relative'));
      expect(await box.readFile('/escape')).toBe('box-hostname\n');
      expect(await box.readFile('/escape-relative')).toBe('box-hostname\n');
    }
    expect(await box.readFile('/etc/hostname')).not.toBe(await readFile('/etc/hostname', 'utf8'));
  });

  it('removes its scratch directory on dispose, and refuses use afterwards', async () => {
    const box = await image.box();
    expect(await listScratch()).toContain(box.scratchDir.split('/').at(-1));
    expect(listLiveScratchDirs()).toContain(box.scratchDir);
    await box.dispose();
    await box.dispose();
    expect(await listScratch()).toEqual([]);
    expect(listLiveScratchDirs()).not.toContain(box.scratchDir);
    await expect(box.exists('/bin')).rejects.toThrow(/after dispose/);
  });

  it('runs commands: argv, shell strings, env, cwd, user, input, failures and timeouts', async (context) => {
    if (method === 'overlay' && !canOverlay) {
      context.skip(
        'no backend here can mount an overlay root yet (bwrap 0.8 in a user namespace, or chroot as root)',
      );
    }
    await using box = await image.box();
    const echoed = await box.exec(['echo', 'hi']);
    expect(echoed).toSucceed();
    expect(echoed.stdout).toBe('hi\n');
    expect(echoed.backend).toMatch(/^(bwrap|proot|chroot)$/);
    const shell = await box.exec('echo "$GREETING" $(pwd) $(id -u); cat', {
      env: { GREETING: 'hey' },
      cwd: '/tmp',
      user: '1000:1000',
      input: 'piped',
    });
    expect(shell).toSucceed();
    expect(shell.stdout).toBe('hey /tmp 1000\npiped');
    const failed = await box.exec('echo oops >&2; exit 3');
    expect(failed).toFailWith(3, 'oops');
    expect(() => expect(failed).toSucceed()).toThrow(/exited 3 \(backend \w+\)\nstderr:\noops/);
    const slow = await box.exec(['sleep', '30'], { timeoutMs: 300 });
    expect(slow.timedOut).toBe(true);
    expect(slow.exitCode).toBe(124);
    // Changes made by commands show in the diff and in readFile.
    expect(
      await box.exec('sed -i s/root/ROOT/ /etc/passwd && mkdir -p /opt/tool && rm /bin/vi'),
    ).toSucceed();
    expect(await box.readFile('/etc/passwd')).toMatch(/^ROOT:/);
    const diff = await box.diff();
    expect(diff.modified).toContain('/etc/passwd');
    expect(diff.added).toContain('/opt/tool');
    expect(diff.deleted).toContain('/bin/vi');
    await expect(box.exec(['no-such-command'])).rejects.toSatisfy((error: unknown) =>
      hasErrorCode(error, 'POLYTHENE_COMMAND_NOT_FOUND'),
    );
  });
});

describe('image()', () => {
  it('honours POLYTHENE_STORE and POLYTHENE_ISOLATION, and says which backend ran', async () => {
    const otherStore = join(work, 'env-store');
    const image = await openImage(busybox, {
      hostEnv: { ...process.env, POLYTHENE_STORE: otherStore, POLYTHENE_ISOLATION: 'proot' },
    });
    expect(image.store).toBe(otherStore);
    expect(image.boxMethod).toBe('copy');
    await using box = await image.box();
    const result = await box.exec(['true']);
    expect(result.backend).toBe('proot');
  });

  it('reuses the cached entry in later calls and across a new run with pullPolicy missing', async () => {
    const first = await openImage(busybox, { store });
    const again = await openImage(busybox, { store, pullPolicy: 'never' });
    expect(again.id).toBe(first.id);
    const index = JSON.parse(await readFile(join(store, '.testkit-images.json'), 'utf8'));
    expect(index.images[busybox].id).toBe(first.id);
  });

  it('reports a bad reference as a PolytheneError and does not remember the failure', async () => {
    await expect(openImage('-bad', { store })).rejects.toSatisfy((error: unknown) =>
      hasErrorCode(error, 'POLYTHENE_INVALID_IMAGE_REF'),
    );
  });
});
