export type {
  AvailableProbe,
  Backend,
  BackendFactory,
  BindMount,
  Guarantee,
  MissingTool,
  ProbeContext,
  ProbeResult,
  RunResult,
  RunSpec,
  UnavailableProbe,
} from './backend.ts';
export { ALL_GUARANTEES } from './backend.ts';
