import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { removeWhenDone } from './run-polythene.ts';

/**
 * Runs a shell script as root in a mount namespace of its own where `/etc` is an overlay on
 * the host's: what it writes there (usermod, an AppArmor profile) really happens, and the
 * host's `/etc` stays as it was. For tests of `polythene doctor --fix`.
 */
export async function runWithPrivateEtc(
  script: string,
): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const scratch = removeWhenDone(await mkdtemp(join(tmpdir(), 'polythene-doctor-etc-')));
  const prologue = [
    'set -e',
    `mkdir -p ${scratch}/upper ${scratch}/work`,
    `mount -t overlay overlay -o lowerdir=/etc,upperdir=${scratch}/upper,workdir=${scratch}/work /etc`,
  ];
  const run = await execa(
    'unshare',
    ['--mount', '--propagation', 'private', 'sh', '-c', [...prologue, script].join('\n')],
    { reject: false },
  );
  return { exitCode: run.exitCode ?? -1, stdout: run.stdout, stderr: run.stderr };
}
