import { statSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { PolytheneError } from '@polythene/errors';
import type { OverlayLayers, RunSpec } from '../backend.ts';
import { assertCommandGiven } from './assert-command-given.ts';
import { locateInRootfs } from './locate-in-rootfs.ts';

/**
 * Checks what a backend would otherwise fail on half-way through its set-up: the rootfs is a
 * directory, the working directory exists in it, bind sources exist on the host and targets
 * are absolute. Throws `POLYTHENE_SETUP_FAILED` naming the bad path, so the command never
 * starts in a half-built sandbox (the run then ends with exit 125).
 */
export function checkRunSpec(spec: RunSpec, backend: string): void {
  const fail = (message: string): never => {
    throw new PolytheneError('POLYTHENE_SETUP_FAILED', `${backend}: ${message}`);
  };
  // Backends that mount overlays say so with `canOverlay`; this check serves those that do not.
  if (spec.overlay !== undefined && spec.probe.canOverlay !== true) {
    fail(
      'this backend cannot run on an overlay root (its probe does not claim canOverlay); run on a plain rootfs or pick another backend',
    );
  }
  if (spec.overlay !== undefined) checkOverlayLayers(spec.overlay, fail);
  if (!isDirectory(spec.rootfs))
    fail(`root filesystem ${spec.rootfs} is not a directory; pull the image again`);
  assertCommandGiven(spec.argv, 'pass the command to run after --');
  if (!isAbsolute(spec.cwd))
    fail(`working directory ${spec.cwd} is not absolute; pass an absolute --workdir`);
  // A working directory inside a bind (`--workspace`) exists once the bind is mounted, and an
  // overlay's may exist only in its upper layer: the caller checked those against its view.
  const isInsideBind = spec.binds.some(
    (bind) => spec.cwd === bind.target || spec.cwd.startsWith(`${bind.target.replace(/\/$/, '')}/`),
  );
  const cwd = locateInRootfs(spec.rootfs, spec.cwd);
  if (
    !isInsideBind &&
    spec.overlay === undefined &&
    // (The rootfs itself, the usual `/`, was checked above.)
    (cwd.missing.length > 0 || (cwd.hostPath !== spec.rootfs && !isDirectory(cwd.hostPath)))
  ) {
    fail(
      `working directory ${spec.cwd} does not exist in the root filesystem; pass an existing --workdir`,
    );
  }
  for (const bind of spec.binds) {
    if (!isAbsolute(bind.source)) fail(`bind source ${bind.source} is not an absolute host path`);
    if (!isAbsolute(bind.target))
      fail(`bind target ${bind.target} is not an absolute path inside the rootfs`);
    try {
      statSync(bind.source);
    } catch {
      fail(`bind source ${bind.source} does not exist on the host; create it or fix the path`);
    }
  }
  for (const id of [spec.uid, spec.gid]) {
    if (!Number.isInteger(id) || id < 0) fail(`uid/gid ${id} is not a non-negative integer`);
  }
}

// overlayfs takes its layers in one mount option string: `,` separates options and `:` lower
// layers, and escaping them is not portable across kernels and mount(8) versions.
const unsafeLayerPath = /[,:\\\n]/;

function checkOverlayLayers(overlay: OverlayLayers, fail: (message: string) => never): void {
  if (overlay.lowerDirs.length === 0) fail('the overlay has no lower layer; pass at least one');
  const layers = [
    ...overlay.lowerDirs.map((path) => ['lower layer', path] as const),
    ['upper layer', overlay.upperDir] as const,
    ['overlay work dir', overlay.workDir] as const,
  ];
  for (const [what, path] of layers) {
    if (!isAbsolute(path)) fail(`${what} ${path} is not an absolute host path`);
    if (unsafeLayerPath.test(path)) {
      fail(
        `${what} ${path} contains ',', ':', '\\' or a newline, which overlayfs mount options cannot carry; use a store path without them`,
      );
    }
    if (!isDirectory(path))
      fail(`${what} ${path} is not a directory; recreate the clone or scratch layer`);
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
