import { spawnSync } from 'node:child_process';
import {
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createRunTempDir, sweepStaleRunTempDirs } from './run-temp-dir.ts';

const made: string[] = [];
afterEach(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function deadPid(): number {
  const child = spawnSync('/bin/sh', ['-c', 'echo $$'], { encoding: 'utf8' });
  return Number(child.stdout.trim());
}

describe('sweepStaleRunTempDirs', () => {
  it("removes only real directories of this user's dead polythene runs, never following a link", () => {
    const dir = mkdtempSync(join(tmpdir(), 'polythene-sweep-test-'));
    const outside = mkdtempSync(join(tmpdir(), 'polythene-sweep-outside-'));
    made.push(dir, outside);
    writeFileSync(join(outside, 'keep'), 'x');
    const dead = deadPid();
    const stale = join(dir, `polythene-network-${dead}-abc123`);
    mkdirSync(stale);
    writeFileSync(join(stale, 'resolv.conf'), 'nameserver 10.0.2.3\n');
    mkdirSync(join(dir, `polythene-network-${process.pid}-live01`));
    symlinkSync(outside, join(dir, `polythene-network-${dead}-link01`));
    writeFileSync(join(dir, `polythene-network-${dead}-file01`), '');
    mkdirSync(join(dir, `polythene-other-${dead}-abc123`));
    if (process.geteuid?.() === 0) {
      mkdirSync(join(dir, `polythene-network-${dead}-other1`));
      chownSync(join(dir, `polythene-network-${dead}-other1`), 65534, 65534);
    }
    expect(sweepStaleRunTempDirs('polythene-network-', dir)).toBe(1);
    expect(existsSync(stale)).toBe(false);
    expect(readdirSync(outside)).toEqual(['keep']);
    expect(readdirSync(dir).sort()).toEqual(
      [
        `polythene-network-${dead}-file01`,
        `polythene-network-${dead}-link01`,
        ...(process.geteuid?.() === 0 ? [`polythene-network-${dead}-other1`] : []),
        `polythene-network-${process.pid}-live01`,
        `polythene-other-${dead}-abc123`,
      ].sort(),
    );
  });

  it('finds nothing in a directory that does not exist', () => {
    expect(sweepStaleRunTempDirs('polythene-network-', '/nonexistent/polythene')).toBe(0);
  });
});

describe('createRunTempDir', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it("makes the run's directory in this user's polythene-runs-UID, sweeping only there", () => {
    const tmp = mkdtempSync(join(tmpdir(), 'polythene-runs-test-'));
    made.push(tmp);
    vi.stubEnv('TMPDIR', tmp);
    const runs = join(tmp, `polythene-runs-${process.geteuid?.()}`);
    mkdirSync(runs, { mode: 0o700 });
    const stale = join(runs, `polythene-network-${deadPid()}-abc123`);
    mkdirSync(stale);
    // Beside it, in TMPDIR itself, nothing is looked at any more.
    const elsewhere = join(tmp, `polythene-network-${deadPid()}-abc123`);
    mkdirSync(elsewhere);
    const dir = createRunTempDir('polythene-network-');
    expect(dir).toMatch(new RegExp(`^${runs}/polythene-network-${process.pid}-\\w{6}$`));
    expect(existsSync(stale)).toBe(false);
    expect(existsSync(elsewhere)).toBe(true);
    expect(statSync(runs).mode & 0o777).toBe(0o700);
  });

  it('makes it in TMPDIR itself when polythene-runs-UID is not a private directory', () => {
    const tmp = mkdtempSync(join(tmpdir(), 'polythene-runs-test-'));
    const outside = mkdtempSync(join(tmpdir(), 'polythene-runs-outside-'));
    made.push(tmp, outside);
    vi.stubEnv('TMPDIR', tmp);
    symlinkSync(outside, join(tmp, `polythene-runs-${process.geteuid?.()}`));
    const dir = createRunTempDir('polythene-network-');
    expect(dir).toMatch(new RegExp(`^${tmp}/polythene-network-${process.pid}-\\w{6}$`));
    expect(readdirSync(outside)).toEqual([]);
  });
});
