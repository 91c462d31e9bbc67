export type {
  ConformanceCheck,
  ConformanceCheckResult,
  ConformanceContext,
  TextRunResult,
} from './conformance-checks.ts';
export {
  CONFORMANCE_CHECKS,
  findNotApplicable,
  HOST_SECRETS,
  runConformanceChecks,
  verifyHonesty,
} from './conformance-checks.ts';
export type { BackendConformanceSuiteOptions } from './define-backend-conformance-suite.ts';
export { defineBackendConformanceSuite } from './define-backend-conformance-suite.ts';
export type { ScriptedConformanceSuiteOptions } from './define-scripted-conformance-suite.ts';
export {
  CONFORMANCE_SCRIPT_PATH,
  defineScriptedConformanceSuite,
} from './define-scripted-conformance-suite.ts';
export type { SigkillCheckOptions } from './define-sigkill-check.ts';
export { defineSigkillCheck } from './define-sigkill-check.ts';
