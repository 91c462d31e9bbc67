import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { createMarker, findSleepers, waitFor } from './conformance-checks.ts';
import { CONFORMANCE_SCRIPT_PATH } from './define-scripted-conformance-suite.ts';

/** Options for {@link defineSigkillCheck}. */
export interface SigkillCheckOptions {
  /** Absolute path of the module that exports the backend factory. */
  readonly backendModule: string;
  /** Name of the factory export. */
  readonly factory: string;
  /** A busybox rootfs. */
  readonly rootfs: () => Promise<string> | string;
  /** The tsx binary that runs the conformance script. */
  readonly tsx: string;
  /**
   * False when the backend does not claim `tree-kill` here: the test then checks that it says
   * why (`reason`) instead.
   */
  readonly isClaimed: boolean;
  /** Why it is not claimed, as the probe reports it. */
  readonly reason?: string;
}

/**
 * Declares the test for the hardest tree-kill case: polythene itself is SIGKILLed while the
 * command runs (no handler runs, nothing is cleaned up) and still no process of the command
 * may survive. A separate node process stands in for polythene.
 */
export function defineSigkillCheck(options: SigkillCheckOptions): void {
  if (!options.isClaimed) {
    it('does not claim tree-kill, and says why (no silent downgrade)', () => {
      expect(options.reason ?? '').toMatch(/\S/);
    });
    return;
  }
  it('leaves no process behind when polythene itself is killed with SIGKILL', async () => {
    const marker = createMarker();
    const rootfs = await options.rootfs();
    const child = spawn(
      options.tsx,
      [CONFORMANCE_SCRIPT_PATH, options.backendModule, options.factory, rootfs, '--hold', marker],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    try {
      const pid = await new Promise<number>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          const match = /"pid":(\d+)/.exec(out);
          if (match) resolve(Number(match[1]));
        });
        child.on('exit', () => reject(new Error(`the holding script exited early: ${out}`)));
      });
      expect(findSleepers(marker).length).toBeGreaterThan(0);
      process.kill(pid, 'SIGKILL');
      await waitFor(
        'the sleeper to die with polythene',
        () => findSleepers(marker).length === 0,
        5_000,
      ).catch((error: unknown) => {
        throw new Error(
          `${String(error)}; still running: ${findSleepers(marker)
            .map(
              (p) =>
                `${p}:${readFileSync(`/proc/${p}/status`, 'utf8').split('\n').slice(0, 7).join(' ')}`,
            )
            .join(' / ')}`,
        );
      });
    } finally {
      child.kill('SIGKILL');
      for (const pid of findSleepers(marker)) process.kill(pid, 'SIGKILL');
    }
  }, 60_000);
}
