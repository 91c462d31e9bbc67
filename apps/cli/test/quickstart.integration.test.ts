import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { removeWhenDone, UUID_PATTERN } from './run-polythene.ts';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

describe('the quickstart on a machine whose podman has no test images yet', () => {
  it('prints the steps, the UUID and the command output, and no line that reads as an error', async () => {
    // A podman storage of its own: the first build of the test images happens here, whatever
    // the machine's own podman holds.
    const dir = removeWhenDone(await mkdtemp(join(tmpdir(), 'polythene-quickstart-')));
    const storageConf = join(dir, 'storage.conf');
    await writeFile(
      storageConf,
      `[storage]\ndriver = "vfs"\ngraphroot = "${dir}/graph"\nrunroot = "${dir}/run"\n`,
    );
    const run = await execa('bash', ['tooling/scripts/quickstart.sh'], {
      cwd: repoRoot,
      reject: false,
      env: {
        CONTAINERS_STORAGE_CONF: storageConf,
        POLYTHENE_STORE: join(dir, 'store'),
        POLYTHENE_QUICKSTART_NO_SETUP: '1',
      },
      timeout: 300_000,
    });
    expect(run.exitCode, run.stderr).toBe(0);
    const [uuid, uname, greeting, ...rest] = run.stdout.split('\n');
    expect(uuid).toMatch(UUID_PATTERN);
    expect(uname).toMatch(/^Linux /);
    expect(greeting).toBe('hello from inside the rootfs');
    expect(rest).toEqual([]);
    const stderr = run.stderr.split('\n');
    expect(stderr).toContain('test-images: building the local test images (first run)');
    for (const line of stderr) {
      expect(line).toMatch(/^(\+ polythene |test-images: building the local test images)/);
      expect(line).not.toMatch(/fail|error|not known/i);
    }
  }, 320_000);
});
