import { ALL_GUARANTEES, type BackendDescription, type Guarantee } from '@polythene/probe';
import type { DoctorCheck } from './doctor-types.ts';

/**
 * Guarantees whose loss doctor reports as a warning, not a failure: without a subordinate id
 * range a box maps one id, which confines the command as well but fails chown to other ids;
 * the subordinate-id checks above carry the fix.
 */
const WARN_ONLY_GUARANTEES: readonly string[] = ['ids'];

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
  const failing = missing.filter((guarantee) => !WARN_ONLY_GUARANTEES.includes(guarantee));
  if (primary.available && missing.length > 0 && failing.length === 0) {
    checks.push({
      id: 'backend.default',
      group,
      title: 'default backend',
      state: 'warn',
      detail: `${primary.name} runs without ${missing.join(', ')}: one id is mapped in the box, so chown to other ids fails`,
      fix: {
        summary: 'give this user a subordinate id range (see subordinate ids above)',
        commands: [],
      },
    });
    return checks;
  }
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
