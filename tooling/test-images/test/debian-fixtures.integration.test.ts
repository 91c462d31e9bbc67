import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AptRepository,
  type DebCache,
  type DebianImage,
  ensureDebCache,
  ensureDebianImage,
  startAptRepository,
} from '../src/index.ts';

const isRoot = process.getuid?.() === 0;
const hasTool = async (tool: string, args: string[]) =>
  (await execa(tool, args, { reject: false })).exitCode === 0;
const hasTools =
  (await hasTool('podman', ['--version'])) &&
  (await hasTool('debootstrap', ['--version'])) &&
  (await hasTool('apt-ftparchive', ['--help']));

async function listTar(tarPath: string, member: string): Promise<string> {
  const { stdout } = await execa('tar', [
    '--list',
    '--verbose',
    '--numeric-owner',
    '--file',
    tarPath,
    member,
  ]);
  return stdout;
}

describe.skipIf(!isRoot || !hasTools)(
  'Debian fixtures (root; needs podman, debootstrap, apt-utils and the Debian mirror)',
  () => {
    let image: DebianImage;
    let debs: DebCache;
    let repository: AptRepository | undefined;

    beforeAll(async () => {
      image = await ensureDebianImage();
      debs = await ensureDebCache(['hello', 'cron']);
    }, 1_200_000);

    afterAll(async () => {
      await repository?.stop();
    });

    it('imports a debootstrap minbase bookworm with its stamp label', async () => {
      expect(image.ref).toBe('localhost/polythene-test/debian:bookworm');
      const { stdout } = await execa('podman', [
        'image',
        'inspect',
        '--format',
        '{{index .Labels "io.polythene.test-images.stamp"}}',
        image.ref,
      ]);
      expect(stdout.trim()).toMatch(/^debian-bookworm-minbase-/);
      const osRelease = await execa('tar', [
        '--extract',
        '--to-stdout',
        '--file',
        image.tarPath,
        './usr/lib/os-release',
      ]);
      expect(osRelease.stdout).toContain('VERSION_CODENAME=bookworm');
    });

    it('keeps numeric owners and setuid bits in the archive', async () => {
      // Debian's /var/mail is root:mail (gid 8) with setgid; /usr/bin/passwd is setuid root.
      expect(await listTar(image.tarPath, './var/mail/')).toMatch(/^drwxrwsr-x 0\/8 /);
      expect(await listTar(image.tarPath, './usr/bin/passwd')).toMatch(/^-rwsr-xr-x 0\/0 /);
    });

    it('answers the second call from the cache', async () => {
      const started = performance.now();
      expect(await ensureDebianImage()).toEqual(image);
      expect(await ensureDebCache(['cron', 'hello'])).toEqual(debs);
      expect(performance.now() - started).toBeLessThan(5_000);
    });

    it('downloads the packages and only the dependencies the image lacks', () => {
      expect(debs.files.some((name) => name.startsWith('hello_'))).toBe(true);
      expect(debs.files.some((name) => name.startsWith('cron_'))).toBe(true);
      expect(debs.files.some((name) => name.startsWith('cron-daemon-common_'))).toBe(true);
      // libc6 and apt's own dependencies are part of minbase already.
      expect(debs.files.some((name) => name.startsWith('apt_'))).toBe(false);
      expect(debs.dir).not.toContain('/work/');
    });

    it('serves the debs as a flat APT repository on loopback', async () => {
      repository = await startAptRepository(debs.dir);
      expect(repository.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
      expect(repository.sourcesLine).toBe(`deb [trusted=yes] ${repository.url} ./`);
      const packages = await (await fetch(new URL('Packages', repository.url))).text();
      expect(packages).toMatch(/^Package: hello$/m);
      expect(packages).toMatch(/^Filename: \.\/hello_.*\.deb$/m);
      const release = await (await fetch(new URL('Release', repository.url))).text();
      expect(release).toContain('Packages.gz');
      const helloFile = debs.files.find((name) => name.startsWith('hello_')) ?? '';
      const deb = await fetch(new URL(helloFile, repository.url));
      expect(deb.status).toBe(200);
      expect(
        Buffer.from(await deb.arrayBuffer())
          .subarray(0, 7)
          .toString(),
      ).toBe('!<arch>');
      expect((await fetch(`${repository.url}..%2f..%2fetc%2fpasswd`)).status).toBe(404);

      // apt on the host can read it (a private state dir, nothing of the host's apt changes).
      const { stdout } = await execa('sh', [
        '-c',
        `d=$(mktemp -d) && mkdir -p "$d/lists/partial" && printf '%s\\n' "$1" > "$d/sources.list" && apt-get -o Dir::Etc::sourcelist="$d/sources.list" -o Dir::Etc::sourceparts=- -o Dir::State::lists="$d/lists" -o Debug::NoLocking=true update >/dev/null && apt-cache -o Dir::Etc::sourcelist="$d/sources.list" -o Dir::Etc::sourceparts=- -o Dir::State::lists="$d/lists" policy hello; rm -rf "$d"`,
        'sh',
        repository.sourcesLine,
      ]);
      expect(stdout).toContain(`${repository.url.replace(/\/$/, '')} ./ Packages`);

      const url = repository.url;
      await repository.stop();
      repository = undefined;
      await expect(fetch(new URL('Packages', url))).rejects.toThrow();
    });
  },
);
