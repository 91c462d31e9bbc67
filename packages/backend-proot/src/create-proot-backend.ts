import { PolytheneError } from '@polythene/errors';
import type { Backend, RunResult, RunSpec } from '@polythene/probe';
import { checkRunSpec, decodeExitCode, getSignalNumber, superviseProcess } from '@polythene/probe';
import { buildProotArgs, extractProotNotices } from './build-proot-args.ts';
import { probeProot, prootArgsOptionsFrom, readProotDetails } from './probe-proot.ts';

const reportedSignals = [
  'SIGHUP',
  'SIGINT',
  'SIGQUIT',
  'SIGILL',
  'SIGTRAP',
  'SIGABRT',
  'SIGBUS',
  'SIGFPE',
  'SIGKILL',
  'SIGUSR1',
  'SIGSEGV',
  'SIGUSR2',
  'SIGPIPE',
  'SIGALRM',
  'SIGTERM',
] as const;

// The name of a signal proot reports by number, among those it reports.
function signalNamed(signalNumber: number): NodeJS.Signals | undefined {
  return reportedSignals.find((name) => getSignalNumber(name) === signalNumber);
}

/**
 * Creates the proot backend: runs without root and without user namespaces by tracing system
 * calls, so it works on locked-down CI runners, but enforces no namespace: no network cut,
 * host processes and /proc visible. Says so in its probe.
 */
export function createProotBackend(): Backend {
  return {
    name: 'proot',
    binaries: ['proot', 'setpriv'],
    // Bump when the probe's result changes meaning (2: canOverlay).
    probeRevision: '2',
    description:
      'proot: ptrace-based chroot emulation, no root or namespaces needed; no network or pid isolation',
    probe: probeProot,
    run: runWithProot,
  };
}

async function runWithProot(spec: RunSpec): Promise<RunResult> {
  checkRunSpec(spec, 'proot');
  const readOnly = spec.binds.find((bind) => bind.readOnly);
  if (readOnly !== undefined) {
    throw new PolytheneError(
      'POLYTHENE_SETUP_FAILED',
      `proot cannot make the bind ${readOnly.source}:${readOnly.target} read-only; bind it read-write or use --isolation=bwrap or chroot`,
    );
  }
  const details = readProotDetails(spec.probe.details);
  const { file, args } = buildProotArgs(
    spec,
    prootArgsOptionsFrom(details, process.geteuid?.() === 0),
  );
  return superviseProcess({
    backend: 'proot',
    file,
    args,
    // proot passes its own environment to the command unchanged: it must be exactly the spec's.
    env: spec.env,
    controls: spec,
    // The command is proot's first child; processes it leaves behind stay in proot's group.
    killLeftoversWhenCommandEnds: !details.hasKillOnExit,
    // proot tells a signal death and its own set-up errors only on stderr: read them there.
    backendNoticePrefixes: ['proot info: ', 'proot error: ', 'proot warning: '],
    interpretExit: (exit) => {
      const notices =
        exit.stderr === undefined
          ? undefined
          : extractProotNotices(new TextDecoder().decode(exit.stderr));
      const stderr =
        notices === undefined ? {} : { stderr: new TextEncoder().encode(notices.stderr) };
      if (exit.code === null) {
        return {
          exitCode: null,
          signal: exit.killedBySupervisor ? 'SIGKILL' : exit.signal,
          ...stderr,
        };
      }
      // proot reports a command killed by a signal as 255 plus a notice; a killed tree is SIGKILL.
      if (exit.code === 255 && notices?.signalNumber !== undefined) {
        return {
          exitCode: null,
          signal: signalNamed(notices.signalNumber) ?? 'SIGKILL',
          ...stderr,
        };
      }
      if (exit.killedBySupervisor) return { exitCode: null, signal: 'SIGKILL', ...stderr };
      if (
        exit.code === 1 &&
        notices !== undefined &&
        /^proot error: /m.test(new TextDecoder().decode(exit.stderr))
      ) {
        const line = new TextDecoder()
          .decode(exit.stderr)
          .split('\n')
          .find((text) => text.startsWith('proot error: '));
        throw new PolytheneError(
          'POLYTHENE_SETUP_FAILED',
          `proot could not start the command: ${line}`,
        );
      }
      return { ...decodeExitCode(exit.code), ...stderr };
    },
  });
}
