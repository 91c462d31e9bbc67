import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { ConformanceCheck } from './conformance-types.ts';
import {
  createMarker,
  findSleepers,
  readHostFile,
  readSessionId,
  runShell,
  waitFor,
} from './sandbox-helpers.ts';

/**
 * Process supervision, for every backend: timeouts that kill the tree, a session of its own,
 * nothing left behind, forwarded signals, abort, and the grace kill.
 */
export const SUPERVISION_CHECKS: readonly ConformanceCheck[] = [
  {
    name: 'kills the whole tree on timeout and reports timedOut',
    run: async (context) => {
      const marker = createMarker();
      const started = Date.now();
      const result = await runShell(context, `sleep ${marker} & sleep ${marker}; echo not-killed`, {
        timeoutMs: 1_500,
      });
      assert.equal(result.timedOut, true);
      assert.equal(result.exitCode, null);
      assert.notEqual(result.signal, null);
      assert.ok(Date.now() - started < 15_000, 'the timeout did not end the run promptly');
      assert.equal(result.out, '');
      await waitFor('the sleepers to be gone', () => findSleepers(marker).length === 0, 5_000);
    },
  },
  {
    name: 'runs the command in its own session (no TIOCSTI into our terminal)',
    guarantee: 'new-session',
    run: async (context) => {
      const marker = createMarker();
      const running = runShell(context, `sleep ${marker}`, { timeoutMs: 20_000 });
      try {
        await waitFor('the command to start', () => findSleepers(marker).length > 0);
        for (const pid of findSleepers(marker)) {
          assert.notEqual(
            readSessionId(pid),
            readSessionId('self'),
            'the command shares our session',
          );
        }
      } finally {
        for (const pid of findSleepers(marker)) process.kill(pid, 'SIGKILL');
        await running.catch(() => undefined);
      }
    },
  },
  {
    name: 'leaves no process behind when the command exits',
    run: async (context) => {
      const marker = createMarker();
      const result = await runShell(context, `sleep ${marker} > /dev/null 2>&1 & exit 3`, {
        timeoutMs: 30_000,
      });
      assert.equal(result.exitCode, 3, result.err);
      assert.equal(result.timedOut, false);
      await waitFor(
        'the background sleeper to be gone',
        () => findSleepers(marker).length === 0,
        5_000,
      );
    },
  },
  {
    name: 'forwards SIGTERM received by polythene to the command',
    run: async (context) => {
      const marker = createMarker();
      const script = `trap 'echo got-term > /tmp/term-${marker}; exit 7' TERM; touch /tmp/ready-${marker}; while :; do sleep 0.1; done`;
      const running = runShell(context, script, { forwardSignals: true, killGraceMs: 10_000 });
      try {
        await waitFor(
          'the trap to be set',
          () => readHostFile(join(context.rootfs, `tmp/ready-${marker}`)) !== undefined,
        );
        process.kill(process.pid, 'SIGTERM');
        const result = await running;
        assert.equal(result.exitCode, 7, result.err);
        assert.equal(readHostFile(join(context.rootfs, `tmp/term-${marker}`)), 'got-term\n');
      } finally {
        rmSync(join(context.rootfs, `tmp/ready-${marker}`), { force: true });
        rmSync(join(context.rootfs, `tmp/term-${marker}`), { force: true });
      }
    },
  },
  {
    name: 'ends the command like a forwarded SIGTERM when aborted',
    run: async (context) => {
      const marker = createMarker();
      const controller = new AbortController();
      const script = `trap 'exit 9' TERM; touch /tmp/ready-${marker}; while :; do sleep 0.1; done`;
      const running = runShell(context, script, {
        abortSignal: controller.signal,
        killGraceMs: 10_000,
      });
      try {
        await waitFor(
          'the trap to be set',
          () => readHostFile(join(context.rootfs, `tmp/ready-${marker}`)) !== undefined,
        );
        controller.abort();
        const result = await running;
        assert.equal(result.exitCode, 9, result.err);
      } finally {
        rmSync(join(context.rootfs, `tmp/ready-${marker}`), { force: true });
      }
    },
  },
  {
    name: 'kills the tree when the command ignores a forwarded signal past the grace period',
    run: async (context) => {
      const marker = createMarker();
      const controller = new AbortController();
      const script = `trap '' TERM; touch /tmp/ready-${marker}; sleep ${marker}`;
      const running = runShell(context, script, {
        abortSignal: controller.signal,
        killGraceMs: 300,
      });
      try {
        await waitFor(
          'the trap to be set',
          () => readHostFile(join(context.rootfs, `tmp/ready-${marker}`)) !== undefined,
        );
        controller.abort();
        const result = await running;
        assert.equal(result.signal, 'SIGKILL');
        assert.equal(result.timedOut, false);
        await waitFor('the sleeper to be gone', () => findSleepers(marker).length === 0, 5_000);
      } finally {
        rmSync(join(context.rootfs, `tmp/ready-${marker}`), { force: true });
      }
    },
  },
];
