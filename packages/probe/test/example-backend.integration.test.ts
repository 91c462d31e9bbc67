import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hasErrorCode } from '@polythene/errors';
import { createBusyboxRootfs } from '@polythene/test-images';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_GUARANTEES, type AvailableProbe, type Backend, type RunSpec } from '../src/backend.ts';
import { createRegistry } from '../src/backend-registry.ts';
import { createProbeContext } from '../src/create-probe-context.ts';
import { checkIsolationPolicy } from '../src/isolation-policy.ts';
import { loadBackendModule } from '../src/load-backend-module.ts';
import { selectBackend } from '../src/select-backend.ts';

const here = dirname(fileURLToPath(import.meta.url));
const hasBwrap = spawnSync('bwrap', ['--version'], { stdio: 'ignore' }).status === 0;

let dir: string;
let rootfs: string;
let backend: Backend;
let probe: AvailableProbe;

function specFor(argv: string[], extra: Partial<RunSpec> = {}): RunSpec {
  return {
    rootfs,
    argv,
    env: { PATH: '/bin', GREETING: 'hello' },
    cwd: '/tmp',
    uid: 0,
    gid: 0,
    binds: [],
    stdio: 'pipe',
    killGraceMs: 2000,
    forwardSignals: false,
    probe,
    ...extra,
  };
}

const text = (bytes: Uint8Array | undefined) => Buffer.from(bytes ?? []).toString('utf8');

describe.skipIf(!hasBwrap)('the documented example backend (bwrap missing on this host)', () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'polythene-example-'));
    rootfs = join(dir, 'rootfs');
    await createBusyboxRootfs(rootfs);
    // Loaded by relative path from the package directory, as `--backend-module` would.
    backend = await loadBackendModule('./test/fixtures/example-backend.mjs', {
      cwd: join(here, '..'),
    });
    const selection = await selectBackend({
      registry: createRegistry([backend]),
      preferred: 'example',
      context: createProbeContext(),
    });
    probe = selection.probe;
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('loads through loadBackendModule and probes available with every guarantee but keyring and ids', () => {
    expect(backend.name).toBe('example-bwrap');
    expect(probe.version).toMatch(/^\d+\.\d+/);
    const required = ALL_GUARANTEES.filter(
      (guarantee) => guarantee !== 'keyring' && guarantee !== 'ids',
    );
    expect(checkIsolationPolicy(probe, { strict: true, required })).toBeUndefined();
    expect(probe.lost.keyring).toMatch(/session keyring/);
    expect(probe.lost.ids).toMatch(/maps one id/);
  });

  it('runs a command in the busybox rootfs with only the given env, cwd and ids', async () => {
    const result = await backend.run(
      specFor(
        ['/bin/sh', '-c', 'echo "$GREETING $(pwd) $(id -u):$(id -g)"; echo "HOME=$HOME"; exit 3'],
        {
          uid: 1000,
          gid: 1000,
        },
      ),
    );
    expect(result.exitCode).toBe(3);
    expect(result.backend).toBe('example-bwrap');
    expect(text(result.stdout)).toBe('hello /tmp 1000:1000\nHOME=\n');
  });

  it('sees only loopback and its own processes', async () => {
    const result = await backend.run(
      specFor([
        '/bin/sh',
        '-c',
        'ls /sys/class/net 2>/dev/null || ip -o link | cut -d: -f2; ps -o pid | wc -l',
      ]),
    );
    const lines = text(result.stdout).trim().split(/\s+/);
    expect(lines[0]).toBe('lo');
    // ps header + a handful of processes in the new pid namespace, never the host's.
    expect(Number(lines.at(-1))).toBeLessThan(8);
  });

  it('runs a command that exits without reading its input', async () => {
    // 8 MiB cannot fit in the pipe: the write fails with EPIPE once the command is gone,
    // which must not crash the process (it did, now and then, with a small input).
    const result = await backend.run(specFor(['/bin/true'], { input: 'x'.repeat(8 << 20) }));
    expect(result.exitCode).toBe(0);
  });

  it('kills the tree at the timeout', async () => {
    const result = await backend.run(specFor(['/bin/sleep', '30'], { timeoutMs: 300 }));
    expect(result.timedOut).toBe(true);
    expect(result.durationMs).toBeLessThan(10_000);
  });

  it('delivers an abort to the command as SIGTERM, before the kill grace runs out', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 300);
    const result = await backend.run(
      specFor(['/bin/sh', '-c', 'trap "echo got-term; exit 143" TERM; sleep 30 & wait'], {
        abortSignal: controller.signal,
        killGraceMs: 10_000,
      }),
    );
    expect(text(result.stdout)).toBe('got-term\n');
    expect(result.exitCode).toBe(143);
    expect(result.durationMs).toBeLessThan(5_000);
  });

  it('reports a sandbox that cannot be set up as POLYTHENE_SETUP_FAILED', async () => {
    const error = await backend
      .run(specFor(['/bin/true'], { rootfs: join(dir, 'does-not-exist') }))
      .catch((caught: unknown) => caught);
    expect(hasErrorCode(error, 'POLYTHENE_SETUP_FAILED')).toBe(true);
    expect((error as Error).message).toMatch(
      /^example-bwrap could not set up the sandbox \(bwrap: /,
    );
  });
});
