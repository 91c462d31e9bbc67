import { spawnSync } from 'node:child_process';
import {
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { sweepStaleRunTempDirs } from './run-temp-dir.ts';

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
