import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** The built `polythene` binary, as users run it. */
export const POLYTHENE_BIN: string = join(
  dirname(createRequire(import.meta.url).resolve('@polythene/cli/package.json')),
  'dist',
  'polythene.cjs',
);
