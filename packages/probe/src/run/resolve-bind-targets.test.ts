import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveBindTargets } from './resolve-bind-targets.ts';

let rootfs: string;
beforeEach(() => {
  rootfs = mkdtempSync(join(tmpdir(), 'polythene-bind-targets-'));
  mkdirSync(join(rootfs, 'proc'));
  mkdirSync(join(rootfs, 'etc'));
});
afterEach(() => rmSync(rootfs, { recursive: true, force: true }));

const bind = (target: string) => ({ source: '/tmp', target, readOnly: false });
const resolve = (...targets: string[]) =>
  resolveBindTargets({ rootfs, binds: targets.map(bind) }, 'test').map((b) => b.target);

describe('resolveBindTargets', () => {
  it('keeps plain targets and resolves image symlinks inside the rootfs', () => {
    symlinkSync('/oldroot/etc', join(rootfs, 'root'));
    symlinkSync('../../../../../../../host', join(rootfs, 'opt'));
    expect(resolve('/workspace', '/root', '/opt/sub', '/etc/../srv')).toEqual([
      '/workspace',
      '/oldroot/etc',
      '/host/sub',
      '/srv',
    ]);
  });

  it('refuses a target an image symlink leads into /proc, /dev, the root or an earlier bind', () => {
    symlinkSync('/proc/self/root/etc', join(rootfs, 'root'));
    expect(() => resolve('/root')).toThrow(/\/root.*\/proc/);
    symlinkSync('/dev/shm', join(rootfs, 'devlink'));
    expect(() => resolve('/devlink')).toThrow(/\/dev/);
    symlinkSync('/', join(rootfs, 'top'));
    expect(() => resolve('/top')).toThrow(/the root itself/);
    symlinkSync('/workspace/escape', join(rootfs, 'data'));
    expect(() => resolve('/workspace', '/data')).toThrow(/earlier bind/);
    expect(() => resolve('/proc/sys')).toThrow(
      expect.objectContaining({ code: 'POLYTHENE_SETUP_FAILED' }),
    );
    // The caller may still bind a device path it names itself.
    expect(resolve('/dev/kvm')).toEqual(['/dev/kvm']);
  });

  it('refuses a target through a symlink in any layer of an overlay root', () => {
    const upper = join(rootfs, 'etc');
    symlinkSync('/oldroot/etc', join(rootfs, 'root'));
    expect(() =>
      resolveBindTargets(
        {
          rootfs,
          overlay: { lowerDirs: [rootfs], upperDir: upper, workDir: upper },
          binds: [bind('/root/sub')],
        },
        'test',
      ),
    ).toThrow(/passes through a symlink \(\/root\) in the overlay root/);
  });
});
