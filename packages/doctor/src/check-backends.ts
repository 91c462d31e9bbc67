import { ALL_GUARANTEES, type BackendDescription, type Guarantee } from '@polythene/probe';
import type { DoctorCheck } from './doctor-types.ts';

/**
 * The isolation guarantees the default backend must give for doctor to pass. Only the ones
 * this version of polythene knows are asked for (a guarantee added later, such as
 * `filesystem` or `ids`, joins the list by its name).
 */
export const REQUIRED_GUARANTEES: readonly Guarantee[] = (
  ['network', 'pid', 'ipc', 'uts', 'proc', 'dev', 'filesystem', 'ids'] as string[]
).filter((name): name is Guarantee => (ALL_GUARANTEES as readonly string[]).includes(name));

const group = 'backends' as const;

/**
 * One line per backend, then the verdict: the default backend (the first in probe order,
 * bubblewrap) available here with every required guarantee.
 */
export function checkBackends(
  descriptions: readonly BackendDescription[],
  rootLacksSysAdmin = false,
): DoctorCheck[] {
  const checks: DoctorCheck[] = descriptions.map((backend) => ({
    id: `backend.${backend.name}`,
    group,
    title: backend.name,
    state: 'info',
    detail: backend.available
      ? `available${backend.version ? ` (${backend.version})` : ''}: enforces ${backend.guarantees.join(', ') || 'nothing'}${backend.lost.length > 0 ? `; lost: ${backend.lost.map((lost) => `${lost.guarantee} (${lost.reason})`).join('; ')}` : ''}`
      : `unavailable: ${backend.reason ?? 'unknown reason'}`,
  }));
  const primary = descriptions[0];
  if (primary === undefined) {
    return [
      {
        id: 'backend.default',
        group,
        title: 'default backend',
        state: 'fail',
        detail: 'no backend is registered',
      },
    ];
  }
  const missing = primary.available
    ? REQUIRED_GUARANTEES.filter((guarantee) => !primary.guarantees.includes(guarantee))
    : [...REQUIRED_GUARANTEES];
  checks.push(
    missing.length === 0
      ? {
          id: 'backend.default',
          group,
          title: 'default backend',
          state: 'ok',
          detail: `${primary.name} gives ${REQUIRED_GUARANTEES.join(', ')}`,
        }
      : {
          id: 'backend.default',
          group,
          title: 'default backend',
          state: 'fail',
          detail: primary.available
            ? `${primary.name} runs without ${missing.join(', ')}`
            : `${primary.name} is unavailable (${primary.reason ?? 'unknown'}): commands would run with fewer guarantees`,
          fix: rootLacksSysAdmin
            ? { summary: 'see CAP_SYS_ADMIN above', commands: [] }
            : primary.missing
              ? {
                  summary: `install ${primary.missing.tool}`,
                  commands: [`sudo apt-get install -y ${primary.missing.debianPackage}`],
                }
              : {
                  summary: 'allow user namespaces for it (see the user namespace checks above)',
                  commands: ['polythene doctor --fix'],
                },
        },
  );
  return checks;
}
