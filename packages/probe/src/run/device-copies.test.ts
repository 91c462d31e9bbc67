import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  DEVICE_COPIES_DIR,
  ensureDeviceCopies,
  ensurePrivateDirectory,
  listDeviceCopyNames,
  listHostDevices,
} from './device-copies.ts';

const isRoot = process.geteuid?.() === 0;

let work: string;
beforeEach(() => {
  work = mkdtempSync(join(tmpdir(), 'polythene-device-copies-test-'));
});
afterEach(() => {
  rmSync(work, { recursive: true, force: true });
});

describe('ensurePrivateDirectory', () => {
  it('makes a missing directory 0700 and takes it', () => {
    const path = join(work, 'a', 'b');
    expect(ensurePrivateDirectory(path)).toBe(true);
    expect(lstatSync(path).mode & 0o777).toBe(0o700);
  });

  it('refuses a directory others can write', () => {
    const path = join(work, 'planted');
    mkdirSync(path);
    chmodSync(path, 0o777);
    expect(ensurePrivateDirectory(path)).toBe(false);
  });
});

describe.skipIf(!isRoot)('ensureDeviceCopies (as root)', () => {
  it("copies the host's devices: same type, numbers and mode", () => {
    const copies = ensureDeviceCopies(work) as string;
    expect(copies).toBe(join(work, DEVICE_COPIES_DIR));
    expect(readdirSync(copies).sort()).toEqual(listDeviceCopyNames().sort());
    for (const device of listHostDevices()) {
      const host = statSync(device);
      const copy = lstatSync(join(copies, device.slice('/dev/'.length)));
      expect(copy.isCharacterDevice()).toBe(true);
      expect([copy.mode, copy.rdev, copy.uid]).toEqual([host.mode, host.rdev, 0]);
    }
  });

  it('makes a copy again when a command changed it, and keeps good ones as they are', () => {
    const copies = ensureDeviceCopies(work) as string;
    const inode = lstatSync(join(copies, 'null')).ino;
    expect(ensureDeviceCopies(work)).toBe(copies);
    expect(lstatSync(join(copies, 'null')).ino).toBe(inode);
    chmodSync(join(copies, 'zero'), 0o600);
    ensureDeviceCopies(work);
    expect(lstatSync(join(copies, 'zero')).mode & 0o777).toBe(statSync('/dev/zero').mode & 0o777);
    // Nothing of the copying is left beside them.
    expect(readdirSync(work)).toEqual([DEVICE_COPIES_DIR]);
  });

  it('removes what a copying process killed mid-way left, when it copies', () => {
    const gone = spawnSync('true').pid as number;
    mkdirSync(join(work, `${gone}-devices-abc123`));
    mkdirSync(join(work, `${process.pid}-devices-running`));
    ensureDeviceCopies(work);
    expect(readdirSync(work).sort()).toEqual([`${process.pid}-devices-running`, DEVICE_COPIES_DIR]);
  });

  it('gives none where device nodes cannot be opened (a nodev mount)', () => {
    const nodev = join(work, 'nodev');
    mkdirSync(nodev);
    const mount = spawnSync('mount', [
      '-t',
      'tmpfs',
      '-o',
      'nodev,size=1m',
      'polythene-test',
      nodev,
    ]);
    expect(mount.status).toBe(0);
    try {
      expect(ensureDeviceCopies(nodev)).toBeUndefined();
      // Known from then on: not tried again.
      rmSync(join(nodev, DEVICE_COPIES_DIR), { recursive: true });
      expect(ensureDeviceCopies(nodev)).toBeUndefined();
      expect(readdirSync(nodev)).toEqual([]);
    } finally {
      spawnSync('umount', [nodev]);
    }
  });
});
