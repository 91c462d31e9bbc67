import type { LostGuarantee } from './isolation-policy.ts';

/**
 * The one warning line of a run on a backend that lost some guarantees: their names, where
 * the reasons are (`polythene backends`), and, for a lost guarantee whose reason carries a
 * fix in backquotes (`ids`: the `usermod --add-subuids …` or `apt install uidmap` line),
 * that fix, so a user who sees only this line knows what to run.
 */
export function formatLostWarning(backendName: string, lost: readonly LostGuarantee[]): string {
  const names = lost.map((entry) => entry.guarantee).join(', ');
  const fixes = lost.flatMap((entry) => {
    const fix = /`([^`]+)`/.exec(entry.reason)?.[1];
    return entry.guarantee === 'ids' && fix !== undefined ? [`for ${entry.guarantee}: ${fix}`] : [];
  });
  const tail = fixes.length > 0 ? `; ${fixes.join('; ')}` : '';
  return `${backendName} runs without ${names} isolation (see polythene backends; --strict refuses)${tail}`;
}
