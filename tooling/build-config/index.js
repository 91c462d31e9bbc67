// The one bundler configuration every library shares; each package's tsdown.config.ts
// spreads it and may add entries (the CLI adds its bin).
/** @type {import('tsdown').UserConfig} */
export const libraryConfig = {
  entry: ['src/index.ts'],
  format: 'esm',
  platform: 'node',
  target: 'node20',
  dts: true,
  sourcemap: true,
  clean: true,
};
