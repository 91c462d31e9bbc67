import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkPackedManifests } from './check-packed-manifests.ts';
import type { PackedPackage } from './pack-packages.ts';

let dir: string;

/** A real `.tgz` holding `package/package.json` with `manifest`. */
async function makeTarball(name: string, manifest: Record<string, unknown>): Promise<string> {
  const source = join(dir, name, 'package');
  await mkdir(source, { recursive: true });
  await writeFile(join(source, 'package.json'), JSON.stringify(manifest));
  const tarball = join(dir, `${name}.tgz`);
  await execa('tar', ['-czf', tarball, '-C', join(dir, name), 'package']);
  return tarball;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'check-packed-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('checkPackedManifests', () => {
  it('accepts a set whose ranges name the packed versions', async () => {
    const packed: PackedPackage[] = [
      {
        name: '@s/a',
        version: '1.2.0',
        tarball: await makeTarball('a', { name: '@s/a', version: '1.2.0' }),
      },
      {
        name: '@s/b',
        version: '0.3.0',
        tarball: await makeTarball('b', {
          name: '@s/b',
          version: '0.3.0',
          dependencies: { '@s/a': '^1.2.0', execa: '^9.6.0' },
        }),
      },
    ];
    expect(await checkPackedManifests(packed)).toEqual([]);
  });

  it('names a workspace range left behind, and a range the packed version misses', async () => {
    const packed: PackedPackage[] = [
      {
        name: '@s/a',
        version: '2.0.0',
        tarball: await makeTarball('a2', { name: '@s/a', version: '2.0.0' }),
      },
      {
        name: '@s/c',
        version: '0.1.0',
        tarball: await makeTarball('c', {
          name: '@s/c',
          version: '0.1.0',
          dependencies: { '@s/a': '^1.0.0', '@s/d': 'workspace:^' },
          peerDependencies: { vitest: 'catalog:' },
        }),
      },
    ];
    expect(await checkPackedManifests(packed)).toEqual([
      '@s/c: dependencies @s/a "^1.0.0" does not match the packed 2.0.0',
      '@s/c: dependencies @s/d is still "workspace:^"',
      '@s/c: peerDependencies vitest is still "catalog:"',
    ]);
  });

  it('names a tarball that holds another package than the one listed', async () => {
    const tarball = await makeTarball('e', { name: '@s/other', version: '0.0.1' });
    expect(await checkPackedManifests([{ name: '@s/e', version: '0.0.1', tarball }])).toEqual([
      `${tarball}: holds @s/other@0.0.1`,
    ]);
  });
});
