import { execFile, execFileSync } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { Backend, Guarantee } from '@polythene/probe';
import { createBusyboxRootfs, ensureTestUser, runAsTestUser } from '@polythene/test-images';
import { afterAll, describe } from 'vitest';
import { HOST_SECRETS } from '../src/conformance-checks.ts';
import { defineBackendConformanceSuite } from '../src/define-backend-conformance-suite.ts';
import { defineScriptedConformanceSuite } from '../src/define-scripted-conformance-suite.ts';
import { defineSigkillCheck } from '../src/define-sigkill-check.ts';

const repoRoot = resolve(import.meta.dirname, '../../..');
// Runs the rest of its argv with fd 50 open on /etc, not close-on-exec, as a caller may (Node
// reuses low fds as it starts: a high one is what reaches its children).
const holdingHostDirectory = ['/bin/bash', '-c', 'exec 50</etc; exec "$@"', 'hold-fd'];
const tsxBin = join(repoRoot, 'node_modules/.bin/tsx');

/** How one backend is checked: a built-in, or the third-party example of docs/backends.md. */
export interface BuiltinConformanceOptions {
  /** The backend's name, e.g. `bwrap`; a built-in's package is `packages/backend-<name>`. */
  readonly name: string;
  /**
   * Absolute path of the module that exports the factory, for the scripted runs; defaults to
   * `packages/backend-<name>/src/index.ts`.
   */
  readonly backendModule?: string;
  /** Its factory, and that factory's export name (`default` for a default export). */
  readonly createBackend: () => Backend | Promise<Backend>;
  readonly factory: string;
  /** Why the whole suite cannot run here (a missing tool), or undefined. */
  readonly missing: string | undefined;
  /** Guarantees it must claim as root, and whether it mounts overlay roots. */
  readonly guarantees: readonly Guarantee[];
  readonly canOverlay: boolean;
  /** The SIGKILL-of-polythene check: claimed, or why not. */
  readonly sigkill: { readonly isClaimed: boolean };
  /** As the unprivileged test user: what the backend must claim, or that it is unavailable. */
  readonly unprivileged:
    | { readonly guarantees: readonly Guarantee[]; readonly canOverlay: boolean }
    | { readonly unavailableReason: RegExp };
}

/**
 * The conformance suite for a built-in backend, as root (in this process, plus the SIGKILL
 * check) and as the unprivileged test user (a scripted run). Root only: the second world is
 * reached through `runuser`.
 */
export function defineBuiltinConformance(options: BuiltinConformanceOptions): void {
  const isRoot = process.geteuid?.() === 0;
  const backendModule =
    options.backendModule ?? join(repoRoot, `packages/backend-${options.name}/src/index.ts`);
  const scratch = mkdtempSync(join(tmpdir(), `polythene-conformance-${options.name}-`));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));
  const rootfsAt = (name: string) => async () => {
    const rootfs = join(scratch, name);
    await createBusyboxRootfs(rootfs);
    return rootfs;
  };
  const skipReason =
    options.missing ??
    (isRoot ? undefined : 'these tests need root (they switch to the test user)');

  describe.skipIf(skipReason !== undefined)(
    skipReason === undefined ? options.name : `${options.name} (skipped: ${skipReason})`,
    () => {
      describe('as root', () => {
        defineBackendConformanceSuite({
          createBackend: options.createBackend,
          rootfs: rootfsAt('root-rootfs'),
          expect: { guarantees: options.guarantees, canOverlay: options.canOverlay },
        });
        // The caller holds a host directory open without close-on-exec (a shell's
        // `exec 50</etc`): the command must not receive it.
        defineScriptedConformanceSuite({
          title: 'from a caller holding an open host directory',
          backendModule,
          factory: options.factory,
          rootfs: rootfsAt('inherited-fd-rootfs'),
          filter: 'inherited',
          runScript: async (argv) =>
            (
              await promisify(execFile)(
                holdingHostDirectory[0] as string,
                [...holdingHostDirectory.slice(1), tsxBin, ...argv],
                { maxBuffer: 64 * 1024 * 1024 },
              )
            ).stdout,
          expect: { guarantees: options.guarantees },
        });
        defineSigkillCheck({
          backendModule,
          factory: options.factory,
          rootfs: rootfsAt('sigkill-rootfs'),
          tsx: tsxBin,
          ...options.sigkill,
        });
      });

      const { unprivileged } = options;
      defineScriptedConformanceSuite({
        title: 'as an unprivileged user',
        backendModule,
        factory: options.factory,
        rootfs: async () => {
          const user = await ensureTestUser();
          const home = join(scratch, 'user');
          const rootfs = join(home, 'rootfs');
          await createBusyboxRootfs(rootfs);
          execFileSync('chown', ['-R', `${user.uid}:${user.gid}`, home]);
          chownSync(scratch, user.uid, user.gid);
          return rootfs;
        },
        // Host secrets in the caller's environment, and a host directory it holds open, must
        // not reach the command.
        runScript: async (argv) =>
          (
            await runAsTestUser([...holdingHostDirectory, tsxBin, ...argv], {
              env: { ...HOST_SECRETS },
            })
          ).stdout,
        expect:
          'unavailableReason' in unprivileged
            ? { available: false, unavailableReason: unprivileged.unavailableReason }
            : { guarantees: unprivileged.guarantees, canOverlay: unprivileged.canOverlay },
      });
    },
  );
}
