import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hasErrorCode } from '@polythene/errors';
import { afterEach, describe, expect, it } from 'vitest';
import { availableProbe, createFakeBackend } from '../test/fake-backend.ts';
import { createRegistry } from './backend-registry.ts';
import { createProbeCache } from './probe-cache.ts';
import { selectBackend } from './select-backend.ts';

const context = { isRoot: false, hostEnv: { PATH: '/usr/bin:/bin' } };
const bwrapMissing = {
  available: false as const,
  reason: 'bwrap not found on PATH (install the bubblewrap package)',
  missing: { tool: 'bwrap', debianPackage: 'bubblewrap' },
};
const prootMissing = {
  available: false as const,
  reason: 'proot not found on PATH',
  missing: { tool: 'proot', debianPackage: 'proot' },
};
const chrootNotRoot = { available: false as const, reason: 'chroot needs root' };

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('selectBackend', () => {
  it('returns the first available backend and why the earlier ones were skipped', async () => {
    const bwrap = createFakeBackend('bwrap', bwrapMissing);
    const proot = createFakeBackend('proot', availableProbe(['pid']));
    const chroot = createFakeBackend('chroot', availableProbe());
    const lines: string[] = [];
    const selection = await selectBackend({
      registry: createRegistry([bwrap, proot, chroot]),
      context,
      log: (line) => lines.push(line),
    });
    expect(selection.backend).toBe(proot);
    expect(selection.probe.guarantees).toEqual(['pid']);
    expect(selection.isCached).toBe(false);
    expect(selection.skipped).toEqual([
      {
        name: 'bwrap',
        reason: 'bwrap not found (apt install bubblewrap)',
        missing: bwrapMissing.missing,
      },
    ]);
    // Later backends are not probed once one is found.
    expect(chroot.probeCalls()).toBe(0);
    expect(lines).toEqual([
      'backend bwrap: unavailable (probed): bwrap not found (apt install bubblewrap)',
      'backend proot: available (probed)',
    ]);
  });

  it('probes the preferred backend first', async () => {
    const bwrap = createFakeBackend('bwrap', availableProbe(), { aliases: ['bubblewrap'] });
    const proot = createFakeBackend('proot', availableProbe());
    const selection = await selectBackend({
      registry: createRegistry([bwrap, proot]),
      preferred: 'proot',
      context,
    });
    expect(selection.backend.name).toBe('proot');
    expect(bwrap.probeCalls()).toBe(0);
  });

  it('passes over an excluded backend, logging the reason the caller gave', async () => {
    const bwrap = createFakeBackend('bwrap', availableProbe(), { aliases: ['bubblewrap'] });
    const proot = createFakeBackend('proot', availableProbe());
    const lines: string[] = [];
    const selection = await selectBackend({
      registry: createRegistry([bwrap, proot]),
      context,
      exclude: [{ name: 'bubblewrap', reason: 'cannot mount an overlay root' }],
      log: (line) => lines.push(line),
    });
    expect(selection.backend.name).toBe('proot');
    expect(selection.skipped).toMatchObject([{ name: 'bwrap', isExcluded: true }]);
    expect(lines).toContain('backend bwrap: skipped (cannot mount an overlay root)');
    expect(lines.join('\n')).not.toContain('set-up failure');
    expect(bwrap.probeCalls()).toBe(0);
  });

  it('throws POLYTHENE_NO_BACKEND naming every missing tool and its package', async () => {
    const registry = createRegistry([
      createFakeBackend('bwrap', bwrapMissing),
      createFakeBackend('proot', prootMissing),
      createFakeBackend('chroot', chrootNotRoot),
    ]);
    const error = await selectBackend({ registry, context }).catch((caught: unknown) => caught);
    expect(hasErrorCode(error, 'POLYTHENE_NO_BACKEND')).toBe(true);
    expect((error as Error).message).toBe(
      'no backend can run here: bwrap not found (apt install bubblewrap); proot not found (apt install proot); chroot needs root',
    );
  });

  it('treats a probe that throws or returns garbage as unavailable and goes on', async () => {
    const broken = createFakeBackend('broken', async () => {
      throw new Error('boom\nstack');
    });
    const garbage = createFakeBackend('garbage', async () => 'yes' as never);
    const good = createFakeBackend('good', availableProbe());
    const selection = await selectBackend({
      registry: createRegistry([broken, garbage, good]),
      context,
    });
    expect(selection.backend).toBe(good);
    expect(selection.skipped.map((entry) => entry.reason)).toEqual([
      'broken probe failed: boom',
      "garbage probe returned a malformed result (fix the backend's probe)",
    ]);
  });

  it('says what to install when nothing is registered', async () => {
    await expect(selectBackend({ registry: createRegistry(), context })).rejects.toThrow(
      /none is registered/,
    );
  });

  it('pays no probing on a repeat selection through the cache, and re-probes after invalidate', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'polythene-select-'));
    dirs.push(dir);
    const path = join(dir, 'probe-v1.json');
    const bwrap = createFakeBackend('bwrap', bwrapMissing, { binaries: ['bwrap'] });
    const proot = createFakeBackend('proot', availableProbe(), { binaries: ['sh'] });
    const registry = createRegistry([bwrap, proot]);

    const first = await selectBackend({ registry, context, cache: createProbeCache({ path }) });
    expect(first.isCached).toBe(false);

    // A new cache object reads the file, as the next process would.
    const cache = createProbeCache({ path });
    const second = await selectBackend({ registry, context, cache });
    expect(second.backend.name).toBe('proot');
    expect(second.isCached).toBe(true);
    expect(second.skipped[0]?.reason).toBe('bwrap not found (apt install bubblewrap)');
    expect(bwrap.probeCalls()).toBe(1);
    expect(proot.probeCalls()).toBe(1);

    cache.invalidate('proot');
    const third = await selectBackend({ registry, context, cache: createProbeCache({ path }) });
    expect(third.isCached).toBe(false);
    expect(proot.probeCalls()).toBe(2);
    expect(bwrap.probeCalls()).toBe(1);
  });
});
