import {
  findUsernsHelper,
  type IdMap,
  planIdMap,
  readIdMapInputs,
  runQuietly,
  wrapInUserNamespace,
} from '@polythene/probe';

/** What {@link probeIdMap} found: the map a uid-0 box gets, or why it gets one id only. */
export type IdMapProbe =
  | { readonly map: IdMap; readonly helper: string }
  | { readonly map?: undefined; readonly lostReason: string };

/**
 * Decides the user namespace of a uid-0 box (see `planIdMap`) and tries it once: the helper
 * creates the namespace and bwrap starts a sandbox inside it with `sandboxArgs`. A refusal
 * (newuidmap denying the range, a kernel limit) is the `ids` guarantee's lost reason.
 */
export async function probeIdMap(
  hostEnv: Readonly<Record<string, string | undefined>>,
  bwrapPath: string,
  sandboxArgs: readonly string[],
): Promise<IdMapProbe> {
  const plan = planIdMap(readIdMapInputs(hostEnv));
  if (!plan.available) return { lostReason: plan.reason };
  const helper = findUsernsHelper();
  if (helper === undefined) {
    return {
      lostReason:
        'the native helper polythene-userns is missing (reinstall @polythene/native), so only one id is mapped',
    };
  }
  const [file, ...args] = wrapInUserNamespace(helper, plan.map, [
    bwrapPath,
    ...sandboxArgs,
    '--',
    bwrapPath,
    '--version',
  ]);
  const trial = await runQuietly(file as string, args);
  if (trial.exitCode !== 0) {
    const line = trial.stderr.trim().split('\n').at(-1) ?? '';
    return {
      lostReason: `a user namespace with the id map "${plan.map.uidMap}" could not be created (${line}), so only one id is mapped; check /etc/subuid and /etc/subgid`,
    };
  }
  return { map: plan.map, helper };
}

/** The probe's `details` keys that carry an {@link IdMapProbe} to `run`. */
export function describeIdMap(probe: IdMapProbe): Record<string, string> {
  if (probe.map === undefined) return { usernsHelper: '' };
  return {
    usernsHelper: probe.helper,
    uidMap: probe.map.uidMap,
    gidMap: probe.map.gidMap,
    newuidmap: probe.map.newuidmap ?? '',
    newgidmap: probe.map.newgidmap ?? '',
  };
}

/** Reads {@link describeIdMap}'s keys back; undefined when the probe found no full map. */
export function readIdMapDetails(
  details: Readonly<Record<string, string | boolean>>,
): { readonly map: IdMap; readonly helper: string } | undefined {
  const text = (key: string): string => {
    const value = details[key];
    return typeof value === 'string' ? value : '';
  };
  if (text('usernsHelper') === '' || text('uidMap') === '' || text('gidMap') === '') {
    return undefined;
  }
  const newuidmap = text('newuidmap');
  const newgidmap = text('newgidmap');
  return {
    helper: text('usernsHelper'),
    map: {
      uidMap: text('uidMap'),
      gidMap: text('gidMap'),
      ...(newuidmap === '' || newgidmap === '' ? {} : { newuidmap, newgidmap }),
    },
  };
}
