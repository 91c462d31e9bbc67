export type { ProfileVerdict } from './apparmor-profile.ts';
export { buildAppArmorProfile, judgeAppArmorProfile, profileNameFor } from './apparmor-profile.ts';
export type {
  AppliedFix,
  ApplyDoctorFixesOptions,
  FixCommandRunner,
} from './apply-doctor-fixes.ts';
export { applyDoctorFixes } from './apply-doctor-fixes.ts';
export { REQUIRED_GUARANTEES } from './check-backends.ts';
export type { CgroupFindings, CgroupVersion } from './check-cgroups.ts';
export { findCgroups } from './check-cgroups.ts';
export type { SubordinateRange } from './check-subordinate-ids.ts';
export { findFreeRange, parseSubordinateFile } from './check-subordinate-ids.ts';
export type {
  AutomaticFix,
  CheckGroup,
  CheckState,
  DoctorCheck,
  DoctorFix,
  DoctorUser,
  HostPaths,
} from './doctor-types.ts';
export { REAL_HOST_PATHS } from './doctor-types.ts';
export type { DoctorOptions, DoctorReport } from './run-doctor.ts';
export { findRunningUser, runDoctor } from './run-doctor.ts';
