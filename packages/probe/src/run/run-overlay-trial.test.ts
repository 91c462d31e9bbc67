import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type OverlayTrialLayers, runOverlayTrial } from './run-overlay-trial.ts';

// The real overlay mounts are exercised by each backend's probe tests; these check the
// verdict and the clean-up around them, with the "mount" played by plain writes.
describe('runOverlayTrial', () => {
  it('is true only when the write landed in the upper layer, and removes its scratch dir', async () => {
    let seen: OverlayTrialLayers | undefined;
    const isWorking = await runOverlayTrial(async (layers) => {
      seen = layers;
      expect(existsSync(join(layers.lower, 'from-lower'))).toBe(true);
      expect(layers.lowerDirs).toEqual([layers.lower]);
      writeFileSync(join(layers.upperDir, 'written'), 'written\n');
      return { exitCode: 0 };
    });
    expect(isWorking).toBe(true);
    expect(seen && existsSync(seen.upperDir)).toBe(false);
  });

  it.each([
    ['the write went to the lower layer', 'lower', 0],
    ['the trial failed', 'upper', 1],
  ] as const)('is false when %s', async (_label, target, exitCode) => {
    const isWorking = await runOverlayTrial(async (layers) => {
      writeFileSync(join(target === 'lower' ? layers.lower : layers.upperDir, 'written'), '');
      return { exitCode };
    });
    expect(isWorking).toBe(false);
  });
});
