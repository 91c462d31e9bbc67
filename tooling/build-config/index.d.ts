import type { UserConfig } from 'tsdown';
/** The bundler configuration every Polythene library shares. */
export declare const libraryConfig: UserConfig;
