import { spawnSync } from 'node:child_process';
import type { DoctorCheck } from './doctor-types.ts';

/** Inputs of {@link checkPodman}. */
export interface PodmanInputs {
  /** podman's path on PATH, or undefined. */
  readonly podman: string | undefined;
  /** The environment polythene runs podman with. */
  readonly env: Readonly<Record<string, string>>;
  readonly isRoot: boolean;
}

const group = 'podman' as const;

function runPodman(podman: string, args: string[], env: Readonly<Record<string, string>>) {
  const result = spawnSync(podman, args, {
    env,
    encoding: 'utf8',
    timeout: 20_000,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const error =
    (result.stderr ?? '').trim().split('\n').filter(Boolean).pop() ?? result.error?.message ?? '';
  return { ok: result.status === 0, stdout: (result.stdout ?? '').trim(), error };
}

/**
 * podman's version, storage driver and, for an unprivileged user, whether rootless podman
 * works. Only `pull` needs podman; exec runs without it.
 */
export function checkPodman(inputs: PodmanInputs): DoctorCheck[] {
  if (inputs.podman === undefined) {
    return [
      {
        id: 'podman.installed',
        group,
        title: 'podman',
        state: 'warn',
        detail: 'not installed: `polythene pull` needs it (exec does not)',
        fix: { summary: 'install podman', commands: ['sudo apt-get install -y podman uidmap'] },
      },
    ];
  }
  const version = runPodman(
    inputs.podman,
    ['version', '--format', '{{.Client.Version}}'],
    inputs.env,
  );
  const checks: DoctorCheck[] = [
    {
      id: 'podman.installed',
      group,
      title: 'podman',
      state: version.ok ? 'info' : 'warn',
      detail: version.ok
        ? `${inputs.podman} ${version.stdout}`
        : `${inputs.podman}: ${version.error}`,
    },
  ];
  const info = runPodman(
    inputs.podman,
    ['info', '--format', '{{.Store.GraphDriverName}} {{.Host.Security.Rootless}}'],
    inputs.env,
  );
  if (!info.ok) {
    checks.push({
      id: 'podman.works',
      group,
      title: inputs.isRoot ? 'podman works' : 'rootless podman works',
      state: 'warn',
      detail: info.error,
      fix: {
        summary: inputs.isRoot
          ? 'repair podman'
          : 'give this user subordinate ids, then migrate podman',
        commands: inputs.isRoot
          ? ['podman info']
          : ['polythene doctor --fix', 'podman system migrate'],
      },
    });
    return checks;
  }
  const [driver, rootless] = info.stdout.split(' ');
  checks.push({
    id: 'podman.works',
    group,
    title: inputs.isRoot ? 'podman works' : 'rootless podman works',
    state: 'ok',
    detail: `storage driver ${driver ?? '?'}${rootless === 'true' ? ', rootless' : ''}`,
  });
  return checks;
}
