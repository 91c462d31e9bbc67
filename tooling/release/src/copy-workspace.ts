import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';

/**
 * Copies the workspace under `root` as it is on disk (tracked and new files, minus what git
 * ignores: no node_modules, dist or release folder) into a fresh temporary directory, and
 * returns its path. The copy has no `.git`: nothing done in it can be committed.
 */
export async function copyWorkspace(root: string): Promise<string> {
  const copy = await mkdtemp(join(tmpdir(), 'polythene-release-'));
  const files = await execa(
    'git',
    ['ls-files', '-z', '--cached', '--others', '--exclude-standard'],
    {
      cwd: root,
    },
  );
  // Files deleted in the work tree but still in the index are skipped (`--ignore-failed-read`).
  const packed = execa('tar', ['--null', '--ignore-failed-read', '-T', '-', '-cf', '-'], {
    cwd: root,
    input: files.stdout,
    encoding: 'buffer',
  });
  await packed.pipe('tar', ['-xf', '-'], { cwd: copy });
  return copy;
}
