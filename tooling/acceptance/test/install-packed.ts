import { access, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type PackedPackage, readPackedManifest } from '@polythene/release';
import { execa } from 'execa';

/** A fresh npm project (or global prefix) outside the workspace, holding packed packages. */
export interface InstalledProject {
  /** The project directory (or the global prefix). */
  readonly dir: string;
  /** Where the installed packages are: `<dir>/node_modules`, or `<dir>/lib/node_modules`. */
  readonly nodeModules: string;
  /** The path of an installed command. */
  bin(name: string): string;
  /** The environment to run npm, node and installed commands with (no pnpm variables). */
  readonly env: Record<string, string>;
  remove(): Promise<void>;
}

/** Options of {@link installPacked}. */
export interface InstallPackedOptions {
  /** `npm install -g --prefix DIR`, as the users' guide installs the CLI. */
  readonly global?: boolean;
  /** More npm specs from the registry (through npm's cache), e.g. `vitest@^4`. */
  readonly extra?: readonly string[];
}

/**
 * The tarballs to hand npm for `wanted`: those packages and every package of the set they
 * depend on (`dependencies`, transitively). The packages are not on the registry, so npm must
 * find each of them among the tarballs it installs.
 */
export async function closeOverDependencies(
  wanted: readonly string[],
  packed: readonly PackedPackage[],
): Promise<PackedPackage[]> {
  const byName = new Map(packed.map((pkg) => [pkg.name, pkg]));
  const chosen = new Map<string, PackedPackage>();
  const queue = [...wanted];
  for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
    if (chosen.has(name)) continue;
    const pkg = byName.get(name);
    if (pkg === undefined) throw new Error(`${name} was not packed`);
    chosen.set(name, pkg);
    const manifest = await readPackedManifest(pkg.tarball);
    const dependencies = (manifest.dependencies ?? {}) as Record<string, string>;
    for (const dependency of Object.keys(dependencies)) {
      if (byName.has(dependency)) queue.push(dependency);
    }
  }
  return [...chosen.values()];
}

/** The environment without what `pnpm run` adds, which would steer npm. */
export function cleanEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value === undefined || /^(npm_|pnpm_|PNPM_|POLYTHENE_)/i.test(key)) continue;
    env[key] = value;
  }
  return env;
}

/**
 * Installs `wanted` (and the packed packages they need) with npm into a fresh temporary
 * directory outside the workspace: a project of its own, or a global prefix.
 */
export async function installPacked(
  wanted: readonly string[],
  packed: readonly PackedPackage[],
  options: InstallPackedOptions = {},
): Promise<InstalledProject> {
  const dir = await mkdtemp(join(tmpdir(), 'polythene-acceptance-'));
  // A cache of its own: the probe cache records paths into this install (the id-map helper),
  // which must not outlive it in the user's ~/.cache, where other polythene runs would use them.
  const env = { ...cleanEnv(), XDG_CACHE_HOME: join(dir, '.cache') };
  await mkdir(env.XDG_CACHE_HOME, { recursive: true });
  const tarballs = (await closeOverDependencies(wanted, packed)).map((pkg) => pkg.tarball);
  // npm waits 5 minutes on a stalled registry request by default (fetch-timeout), the whole
  // budget of a set-up hook: give up on one after 30 s and retry it instead.
  const flags = [
    '--prefer-offline',
    '--no-audit',
    '--no-fund',
    '--loglevel=error',
    '--fetch-timeout=30000',
    '--fetch-retries=5',
  ];
  if (options.global) {
    await execa('npm', ['install', '--global', '--prefix', dir, ...flags, ...tarballs], {
      cwd: dir,
      env,
      extendEnv: false,
    });
  } else {
    await writeFile(
      join(dir, 'package.json'),
      `${JSON.stringify({ name: 'acceptance-project', private: true, type: 'module' }, null, 2)}\n`,
    );
    await execa('npm', ['install', ...flags, ...tarballs, ...(options.extra ?? [])], {
      cwd: dir,
      env,
      extendEnv: false,
    });
  }
  const nodeModules = options.global ? join(dir, 'lib', 'node_modules') : join(dir, 'node_modules');
  return {
    dir,
    nodeModules,
    env,
    bin: (name) => (options.global ? join(dir, 'bin', name) : join(nodeModules, '.bin', name)),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

/** Every package name found in `nodeModules`, nested `node_modules` included. */
export async function listInstalledPackages(nodeModules: string): Promise<Set<string>> {
  const names = new Set<string>();
  const walk = async (directory: string): Promise<void> => {
    let entries: string[];
    try {
      entries = await readdir(directory);
    } catch {
      return;
    }
    for (const entry of entries) {
      if (entry.startsWith('.')) continue;
      const scoped = entry.startsWith('@');
      const names_ = scoped
        ? (await readdir(join(directory, entry))).map((n) => `${entry}/${n}`)
        : [entry];
      for (const name of names_) {
        names.add(name);
        await walk(join(directory, name, 'node_modules'));
      }
    }
  };
  await walk(nodeModules);
  return names;
}

/** Whether `path` exists. */
export async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
