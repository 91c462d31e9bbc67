import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportImage } from '../src/index.ts';

// An image whose files carry extended attributes: a file capability (as Debian's ping has),
// a user attribute, and overlayfs's own attributes that an image must not hand to a layer.
const hasTools = ['podman', 'setcap', 'getcap', 'setfattr', 'getfattr'].every(
  (tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0,
);
const isRoot = process.getuid?.() === 0;
const ref = `localhost/polythene-test/xattrs-${process.pid}:1`;
const work = mkdtempSync('/var/tmp/pe-xattrs-test-');

function attributes(path: string): string {
  return execFileSync('getfattr', ['--absolute-names', '-d', '-m', '-', path], {
    encoding: 'utf8',
  });
}

describe.skipIf(!hasTools || !isRoot)('a pull keeps extended attributes', () => {
  beforeAll(() => {
    const tree = join(work, 'tree');
    mkdirSync(tree);
    copyFileSync('/bin/true', join(tree, 'ping'));
    execFileSync('setcap', ['cap_net_raw+ep', join(tree, 'ping')]);
    writeFileSync(join(tree, 'marked'), 'x\n');
    execFileSync('setfattr', ['-n', 'user.polythene-test', '-v', 'kept', join(tree, 'marked')]);
    mkdirSync(join(tree, 'opaque'));
    execFileSync('setfattr', ['-n', 'user.overlay.opaque', '-v', 'y', join(tree, 'opaque')]);
    execFileSync('setfattr', ['-n', 'trusted.overlay.opaque', '-v', 'y', join(tree, 'opaque')]);
    const archive = join(work, 'tree.tar');
    execFileSync('tar', [
      '--create',
      `--file=${archive}`,
      '--format=posix',
      '--xattrs',
      '--xattrs-include=*',
      `--directory=${tree}`,
      '.',
    ]);
    execFileSync('podman', ['import', '--quiet', archive, ref]);
  });

  afterAll(() => {
    spawnSync('podman', ['rmi', '--force', ref]);
    rmSync(work, { recursive: true, force: true });
  });

  it('keeps file capabilities and user.* attributes, and drops overlayfs attributes', async () => {
    const target = join(work, 'rootfs');
    mkdirSync(target);
    await exportImage({ ref, targetDir: target, pullPolicy: 'never' });
    expect(execFileSync('getcap', [join(target, 'ping')], { encoding: 'utf8' })).toMatch(
      /cap_net_raw=ep/,
    );
    expect(attributes(join(target, 'marked'))).toMatch(/user\.polythene-test="kept"/);
    expect(attributes(join(target, 'opaque'))).not.toMatch(/overlay/);
  });
});
