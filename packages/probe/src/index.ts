export type {
  AvailableProbe,
  Backend,
  BackendFactory,
  BindMount,
  Guarantee,
  MissingTool,
  NetworkMode,
  OverlayLayers,
  ProbeContext,
  ProbeResult,
  PublishedPort,
  RunNetwork,
  RunResult,
  RunSpec,
  RunTerminal,
  SpawnHooks,
  UnavailableProbe,
} from './backend.ts';
export { ALL_GUARANTEES, NETWORK_MODES } from './backend.ts';
export type { BackendRegistry } from './backend-registry.ts';
export { createRegistry } from './backend-registry.ts';
export type {
  CgroupHierarchies,
  CgroupSources,
  LimitController,
  LimitsEnforcement,
} from './cgroups/find-cgroup-hierarchies.ts';
export { findCgroupHierarchies } from './cgroups/find-cgroup-hierarchies.ts';
export type { CgroupMove, ProcessCgroupSources } from './cgroups/process-cgroups.ts';
export { findRunCgroupMoves, joinRunCgroupsOf } from './cgroups/process-cgroups.ts';
export type {
  ResourceLimits,
  RunCgroup,
  RunCgroupOptions,
  RunCgroupUsage,
} from './cgroups/run-cgroup.ts';
export { createRunCgroup, startRunCgroup } from './cgroups/run-cgroup.ts';
export { RUN_CGROUP_PREFIX } from './cgroups/run-cgroup-name.ts';
export { sweepStaleRunCgroups } from './cgroups/stale-run-cgroups.ts';
export { createProbeContext } from './create-probe-context.ts';
export type {
  BackendDescription,
  DescribeBackendsOptions,
  UnavailableNetworkMode,
} from './describe-backends.ts';
export { describeBackends } from './describe-backends.ts';
export { formatLostWarning } from './format-lost-warning.ts';
export { formatProbeFailure } from './format-probe-failure.ts';
export { computeHostFingerprint, readProcessRestrictions } from './host-fingerprint.ts';
export {
  CONTAINER_DEFAULT_CAPABILITIES,
  KNOWN_CAPABILITIES,
  normalizeCapabilityName,
  resolveCapabilities,
  toCapabilityMask,
} from './ids/container-capabilities.ts';
export type { IdMap, IdMapInputs, IdMapPlan } from './ids/plan-id-map.ts';
export { BOX_ID_COUNT, planIdMap, readIdMapInputs } from './ids/plan-id-map.ts';
export type { IdRange } from './ids/read-subordinate-ids.ts';
export { parseSubordinateIds, readSubordinateIds } from './ids/read-subordinate-ids.ts';
export type { OverlayMount } from './ids/wrap-in-user-namespace.ts';
export {
  findUsernsHelper,
  USERNS_HELPER,
  wrapInUserNamespace,
} from './ids/wrap-in-user-namespace.ts';
export type { IsolationPolicyOptions, LostGuarantee } from './isolation-policy.ts';
export { checkIsolationPolicy, findLostGuarantees } from './isolation-policy.ts';
export type { LoadBackendModuleOptions } from './load-backend-module.ts';
export { loadBackendModule } from './load-backend-module.ts';
export type { OpenPrivateDirectoryOptions, PrivateDirectory } from './open-private-directory.ts';
export { openPrivateDirectory } from './open-private-directory.ts';
export { orderBackends } from './order-backends.ts';
export { parseBackendList } from './parse-backend-list.ts';
export type { ProbeBackendOptions, ProbeOutcome } from './probe-backend.ts';
export { probeBackend } from './probe-backend.ts';
export type { ProbeCache, ProbeCacheOptions } from './probe-cache.ts';
export { createProbeCache, resolveProbeCachePath } from './probe-cache.ts';
export type { UserNamespaceKnobs } from './read-user-namespace-knobs.ts';
export { readUserNamespaceKnobs } from './read-user-namespace-knobs.ts';
export { assertCommandGiven } from './run/assert-command-given.ts';
export type { PrivateNetworkAttachOptions } from './run/attach-private-network.ts';
export { attachPrivateNetwork, findSlirp } from './run/attach-private-network.ts';
export type { BecomeUserCommand } from './run/become-user.ts';
export { BECOME_HELPER, wrapCommandToBecomeUser } from './run/become-user.ts';
export type { BoundedCapture } from './run/bounded-capture.ts';
export { createBoundedCapture } from './run/bounded-capture.ts';
export type { PrivateNetworkCheck } from './run/check-private-network.ts';
export { checkPrivateNetwork } from './run/check-private-network.ts';
export { checkRunSpec } from './run/check-run-spec.ts';
export { checkTunAccess, describeTunProblem, TUN_DEVICE } from './run/check-tun-access.ts';
export type { DecodedExit } from './run/decode-exit-code.ts';
export { decodeExitCode, getSignalNumber } from './run/decode-exit-code.ts';
export {
  DEVICE_COPIES_DIR,
  ensureDeviceCopies,
  ensurePrivateDirectory,
  findDeviceCopies,
  listDeviceCopyNames,
  listHostDevices,
  MINIMAL_DEVICES,
} from './run/device-copies.ts';
export { findExecutable } from './run/find-executable.ts';
export { locateInRootfs } from './run/locate-in-rootfs.ts';
export type { BlockPipe } from './run/open-block-pipe.ts';
export { openBlockPipe } from './run/open-block-pipe.ts';
export type { PrivateNetwork, PrivateNetworkOptions } from './run/private-network.ts';
export { startPrivateNetwork } from './run/private-network.ts';
export type { ProcStat } from './run/proc-tree.ts';
export {
  isProcessAlive,
  killDescendants,
  killProcessGroupExcept,
  killProcessTree,
  listChildPids,
  listDescendantPids,
  listProcesses,
  readProcStat,
  sendSignal,
} from './run/proc-tree.ts';
export { resolveBindTargets } from './run/resolve-bind-targets.ts';
export type { OverlayTrialLayers } from './run/run-overlay-trial.ts';
export { runOverlayTrial } from './run/run-overlay-trial.ts';
export type { QuietRunOptions, QuietRunResult } from './run/run-quietly.ts';
export { runQuietly } from './run/run-quietly.ts';
export { createRunTempDir, sweepStaleRunTempDirs } from './run/run-temp-dir.ts';
export type { SideChannelFile } from './run/side-channel-file.ts';
export { openSideChannelFile } from './run/side-channel-file.ts';
export type {
  BackendExit,
  CommandOutcome,
  RunControls,
  SuperviseOptions,
} from './run/supervise-process.ts';
export { DEFAULT_MAX_OUTPUT_BYTES, superviseProcess } from './run/supervise-process.ts';
export type { TerminalHelper } from './run/terminal-relay.ts';
export {
  BOX_HELPERS_DIR,
  findTerminalHelper,
  relayTerminal,
  TERMINAL_HELPER,
  wrapCommandForTerminal,
} from './run/terminal-relay.ts';
export type {
  BackendSelection,
  ExcludedBackend,
  SelectBackendOptions,
  SkippedBackend,
} from './select-backend.ts';
export { selectBackend } from './select-backend.ts';
