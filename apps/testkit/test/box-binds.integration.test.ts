import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureTestImages } from '@polythene/test-images';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installPolytheneMatchers, openImage, type PolytheneImage } from '../src/index.ts';

installPolytheneMatchers();

let work: string;
let image: PolytheneImage;

beforeAll(async () => {
  const { busybox } = await ensureTestImages();
  work = await mkdtemp(join(tmpdir(), 'polythene-testkit-binds-'));
  image = await openImage(busybox, { store: join(work, 'store'), isolation: 'bwrap' });
  await mkdir(join(work, 'fixtures'));
  await writeFile(join(work, 'fixtures', 'pkg.deb'), 'not really a deb\n');
  await mkdir(join(work, 'project'));
});
afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe('image.box({ binds, workspace })', () => {
  it('binds a host path read-only by default, read-write when asked', async () => {
    await using box = await image.box({
      binds: [
        `${join(work, 'fixtures')}:/fixtures`,
        { source: join(work, 'project'), target: '/out', readOnly: false },
      ],
    });
    const read = await box.exec(['cat', '/fixtures/pkg.deb']);
    expect(read).toSucceed();
    expect(read.stdout).toBe('not really a deb\n');
    const write = await box.exec(['sh', '-c', 'echo x > /fixtures/new']);
    expect(write.exitCode).not.toBe(0);
    expect(await box.exec(['sh', '-c', 'echo made > /out/result'])).toSucceed();
    expect(await readFile(join(work, 'project', 'result'), 'utf8')).toBe('made\n');
  });

  it('binds a workspace at /workspace and starts commands there', async () => {
    await using box = await image.box({ workspace: join(work, 'project') });
    const run = await box.exec(['sh', '-c', 'pwd; echo w > here']);
    expect(run).toSucceed();
    expect(run.stdout).toBe('/workspace\n');
    expect(await readFile(join(work, 'project', 'here'), 'utf8')).toBe('w\n');
  });

  it('refuses a malformed bind when the box is made', async () => {
    await expect(image.box({ binds: ['/a:relative'] })).rejects.toMatchObject({
      code: 'POLYTHENE_USAGE',
    });
    await expect(image.box({ binds: ['/a:/b:rx'] })).rejects.toMatchObject({
      code: 'POLYTHENE_USAGE',
    });
  });
});
