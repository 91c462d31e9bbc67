import { readFileSync, rmdirSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type AvailableProbe,
  type BindMount,
  createRunTempDir,
  type NetworkMode,
} from '@polythene/probe';
import type { Logger } from '../../logger.ts';
import type { ResolveInRoot } from '../root-view.ts';

/** The resolver slirp4netns answers on in the box (`--configure`'s default network). */
const SLIRP_RESOLVER = '10.0.2.3';

/** Files shadowed in the box for one run, and how to remove their copies afterwards. */
export interface NetworkFiles extends AsyncDisposable {
  /** Binds over the image's `/etc/resolv.conf` and `/etc/hosts` (none for `none`). */
  readonly binds: readonly BindMount[];
}

const noFiles: NetworkFiles = { binds: [], [Symbol.asyncDispose]: async () => {} };

/**
 * What the box sees at `/etc/resolv.conf` and `/etc/hosts`: for `host` the host's own
 * files, for `private` a resolv.conf naming slirp4netns's resolver. They are copies in a
 * private temporary directory (a bind of the host's file itself would let a backend that
 * cannot bind read-only, proot, write the host's), bound over the image's file for this run
 * only: the rootfs never changes. An image without the file keeps going without it (a bind
 * would have to create it in the rootfs), which the verbose log says.
 */
export async function prepareNetworkFiles(
  mode: NetworkMode,
  resolveInRoot: ResolveInRoot,
  selection: { readonly probe: Pick<AvailableProbe, 'canBindReadOnly'> },
  logger: Logger,
): Promise<NetworkFiles> {
  // Copies made for this run: proot, which cannot bind read-only, may get them writable.
  const readOnly = selection.probe.canBindReadOnly !== false;
  if (mode === 'none') return noFiles;
  // Synchronous on purpose: a few small files, while the first asynchronous file call of a
  // process loads node:fs/promises and starts libuv's thread pool (with an asynchronous
  // recursive rm afterwards, about 5 ms of `host`'s start-up; see `pnpm bench network`).
  const wanted: [string, () => string][] =
    mode === 'host'
      ? [
          ['/etc/resolv.conf', () => readFileSync('/etc/resolv.conf', 'utf8')],
          ['/etc/hosts', () => readFileSync('/etc/hosts', 'utf8')],
        ]
      : [['/etc/resolv.conf', () => `nameserver ${SLIRP_RESOLVER}\n`]];
  const present: [string, () => string][] = [];
  for (const entry of wanted) {
    const hostPath = await resolveInRoot(entry[0]);
    if (hostPath !== undefined && statSync(hostPath, { throwIfNoEntry: false })?.isFile()) {
      present.push(entry);
    } else {
      logger.verbose(`the image has no ${entry[0]} file: --network ${mode} leaves it out`);
    }
  }
  if (present.length === 0) return noFiles;
  // Named by polythene's pid: one that a SIGKILL left behind goes at the next such run.
  const dir = createRunTempDir('polythene-network-');
  const written: string[] = [];
  const dispose = async (): Promise<void> => {
    // The copies and their directory: rm's recursive walk costs more than that. A box may
    // have removed or renamed a copy it could write (proot), so anything else falls back to it.
    try {
      for (const file of written) unlinkSync(file);
      rmdirSync(dir);
    } catch {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  try {
    const binds: BindMount[] = [];
    for (const [target, read] of present) {
      const source = join(dir, target.slice('/etc/'.length));
      writeFileSync(source, readHostFile(read), { mode: 0o644 });
      written.push(source);
      binds.push({ source, target, readOnly });
    }
    return { binds, [Symbol.asyncDispose]: dispose };
  } catch (error) {
    await dispose();
    throw error;
  }
}

function readHostFile(read: () => string): string {
  try {
    return read();
  } catch {
    // A host without the file: the box gets an empty one, as a host without it resolves.
    return '';
  }
}
