import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { AvailableProbe, RunSpec } from '../backend.ts';
import { checkRunSpec } from './check-run-spec.ts';

const dir = mkdtempSync(join(tmpdir(), 'polythene-check-run-spec-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
for (const name of ['lower', 'upper', 'work', 'odd,name']) mkdirSync(join(dir, name));
const probe: AvailableProbe = {
  available: true,
  version: undefined,
  guarantees: [],
  lost: {},
  details: {},
  canOverlay: true,
};
const overlay = {
  lowerDirs: [join(dir, 'lower')],
  upperDir: join(dir, 'upper'),
  workDir: join(dir, 'work'),
};
const spec: RunSpec = {
  rootfs: join(dir, 'lower'),
  overlay,
  argv: ['/bin/true'],
  env: {},
  cwd: '/not/in/the/lower',
  uid: 0,
  gid: 0,
  binds: [],
  stdio: 'pipe',
  killGraceMs: 1000,
  forwardSignals: false,
  probe,
};

describe('checkRunSpec with an overlay', () => {
  it('accepts existing layers, and a working directory only the upper layer may hold', () => {
    expect(() => checkRunSpec(spec, 'test')).not.toThrow();
  });
  it('refuses an overlay when the probe does not claim canOverlay', () => {
    expect(() => checkRunSpec({ ...spec, probe: { ...probe, canOverlay: false } }, 'test')).toThrow(
      /cannot run on an overlay root/,
    );
  });
  it('refuses missing layers and no lower layer, naming the layer', () => {
    expect(() =>
      checkRunSpec({ ...spec, overlay: { ...overlay, upperDir: join(dir, 'gone') } }, 'test'),
    ).toThrow(/upper layer .*gone is not a directory/);
    expect(() => checkRunSpec({ ...spec, overlay: { ...overlay, lowerDirs: [] } }, 'test')).toThrow(
      /no lower layer/,
    );
  });
  it('refuses layer paths overlayfs mount options cannot carry', () => {
    expect(() =>
      checkRunSpec(
        { ...spec, overlay: { ...overlay, lowerDirs: [join(dir, 'odd,name')] } },
        'test',
      ),
    ).toThrow(/^test: lower layer .* contains ','/);
  });
});
