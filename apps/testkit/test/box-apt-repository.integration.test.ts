import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type AptRepository,
  ensureDebCache,
  ensureDebianImage,
  startAptRepository,
} from '@polythene/test-images';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installPolytheneMatchers, openImage, type PolytheneImage } from '../src/index.ts';

// docs/testkit.md's example that installs a package from a repository, run as written: the
// repository is served on the host's loopback from cached .debs (root only: the .deb cache
// needs the host's APT), and the box reaches it with network: 'host'.
installPolytheneMatchers();

const isRoot = process.getuid?.() === 0;
let work: string;
let image: PolytheneImage;
let repository: AptRepository;
let repositoryUrl: string;

beforeAll(async () => {
  if (!isRoot) return;
  const debian = await ensureDebianImage();
  repository = await startAptRepository((await ensureDebCache(['hello'])).dir);
  repositoryUrl = repository.url;
  work = await mkdtemp(join(tmpdir(), 'polythene-testkit-apt-'));
  image = await openImage(debian.ref, { store: join(work, 'store') });
  // The official debian images list deb.debian.org in sources.list.d/debian.sources; this
  // one stands for it, on a loopback port nothing listens on (so no test sends anything off
  // the host): an example that left it there would fail its apt-get update.
  const sourcesDir = join(image.store, image.id, 'etc/apt/sources.list.d');
  await mkdir(sourcesDir, { recursive: true });
  await writeFile(
    join(sourcesDir, 'debian.sources'),
    'Types: deb\nURIs: http://127.0.0.1:9/debian\nSuites: bookworm\nComponents: main\n',
  );
}, 1_200_000);
afterAll(async () => {
  await repository?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe.runIf(isRoot)('the testkit guide: a package from a repository', () => {
  // As in docs/testkit.md, from `it(` to its `});`.
  it('installs a package from a repository', async () => {
    await using box = await image.box({ network: 'host' });
    // Only the test's repository: nothing depends on deb.debian.org.
    await box.exec('rm -f /etc/apt/sources.list.d/*');
    await box.writeFile('/etc/apt/sources.list', `deb [trusted=yes] ${repositoryUrl} ./\n`);
    expect(await box.exec('apt-get update && apt-get install -y hello')).toSucceed();
    // Back to no network for the test itself.
    expect((await box.exec('hello', { network: 'none' })).stdout).toBe('Hello, world!\n');
  });

  it('the example in the guide is this test', async () => {
    const { readFile } = await import('node:fs/promises');
    const guide = await readFile(join(import.meta.dirname, '../../../docs/testkit.md'), 'utf8');
    const source = await readFile(import.meta.filename, 'utf8');
    const example = (text: string, indent: string) => {
      const start = text.indexOf(`${indent}it('installs a package from a repository'`);
      const end = text.indexOf(`\n${indent}});`, start);
      return text
        .slice(start, end)
        .split('\n')
        .map((line) => line.slice(indent.length))
        .join('\n');
    };
    expect(example(guide, '')).toBe(example(source, '  '));
  });
});
