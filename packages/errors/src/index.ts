export type { PolytheneErrorCode, PolytheneErrorOptions } from './polythene-error.ts';
export { hasErrorCode, isPolytheneError, PolytheneError } from './polythene-error.ts';
