export type { BwrapDeviceCopies, BwrapHelperPaths } from './build-bwrap-args.ts';
export {
  BWRAP_FDS,
  buildBwrapArgs,
  buildBwrapCommandLine,
  buildRootCommandArgs,
  findBwrapDeviceCopies,
} from './build-bwrap-args.ts';
export { createBwrapBackend } from './create-bwrap-backend.ts';
export type { BwrapStatus } from './parse-bwrap-status.ts';
export { parseBwrapStatus } from './parse-bwrap-status.ts';
export type { BwrapRunPlan } from './plan-bwrap-run.ts';
export { planBwrapRun } from './plan-bwrap-run.ts';
export type { BwrapDetails } from './probe-bwrap.ts';
export {
  describeRefusal,
  findUserNamespaceRefusal,
  probeBwrap,
  readBwrapDetails,
} from './probe-bwrap.ts';
