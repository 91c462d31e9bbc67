import { statSync } from 'node:fs';
import { join } from 'node:path';
import type { DoctorCheck, DoctorUser, HostPaths } from './doctor-types.ts';
import { readKnob } from './read-knob.ts';

/** One line of `/etc/subuid` or `/etc/subgid`. */
export interface SubordinateRange {
  /** The login name or uid the line names. */
  readonly owner: string;
  readonly first: number;
  readonly count: number;
}

/** The ranges a `subuid`/`subgid` file grants, skipping malformed lines. */
export function parseSubordinateFile(text: string): SubordinateRange[] {
  const ranges: SubordinateRange[] = [];
  for (const line of text.split('\n')) {
    const [owner, first, count] = line.trim().split(':');
    if (owner === undefined || owner === '' || first === undefined || count === undefined) continue;
    if (!/^\d+$/.test(first) || !/^\d+$/.test(count)) continue;
    ranges.push({ owner, first: Number(first), count: Number(count) });
  }
  return ranges;
}

/** How many ids a full in-box range needs beyond the user's own: 1–65535. */
export const FULL_RANGE_COUNT = 65536;

/**
 * The first id of a free range of `count` ids above every range in `ranges`, aligned to
 * 65536 and at least 100000, as useradd allocates them.
 */
export function findFreeRange(
  ranges: readonly SubordinateRange[],
  count: number = FULL_RANGE_COUNT,
): number {
  const end = ranges.reduce(
    (highest, range) => Math.max(highest, range.first + range.count),
    100000,
  );
  return Math.ceil(end / count) * count;
}

/** Inputs of {@link checkSubordinateIds}. */
export interface SubordinateIdInputs {
  readonly paths: HostPaths;
  readonly user: DoctorUser;
  /** Where `newuidmap`/`newgidmap` were found on PATH, or undefined. */
  readonly newuidmap: string | undefined;
  readonly newgidmap: string | undefined;
}

const group = 'subordinate ids' as const;

/**
 * The user's `/etc/subuid` and `/etc/subgid` ranges and the setuid `newuidmap`/`newgidmap`
 * that map them: what a user namespace with a full id range needs.
 */
export function checkSubordinateIds(inputs: SubordinateIdInputs): DoctorCheck[] {
  const { paths, user } = inputs;
  const subuid = parseSubordinateFile(readKnob(join(paths.etc, 'subuid')) ?? '');
  const subgid = parseSubordinateFile(readKnob(join(paths.etc, 'subgid')) ?? '');
  const first = findFreeRange([...subuid, ...subgid]);
  const fix = {
    summary: `give ${user.name} a range of ${FULL_RANGE_COUNT} subordinate ids`,
    commands: [
      `sudo usermod --add-subuids ${first}-${first + FULL_RANGE_COUNT - 1} --add-subgids ${first}-${first + FULL_RANGE_COUNT - 1} ${user.name}`,
    ],
    automatic: {
      kind: 'subordinate-ids',
      user: user.name,
      first,
      count: FULL_RANGE_COUNT,
    } as const,
  };
  const checks: DoctorCheck[] = [];
  for (const [file, ranges] of [
    ['subuid', subuid],
    ['subgid', subgid],
  ] as const) {
    const own = ranges.filter(
      (range) => range.owner === user.name || range.owner === String(user.uid),
    );
    const total = own.reduce((sum, range) => sum + range.count, 0);
    const shown = own.map((range) => `${range.first}+${range.count}`).join(', ');
    checks.push(
      total >= FULL_RANGE_COUNT - 1
        ? {
            id: `ids.${file}`,
            group,
            title: `/etc/${file}`,
            state: 'ok',
            detail: `${user.name}: ${shown}`,
          }
        : {
            id: `ids.${file}`,
            group,
            title: `/etc/${file}`,
            state: 'warn',
            detail:
              total === 0
                ? `no range for ${user.name}: a box maps only one id`
                : `${user.name} has ${total} ids (${shown}); a full box needs ${FULL_RANGE_COUNT - 1}`,
            fix,
          },
    );
  }
  for (const [tool, path] of [
    ['newuidmap', inputs.newuidmap],
    ['newgidmap', inputs.newgidmap],
  ] as const) {
    checks.push(checkMapTool(tool, path));
  }
  return checks;
}

function checkMapTool(tool: string, path: string | undefined): DoctorCheck {
  const fix = { summary: `install ${tool}`, commands: ['sudo apt-get install -y uidmap'] };
  if (path === undefined) {
    return { id: `ids.${tool}`, group, title: tool, state: 'warn', detail: 'not installed', fix };
  }
  let mode = 0;
  let ownerUid = -1;
  try {
    const stats = statSync(path);
    mode = stats.mode;
    ownerUid = stats.uid;
  } catch {
    return {
      id: `ids.${tool}`,
      group,
      title: tool,
      state: 'warn',
      detail: `${path}: cannot stat`,
      fix,
    };
  }
  // Debian installs both setuid root; some distributions use file capabilities instead,
  // which only a real mapping would tell, so those are reported, not failed.
  const isSetuidRoot = (mode & 0o4000) !== 0 && ownerUid === 0;
  return isSetuidRoot
    ? { id: `ids.${tool}`, group, title: tool, state: 'ok', detail: `${path} (setuid root)` }
    : {
        id: `ids.${tool}`,
        group,
        title: tool,
        state: 'warn',
        detail: `${path} is not setuid root (file capabilities are not checked)`,
        fix: {
          summary: `reinstall ${tool}`,
          commands: ['sudo apt-get install --reinstall -y uidmap'],
        },
      };
}
