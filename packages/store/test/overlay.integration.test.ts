import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ensureTestUser, runAsTestUser } from '@polythene/test-images';
import { describe, expect, it } from 'vitest';
import { openStore, removeTree } from '../src/index.ts';
import { type OverlayScenarioReport, runOverlayScenario } from './fixtures/overlay-scenario.ts';

const isRoot = process.getuid?.() === 0;
const fixture = resolve(import.meta.dirname, 'fixtures/unprivileged-overlay.ts');
const tsx = resolve(import.meta.dirname, '../../../node_modules/.bin/tsx');

function expectScenario(report: OverlayScenarioReport): void {
  expect(report.firstDiff).toEqual({
    added: ['/etc/new.conf', '/hosts-link', '/newdir', '/newdir/sub', '/newdir/sub/f'],
    modified: ['/etc/hosts', '/opt', '/var/lib/b'],
    deleted: ['/etc/passwd', '/var/lib/a'],
  });
  expect(report.secondDiff).toEqual({
    added: ['/var/lib/c'],
    modified: [],
    deleted: ['/bin/busybox', '/etc/hosts', '/etc/new.conf'],
  });
  // The materialised copy of a two-level clone is exactly what the kernel's mount showed.
  expect(report.mergedListing).toContain('var/lib/c|f|644|2|');
  expect(report.mergedListing).toContain('opt|d|700|4096|');
  expect(report.materializedMatchesMount).toBe(true);
  expect(report.resolvedDeleted).toBe(true);
  expect(report.resolvedLayerOfB).toBe(1);
  expect(report.writtenReadThroughMount).toBe('hello from the layers');
  expect(report.baseUnchanged).toBe(true);
}

describe.skipIf(!isRoot)(
  'store layouts are valid overlayfs layers (kernel mounts, as root)',
  () => {
    it('diffs, materialises and writes layers exactly as the mounted overlay shows them', async () => {
      const base = await mkdtemp(join(tmpdir(), 'polythene-overlay-root-'));
      try {
        const report = await runOverlayScenario(await openStore(join(base, 'store')));
        expectScenario(report);
        expect(report.whiteoutForm).toBe('char-device');
      } finally {
        await removeTree(base);
      }
    });
  },
);

describe.skipIf(!isRoot)(
  'store layouts as an unprivileged user (userns + userxattr; needs root to create the user)',
  () => {
    it('the same round trip inside an unprivileged user namespace', async () => {
      await ensureTestUser();
      const result = await runAsTestUser([tsx, fixture], { timeoutMs: 60_000 });
      const report = JSON.parse(result.stdout) as OverlayScenarioReport;
      expectScenario(report);
      // Unprivileged overlayfs still creates 0:0 character-device whiteouts (kernel >= 5.8).
      expect(report.whiteoutForm).toBe('char-device');
    });
  },
);
