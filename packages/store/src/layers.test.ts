import { execFileSync } from 'node:child_process';
import {
  chmod,
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  readlink,
  rm,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { diffLayers } from './diff-layers.ts';
import { materializeLayers } from './materialize-layers.ts';
import { resolveInLayers } from './resolve-in-layers.ts';
import { writeFileInLayers } from './write-file-in-layers.ts';

// Layers are built by hand the way overlayfs leaves them: whiteouts are 0:0 character
// devices (which the kernel lets any user create), opaque dirs carry `user.overlay.opaque`
// (set through perl's syscall, as the store reads them).
const LSETXATTR = process.arch === 'x64' ? 189 : 6;

function makeWhiteout(path: string): void {
  execFileSync('mknod', [path, 'c', '0', '0']);
}

function setXattr(path: string, name: string, value: string): void {
  execFileSync('perl', [
    '-e',
    'my ($p, $n, $v) = @ARGV; syscall($ARGV[3], $p, $n, $v, length($v), 0) == 0 or die "$!"',
    path,
    name,
    value,
    String(LSETXATTR),
  ]);
}

const LGETXATTR = process.arch === 'x64' ? 192 : 9;

function getXattr(path: string, name: string): string {
  return execFileSync(
    'perl',
    [
      '-e',
      'my $b = "\\0" x 256; my $r = syscall($ARGV[2], $ARGV[0], $ARGV[1], $b, 256); $r >= 0 or die "$!"; print substr($b, 0, $r)',
      path,
      name,
      String(LGETXATTR),
    ],
    { encoding: 'utf8' },
  );
}

let base: string;
let lower: string;
let middle: string;
let upper: string;

async function put(path: string, content = 'x'): Promise<void> {
  await mkdir(join(path, '..'), { recursive: true });
  await writeFile(path, content);
}

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'polythene-layers-'));
  lower = join(base, 'lower');
  middle = join(base, 'middle');
  upper = join(base, 'upper');
  await put(join(lower, 'etc/hosts'), 'hosts');
  await put(join(lower, 'etc/passwd'), 'root');
  await put(join(lower, 'var/lib/a'), 'a');
  await put(join(lower, 'var/lib/b'), 'b');
  await put(join(lower, 'opt/tool/bin'), 'bin');
  await put(join(lower, 'srv/file'), 'file');
  await symlink('/etc', join(lower, 'etc-link'));
  await symlink('../../../../etc/hosts', join(lower, 'var/lib/up-link'));
  await mkdir(middle);
  await mkdir(upper);
});

afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

describe('diffLayers', () => {
  it('reports additions, copy-ups, whiteouts, opaque dirs, mode changes and type changes', async () => {
    await put(join(upper, 'etc/new.conf'));
    await put(join(upper, 'etc/hosts'), 'changed');
    makeWhiteout(join(upper, 'etc/passwd'));
    makeWhiteout(join(upper, 'etc/never-existed'));
    await mkdir(join(upper, 'var/lib'), { recursive: true });
    setXattr(join(upper, 'var/lib'), 'user.overlay.opaque', 'y');
    await writeFile(join(upper, 'var/lib/b'), 'new b');
    await mkdir(join(upper, 'opt'));
    await chmod(join(upper, 'opt'), 0o700);
    await writeFile(join(upper, 'srv'), 'now a file');
    await mkdir(join(upper, 'etc-link'));
    await put(join(upper, 'newdir/sub/f'));

    expect(await diffLayers(upper, [lower])).toEqual({
      added: ['/etc/new.conf', '/newdir', '/newdir/sub', '/newdir/sub/f'],
      modified: ['/etc-link', '/etc/hosts', '/opt', '/srv', '/var/lib/b'],
      deleted: ['/etc/passwd', '/var/lib/a', '/var/lib/up-link'],
    });
  });

  it('looks through several lowers: a lower whiteout hides, a lower opaque dir hides further down', async () => {
    makeWhiteout(join(middle, 'srv'));
    await put(join(middle, 'new-in-middle'));
    await mkdir(join(middle, 'var/lib'), { recursive: true });
    setXattr(join(middle, 'var/lib'), 'user.overlay.opaque', 'y');
    // In the upper: recreate srv (deleted in the middle), delete var/lib/a (hidden already).
    await mkdir(join(upper, 'srv'));
    await mkdir(join(upper, 'var/lib'), { recursive: true });
    makeWhiteout(join(upper, 'var/lib/a'));
    makeWhiteout(join(upper, 'new-in-middle'));
    expect(await diffLayers(upper, [middle, lower])).toEqual({
      added: ['/srv'],
      modified: [],
      deleted: ['/new-in-middle'],
    });
  });

  it('reads the xattr whiteout form inside a directory marked opaque=x', async () => {
    await mkdir(join(upper, 'etc'));
    setXattr(join(upper, 'etc'), 'user.overlay.opaque', 'x');
    await writeFile(join(upper, 'etc/hosts'), '');
    setXattr(join(upper, 'etc/hosts'), 'user.overlay.whiteout', 'y');
    await writeFile(join(upper, 'etc/empty'), '');
    expect(await diffLayers(upper, [lower])).toEqual({
      added: ['/etc/empty'],
      modified: [],
      deleted: ['/etc/hosts'],
    });
  });

  it('reports nothing for an empty upper whose root matches the lower root', async () => {
    await chmod(upper, (await lstat(lower)).mode & 0o7777);
    expect(await diffLayers(upper, [lower])).toEqual({ added: [], modified: [], deleted: [] });
  });
});

describe('resolveInLayers', () => {
  it('finds the top-most copy, honours whiteouts and opaque dirs, re-roots symlinks', async () => {
    await put(join(upper, 'etc/hosts'), 'upper hosts');
    makeWhiteout(join(upper, 'etc/passwd'));
    await mkdir(join(upper, 'var/lib'), { recursive: true });
    setXattr(join(upper, 'var/lib'), 'user.overlay.opaque', 'y');
    const layers = [upper, lower];
    expect(await resolveInLayers(layers, '/etc/hosts')).toEqual({
      hostPath: join(upper, 'etc/hosts'),
      layerIndex: 0,
    });
    expect(await resolveInLayers(layers, '/etc-link/../srv/file')).toEqual({
      hostPath: join(lower, 'srv/file'),
      layerIndex: 1,
    });
    // /etc-link -> /etc is re-rooted at the merged root, and so lands on the upper copy.
    expect(await resolveInLayers(layers, 'etc-link/hosts')).toMatchObject({ layerIndex: 0 });
    expect(await resolveInLayers(layers, '/etc/passwd')).toBeUndefined();
    expect(await resolveInLayers(layers, '/var/lib/a')).toBeUndefined();
    expect(await resolveInLayers(layers, '/../../../../etc/hosts')).toMatchObject({
      layerIndex: 0,
    });
    expect(await resolveInLayers(layers, '/etc-link', { followFinalSymlink: false })).toEqual({
      hostPath: join(lower, 'etc-link'),
      layerIndex: 1,
    });
    expect(await resolveInLayers(layers, '/etc/hosts/child')).toBeUndefined();
  });

  it('throws on a symlink loop', async () => {
    await symlink('loop-b', join(lower, 'loop-a'));
    await symlink('loop-a', join(lower, 'loop-b'));
    await expect(resolveInLayers([upper, lower], '/loop-a')).rejects.toMatchObject({
      code: 'POLYTHENE_USAGE',
    });
  });
});

describe('writeFileInLayers', () => {
  it('writes into the top layer, copying parent dirs up with their modes', async () => {
    await chmod(join(lower, 'var/lib'), 0o750);
    const written = await writeFileInLayers([upper, lower], '/var/lib/c', 'c', 0o600);
    expect(written).toBe(join(upper, 'var/lib/c'));
    expect((await lstat(join(upper, 'var/lib'))).mode & 0o7777).toBe(0o750);
    expect((await lstat(written)).mode & 0o7777).toBe(0o600);
    expect(await readdir(join(upper, 'var/lib'))).toEqual(['c']);
    expect(await readFile(join(lower, 'var/lib/a'), 'utf8')).toBe('a');
  });

  it('replaces a lower file keeping its mode, and a whiteout in the way', async () => {
    await chmod(join(lower, 'etc/hosts'), 0o640);
    await writeFileInLayers([upper, lower], '/etc/hosts', 'new');
    expect((await lstat(join(upper, 'etc/hosts'))).mode & 0o7777).toBe(0o640);
    expect(await readFile(join(lower, 'etc/hosts'), 'utf8')).toBe('hosts');
    makeWhiteout(join(upper, 'etc/passwd'));
    await writeFileInLayers([upper, lower], '/etc/passwd', 'back');
    expect(await readFile(join(upper, 'etc/passwd'), 'utf8')).toBe('back');
    expect((await lstat(join(upper, 'etc/passwd'))).mode & 0o7777).toBe(0o644);
  });

  it('follows symlinks inside the merged view only, and refuses missing parents and dirs', async () => {
    // up-link climbs far above the root: clamped, it names /etc/hosts of the merged view.
    const written = await writeFileInLayers([upper, lower], '/var/lib/up-link', 'via link');
    expect(written).toBe(join(upper, 'etc/hosts'));
    expect(await readlink(join(lower, 'var/lib/up-link'))).toBe('../../../../etc/hosts');
    await expect(writeFileInLayers([upper, lower], '/nope/file', 'x')).rejects.toMatchObject({
      code: 'POLYTHENE_USAGE',
      message: expect.stringContaining('parent directory does not exist'),
    });
    await expect(writeFileInLayers([upper, lower], '/etc', 'x')).rejects.toMatchObject({
      code: 'POLYTHENE_USAGE',
    });
  });
});

describe('materializeLayers', () => {
  it('writes the merged view as one plain tree', async () => {
    await put(join(middle, 'etc/hosts'), 'middle hosts');
    makeWhiteout(join(middle, 'srv'));
    await put(join(upper, 'etc/new'), 'new');
    makeWhiteout(join(upper, 'etc/passwd'));
    await mkdir(join(upper, 'var/lib'), { recursive: true });
    setXattr(join(upper, 'var/lib'), 'user.overlay.opaque', 'y');
    await writeFile(join(upper, 'var/lib/only'), 'only');
    await chmod(join(upper, 'var/lib'), 0o711);
    const target = join(base, 'merged');
    await materializeLayers([upper, middle, lower], target);
    expect((await readdir(target)).sort()).toEqual(['etc', 'etc-link', 'opt', 'var']);
    expect((await readdir(join(target, 'etc'))).sort()).toEqual(['hosts', 'new']);
    expect(await readFile(join(target, 'etc/hosts'), 'utf8')).toBe('middle hosts');
    expect(await readdir(join(target, 'var/lib'))).toEqual(['only']);
    expect((await lstat(join(target, 'var/lib'))).mode & 0o7777).toBe(0o711);
    expect(await readlink(join(target, 'etc-link'))).toBe('/etc');
    await expect(materializeLayers([lower], target)).rejects.toMatchObject({
      code: 'POLYTHENE_USAGE',
    });
  });

  it('keeps hard links, nanosecond times and xattrs; type changes never write through a lower symlink', async () => {
    const host = join(base, 'host');
    await mkdir(host);
    // A lower symlink to a host directory, which the upper turns into a directory.
    await symlink(host, join(lower, 'escape'));
    await put(join(upper, 'escape/file'), 'inside');
    // A directory new to the merged view, holding a whiteout (it hides nothing) and a
    // read-only subdirectory.
    await put(join(upper, 'new/sub/kept'), 'kept');
    makeWhiteout(join(upper, 'new/gone'));
    await chmod(join(upper, 'new/sub'), 0o555);
    // A directory replaced by a file, a file by a directory, hard links across directories.
    await put(join(upper, 'srv'), 'srv is a file now');
    await put(join(upper, 'etc/hosts/inner'), 'hosts is a dir now');
    await put(join(upper, 'opt/tool/linked'), 'linked');
    await mkdir(join(upper, 'usr'));
    execFileSync('ln', [join(upper, 'opt/tool/linked'), join(upper, 'usr/linked')]);
    setXattr(join(upper, 'opt/tool/linked'), 'user.mark', 'kept');
    execFileSync('touch', ['-h', '-d', '2001-02-03 04:05:06.123456789', join(upper, 'usr/linked')]);
    const target = join(base, 'merged');
    await materializeLayers([upper, lower], target);

    expect(await readdir(host)).toEqual([]);
    expect((await lstat(join(target, 'escape'))).isDirectory()).toBe(true);
    expect(await readFile(join(target, 'escape/file'), 'utf8')).toBe('inside');
    expect((await readdir(join(target, 'new'))).sort()).toEqual(['sub']);
    expect((await lstat(join(target, 'new/sub'))).mode & 0o7777).toBe(0o555);
    expect(await readFile(join(target, 'srv'), 'utf8')).toBe('srv is a file now');
    expect(await readFile(join(target, 'etc/hosts/inner'), 'utf8')).toBe('hosts is a dir now');
    const [a, b] = await Promise.all([
      lstat(join(target, 'opt/tool/linked'), { bigint: true }),
      lstat(join(target, 'usr/linked'), { bigint: true }),
    ]);
    expect(a.ino).toBe(b.ino);
    expect(a.nlink).toBe(2n);
    expect(a.mtimeNs % 1_000_000_000n).toBe(123456789n);
    expect(getXattr(join(target, 'usr/linked'), 'user.mark')).toBe('kept');
    expect(await readFile(join(target, 'opt/tool/bin'), 'utf8')).toBe('bin');
    // Nothing of the staging directory stays.
    expect((await readdir(target)).filter((name) => name.startsWith('.'))).toEqual([]);
  });
});
