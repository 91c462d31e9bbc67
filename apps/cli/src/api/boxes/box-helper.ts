import { BOX_HELPERS_DIR } from '@polythene/probe';

/** The native helper that holds a box (`init`) and enters it (`enter`). */
export const BOX_HELPER = 'polythene-box';

/** The holder's path inside the box: the helpers' directory the backend binds into /dev. */
export function holderPathInBox(): string {
  return `${BOX_HELPERS_DIR}/${BOX_HELPER}-${process.arch}`;
}
