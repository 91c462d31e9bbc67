import { lstatSync, type Stats } from 'node:fs';
import { resolve } from 'node:path';
import { PolytheneError } from '@polythene/errors';
import { isUnmappedOwner } from './is-unmapped-owner.ts';

const S_ISVTX = 0o1000;
const WRITABLE_BY_OTHERS = 0o022;

/**
 * Refuses (`POLYTHENE_STORE_UNAVAILABLE`, exit 1) a store that someone other than user `uid`
 * (default: the running user) could change or swap: the store directory must be owned by
 * `uid` and not writable by group or others; every directory above it must be owned by root
 * or `uid` and, when group- or other-writable, sticky (like `/tmp`, `/var/tmp`); and no path
 * component may be a symbolic link. Checked top-down with `lstat`: once a directory is known
 * to be changeable only by root and `uid`, nobody else can rename what is below it, so what
 * the check saw stays true for every later use of the path. The message names the owner and
 * the fix. A missing store (or parent) is not refused here: opening it fails with its own
 * message.
 */
export function assertStoreOwned(dir: string, uid: number | undefined = process.getuid?.()): void {
  if (uid === undefined) return;
  const storeDir = resolve(dir);
  const components = storeDir.split('/').filter((component) => component.length > 0);
  let path = '';
  for (let index = 0; index <= components.length; index += 1) {
    path = index === 0 ? '/' : `${path === '/' ? '' : path}/${components[index - 1]}`;
    const stats = lstatSync(path, { throwIfNoEntry: false });
    if (stats === undefined) return;
    const isStore = index === components.length;
    if (stats.isSymbolicLink()) {
      throw refuse(
        storeDir,
        `${path} is a symbolic link, which whoever owns it or its directory can point elsewhere`,
        'pass the real path (`realpath` of it) as --store DIR or POLYTHENE_STORE',
      );
    }
    if (isStore) assertStoreDir(storeDir, stats, uid);
    else assertParent(storeDir, path, stats, uid);
  }
}

function assertStoreDir(storeDir: string, stats: Stats, uid: number): void {
  if (stats.uid !== uid) {
    throw refuse(
      storeDir,
      `it is owned by uid ${stats.uid}, not you (uid ${uid}), who could change what runs`,
      'pass --store DIR or set POLYTHENE_STORE to a directory of your own',
    );
  }
  if ((stats.mode & WRITABLE_BY_OTHERS) !== 0) {
    throw refuse(
      storeDir,
      `it is writable by other users (mode ${modeOf(stats)}), who could swap its entries`,
      `run \`chmod go-w ${storeDir}\` (polythene creates stores with mode 0700)`,
    );
  }
}

function assertParent(storeDir: string, path: string, stats: Stats, uid: number): void {
  if (stats.uid !== 0 && stats.uid !== uid && !isUnmappedOwner(stats.uid)) {
    throw refuse(
      storeDir,
      `its parent ${path} is owned by uid ${stats.uid}, who could rename the store away and put another in its place`,
      'keep the store in a directory owned by you or root',
    );
  }
  if ((stats.mode & WRITABLE_BY_OTHERS) !== 0 && (stats.mode & S_ISVTX) === 0) {
    throw refuse(
      storeDir,
      `its parent ${path} is writable by other users without the sticky bit (mode ${modeOf(stats)}), so they could rename the store away`,
      `run \`chmod go-w ${path}\` (or \`chmod +t\`), or keep the store elsewhere`,
    );
  }
}

function refuse(storeDir: string, reason: string, fix: string): PolytheneError {
  return new PolytheneError(
    'POLYTHENE_STORE_UNAVAILABLE',
    `refusing store ${storeDir}: ${reason}; ${fix}`,
  );
}

function modeOf(stats: Stats): string {
  return (stats.mode & 0o7777).toString(8).padStart(4, '0');
}
