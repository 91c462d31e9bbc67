import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Backend, ProbeResult } from '@polythene/probe';
import { expect, it } from 'vitest';
import { CONFORMANCE_SCRIPT_PATH } from './define-scripted-conformance-suite.ts';
import { createMarker, findSleepers, waitFor } from './sandbox-helpers.ts';

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
   * Whether this backend is expected to claim `tree-kill` here. The check compares it with
   * what the backend's own probe says (never with a reason the test supplies): a probe that
   * claims tree-kill must pass the SIGKILL test, and one that does not must say why in its
   * `lost` list.
   */
  readonly isClaimed: boolean;
  /** The environment of the probe and of the process standing in for polythene (PATH). */
  readonly hostEnv?: NodeJS.ProcessEnv;
  /** Test title suffix, for a second check of one backend (another PATH). */
  readonly title?: string;
}

/**
 * Declares the test for the hardest tree-kill case: polythene itself is SIGKILLed while the
 * command runs (no handler runs, nothing is cleaned up) and still no process of the command
 * may survive. A separate node process stands in for polythene.
 */
export function defineSigkillCheck(options: SigkillCheckOptions): void {
  it(`claims tree-kill as its probe proves: no process left when polythene is SIGKILLed, or a reason from the probe${options.title ?? ''}`, async () => {
    const probe = await probeBackend(options);
    expect(probe, probe.available ? '' : probe.reason).toMatchObject({ available: true });
    if (!probe.available) return;
    const isClaimed = probe.guarantees.includes('tree-kill');
    expect(isClaimed, 'tree-kill claimed by the probe').toBe(options.isClaimed);
    if (!isClaimed) {
      expect(probe.lost['tree-kill'] ?? '', "the probe's own reason").toMatch(/\S/);
      return;
    }
    const marker = createMarker();
    const rootfs = await options.rootfs();
    const child = spawn(
      options.tsx,
      [CONFORMANCE_SCRIPT_PATH, options.backendModule, options.factory, rootfs, '--hold', marker],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
        env: options.hostEnv ?? process.env,
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

async function probeBackend(options: SigkillCheckOptions): Promise<ProbeResult> {
  const module = (await import(options.backendModule)) as Record<string, unknown>;
  const factory = module[options.factory];
  if (typeof factory !== 'function')
    throw new Error(`${options.backendModule} has no factory ${options.factory}`);
  const backend = (await factory()) as Backend;
  return backend.probe({
    isRoot: process.geteuid?.() === 0,
    hostEnv: options.hostEnv ?? process.env,
  });
}
