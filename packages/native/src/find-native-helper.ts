import { accessSync, constants } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PolytheneError } from '@polythene/errors';

/** The architectures helpers are built for, named as Node's `process.arch` names them. */
const SUPPORTED_ARCHES: readonly string[] = ['x64', 'arm64'];

// This module's own file: `__filename` in the CLI's CommonJS bundle, `import.meta.url` in the
// ESM build. Both sit one level below the folder holding `bin/` (dist/ or src/), and the CLI's
// build copies `bin/` beside its own `dist/`.
function findOwnDirectory(): string {
  if (typeof __filename === 'string') return dirname(__filename);
  return dirname(fileURLToPath(import.meta.url));
}

const found = new Map<string, string | undefined>();

/**
 * The path of the prebuilt helper `name` (a file `native/<name>.c` of this package) for this
 * machine's architecture, or `undefined` when it is missing. `POLYTHENE_NATIVE_DIR` overrides
 * where helpers are looked for.
 */
export function findNativeHelper(
  name: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): string | undefined {
  return findBuilt(`${name}-${process.arch}`, constants.X_OK, env);
}

/**
 * The path of the prebuilt Node-API addon `name` (a file `native/addon/<name>.c`) for this
 * machine's architecture, or `undefined` when it is missing; looked for like
 * {@link findNativeHelper}.
 */
export function findNativeAddon(
  name: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): string | undefined {
  return findBuilt(`${name}-${process.arch}.node`, constants.R_OK, env);
}

function findBuilt(
  fileName: string,
  mode: number,
  env: Readonly<Record<string, string | undefined>>,
): string | undefined {
  const directory = env.POLYTHENE_NATIVE_DIR ?? join(findOwnDirectory(), '..', 'bin');
  const path = join(directory, fileName);
  if (found.has(path)) return found.get(path);
  let result: string | undefined;
  try {
    accessSync(path, mode);
    result = path;
  } catch {
    result = undefined;
  }
  found.set(path, result);
  return result;
}

/** Why a prebuilt file is missing and what to do, for an error message. */
export function describeMissingNative(): string {
  return SUPPORTED_ARCHES.includes(process.arch)
    ? 'reinstall polythene (the package ships it prebuilt), or build it with `bash build-native.sh` in @polythene/native'
    : `no prebuilt helper exists for ${process.arch}; build it with \`bash build-native.sh\` in @polythene/native`;
}

/**
 * Like {@link findNativeHelper}, but a missing helper is a `POLYTHENE_SETUP_FAILED` error that
 * names the guarantee it costs (`guarantee`, e.g. "closing inherited file descriptors").
 */
export function requireNativeHelper(
  name: string,
  guarantee: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): string {
  const path = findNativeHelper(name, env);
  if (path !== undefined) return path;
  throw new PolytheneError(
    'POLYTHENE_SETUP_FAILED',
    `the helper ${name} is missing, so polythene cannot guarantee ${guarantee}: ${describeMissingNative()}`,
  );
}
