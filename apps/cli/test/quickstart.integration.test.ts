import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
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

describe('the set-up script on a machine that has everything installed', () => {
  it('prints its step line alone: no line that reads as an error, no turbo telemetry banner', async () => {
    // A copy of this checkout's files (tracked and new, not ignored: no node_modules, no
    // dist), so that its install and build never touch the files the other tests run. Its
    // build replays this checkout's turbo cache, so it takes seconds. An empty config home:
    // turbo shows its telemetry banner once per machine, so a machine that saw it would hide
    // it otherwise.
    const dir = removeWhenDone(await mkdtemp(join(tmpdir(), 'polythene-setup-')));
    const copy = join(dir, 'checkout');
    const configHome = join(dir, 'config');
    await mkdir(copy);
    await mkdir(configHome);
    await execa(
      'bash',
      [
        '-o',
        'pipefail',
        '-c',
        'git ls-files -co --exclude-standard -z | tar --null -T - -cf - | tar -C "$1" -xf - && git -C "$1" init -q',
        'copy',
        copy,
      ],
      { cwd: repoRoot },
    );
    const { stdout: commonDir } = await execa(
      'git',
      ['rev-parse', '--path-format=absolute', '--git-common-dir'],
      { cwd: repoRoot },
    );
    const run = await execa('bash', ['tooling/scripts/setup.sh'], {
      cwd: copy,
      reject: false,
      env: {
        TURBO_CACHE_DIR: join(dirname(commonDir), '.turbo', 'cache'),
        XDG_CONFIG_HOME: configHome,
      },
      timeout: 600_000,
    });
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout).toBe('');
    expect(run.stderr).not.toMatch(/telemetry|attention/i);
    const lines = run.stderr.split('\n').filter((line) => line.trim() !== '');
    expect(lines).toContain('setup: installing dependencies and building');
    for (const line of lines) {
      expect(line).toMatch(/^setup: /);
      expect(line).not.toMatch(/error|fail|warn|not known|denied|cannot/i);
    }
  }, 620_000);
});
