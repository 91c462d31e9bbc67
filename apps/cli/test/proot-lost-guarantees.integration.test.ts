import { ensureTestImages } from '@polythene/test-images';
import { describe, expect, it } from 'vitest';
import { freshStorePath, runPolythene } from './run-polythene.ts';

interface BackendRow {
  name: string;
  available: boolean;
  guarantees: string[];
  lost: { guarantee: string; reason: string }[];
}

// What proot says it loses must be what its probe found, in every place it is said: the
// `backends` table and the warning line of an exec, and each guarantee is either kept or
// lost, never both or neither.
describe("proot's lost guarantees", () => {
  it('match the probe in `backends --json` and in the exec warning', async () => {
    const listed = await runPolythene(['backends', '--json']);
    expect(listed.exitCode).toBe(0);
    const rows = JSON.parse(listed.stdout) as BackendRow[];
    const proot = rows.find((row) => row.name === 'proot');
    const bwrap = rows.find((row) => row.name === 'bwrap');
    if (!proot?.available) throw new Error('proot is not available on this host');
    const lostNames = proot.lost.map((entry) => entry.guarantee);
    expect(lostNames.length).toBeGreaterThan(0);
    for (const entry of proot.lost) expect(entry.reason).not.toBe('');
    expect(lostNames.filter((name) => proot.guarantees.includes(name))).toEqual([]);
    // Together they are every guarantee the full sandbox gives.
    expect([...proot.guarantees, ...lostNames].sort()).toEqual(
      [...(bwrap?.guarantees ?? [])].sort(),
    );

    const store = await freshStorePath();
    const images = await ensureTestImages();
    const id = (await runPolythene(['pull', images.busybox, '-s', store, '-q'])).stdout.trim();
    const ran = await runPolythene([
      'exec',
      id,
      '-s',
      store,
      '-i',
      'proot',
      '--json',
      '--',
      'true',
    ]);
    expect(ran.exitCode).toBe(0);
    expect(JSON.parse(ran.stdout).guarantees.sort()).toEqual([...proot.guarantees].sort());
    const warning = ran.stderr.split('\n').find((line) => line.includes('runs without'));
    const warned = /runs without (.*) isolation/.exec(warning ?? '')?.[1]?.split(', ') ?? [];
    expect([...warned].sort()).toEqual([...lostNames].sort());
  });
});
