import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultDebianMirror, findMirror, readDebianMirror } from './read-debian-mirror.ts';

describe('findMirror', () => {
  it('reads a one-line sources.list, skipping security and non-main lines', () => {
    const text = [
      '# deb http://commented.example/debian bookworm main',
      'deb http://security.debian.org/debian-security bookworm-security main',
      'deb [arch=amd64] http://mirror.example/debian/ bookworm main contrib',
    ].join('\n');
    expect(findMirror(text)).toBe('http://mirror.example/debian');
  });

  it('reads a deb822 stanza and ignores deb-src and disabled ones', () => {
    const text = [
      'Types: deb-src',
      'URIs: http://src.example/debian',
      'Suites: bookworm',
      'Components: main',
      '',
      'Types: deb',
      'URIs: http://off.example/debian',
      'Suites: bookworm',
      'Components: main',
      'Enabled: no',
      '',
      'Types: deb',
      'URIs: http://deb.example/debian',
      'Suites: bookworm bookworm-updates',
      'Components: main',
    ].join('\n');
    expect(findMirror(text)).toBe('http://deb.example/debian');
  });

  it('finds nothing in an unrelated file', () => {
    expect(findMirror('deb https://packages.example/apt cloud-sdk main')).toBeUndefined();
  });
});

describe('readDebianMirror', () => {
  let dir = '';
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('prefers sources.list, then sources.list.d, then the default', async () => {
    dir = await mkdtemp(join(tmpdir(), 'polythene-apt-'));
    expect(await readDebianMirror(dir)).toBe(defaultDebianMirror);
    await mkdir(join(dir, 'sources.list.d'));
    await writeFile(
      join(dir, 'sources.list.d', 'debian.sources'),
      'Types: deb\nURIs: http://d.example/debian\nSuites: bookworm\nComponents: main\n',
    );
    expect(await readDebianMirror(dir)).toBe('http://d.example/debian');
    await writeFile(join(dir, 'sources.list'), 'deb http://l.example/debian bookworm main\n');
    expect(await readDebianMirror(dir)).toBe('http://l.example/debian');
  });
});
