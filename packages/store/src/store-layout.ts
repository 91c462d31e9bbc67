import { join } from 'node:path';
import { PolytheneError } from '@polythene/errors';
import { baseMarkerName, manifestName, metadataName, workName } from './store-names.ts';

/** The fix every store error names: where to point polythene instead. */
export const HINT = 'pass --store DIR or set POLYTHENE_STORE to a writable directory';

/** Where each part of an entry lives in a store directory, and the errors naming it. */
export interface StoreLayout {
  /** Absolute path of the store directory. */
  readonly dir: string;
  /** The rootfs (or overlay upper layer) of entry `id`: `<dir>/<id>`. */
  entryPath(id: string): string;
  /** Its metadata file, `<dir>/<id>.json`. */
  metadataPath(id: string): string;
  /** Its manifest (what a `directory` entry held when committed). */
  manifestPath(id: string): string;
  /** Its overlay work directory. */
  workPath(id: string): string;
  /** The marker saying overlay clones were made of it. */
  baseMarkerPath(id: string): string;
  /** `POLYTHENE_ROOTFS_NOT_FOUND` for entry `id`. */
  notFound(id: string): PolytheneError;
  /** `POLYTHENE_ROOTFS_NOT_FOUND` for overlay clone `id` whose lower `lowerId` is gone. */
  lowerMissing(id: string, lowerId: string): PolytheneError;
}

/** The {@link StoreLayout} of the store directory `dir` (absolute). */
export function createStoreLayout(dir: string): StoreLayout {
  const entryPath = (id: string): string => join(dir, id);

  const metadataPath = (id: string): string => join(dir, metadataName(id));

  const manifestPath = (id: string): string => join(dir, manifestName(id));

  const workPath = (id: string): string => join(dir, workName(id));

  const baseMarkerPath = (id: string): string => join(dir, baseMarkerName(id));

  function notFound(id: string): PolytheneError {
    return new PolytheneError(
      'POLYTHENE_ROOTFS_NOT_FOUND',
      `No such UUID rootfs: ${id} (store ${dir}): run \`polythene list\` to see entries, or \`polythene pull IMAGE\` to make one`,
    );
  }

  function lowerMissing(id: string, lowerId: string): PolytheneError {
    return new PolytheneError(
      'POLYTHENE_ROOTFS_NOT_FOUND',
      `store entry ${id} is an overlay clone of ${lowerId}, which is missing from store ${dir} (deleted by hand?): it cannot be used; remove it with \`polythene rm ${id}\``,
    );
  }

  return {
    dir,
    entryPath,
    metadataPath,
    manifestPath,
    workPath,
    baseMarkerPath,
    notFound,
    lowerMissing,
  };
}
