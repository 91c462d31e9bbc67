import { describe, expect, it } from 'vitest';
import { codeCacheVariant } from './code-cache-variant.ts';

const argv = (...args: string[]): string[] => ['node', 'polythene', ...args];

describe('codeCacheVariant', () => {
  it('keys exec by the backend asked for and by --json, and shares one for the rest', () => {
    expect(codeCacheVariant(argv('exec', 'ID', '--', 'true'), {})).toBe('exec.auto');
    expect(codeCacheVariant(argv('exec', 'ID', '--isolation', 'proot', '--', 'true'), {})).toBe(
      'exec.proot',
    );
    expect(codeCacheVariant(argv('exec', 'ID', '--isolation=bubblewrap', '--', 'x'), {})).toBe(
      'exec.bwrap',
    );
    expect(codeCacheVariant(argv('exec', 'ID', '--json', '--', 'x'), {})).toBe('exec.auto.json');
    expect(codeCacheVariant(argv('exec', 'ID', '--isolation', 'mine', '--', 'x'), {})).toBe(
      'exec.other',
    );
    expect(codeCacheVariant(argv('exec', '--in', 'web', '--', 'true'), {})).toBe('exec.in');
    expect(codeCacheVariant(argv('exec', '--in=web', '--detach', '--', 'x'), {})).toBe('exec.in');
    expect(codeCacheVariant(argv('exec', '--in', 'web', '--json', '--', 'x'), {})).toBe(
      'exec.in.json',
    );
    expect(codeCacheVariant(argv('exec', 'ID', '--', 'sh', '--in', 'x'), {})).toBe('exec.auto');
    expect(codeCacheVariant(argv('list'), {})).toBe('other');
    // The commands that move a tree keep a cache each.
    for (const command of ['pull', 'save', 'load', 'commit', 'clone', 'diff']) {
      expect(codeCacheVariant(argv(command, 'x'), {})).toBe(command);
    }
    expect(codeCacheVariant(argv('--version'), {})).toBe('other');
  });

  it('reads POLYTHENE_ISOLATION, which the flag overrides, and nothing after --', () => {
    const env = { POLYTHENE_ISOLATION: 'chroot' };
    expect(codeCacheVariant(argv('exec', 'ID', '--', 'true'), env)).toBe('exec.chroot');
    expect(codeCacheVariant(argv('exec', 'ID', '--isolation', 'proot', '--', 'x'), env)).toBe(
      'exec.proot',
    );
    expect(
      codeCacheVariant(argv('exec', 'ID', '--', 'cmd', '--isolation', 'proot', '--json'), {}),
    ).toBe('exec.auto');
  });

  it('keys exec by --network host or private (POLYTHENE_NETWORK, the flag wins)', () => {
    expect(codeCacheVariant(argv('exec', 'ID', '--network', 'host', '--', 'x'), {})).toBe(
      'exec.auto.host',
    );
    expect(
      codeCacheVariant(
        argv('exec', 'ID', '--network=private', '--isolation', 'bwrap', '--json'),
        {},
      ),
    ).toBe('exec.bwrap.private.json');
    expect(codeCacheVariant(argv('exec', 'ID', '--network', 'none', '--', 'x'), {})).toBe(
      'exec.auto',
    );
    const env = { POLYTHENE_NETWORK: 'host' };
    expect(codeCacheVariant(argv('exec', 'ID', '--', 'x'), env)).toBe('exec.auto.host');
    expect(codeCacheVariant(argv('exec', 'ID', '--network', 'none', '--', 'x'), env)).toBe(
      'exec.auto',
    );
    expect(codeCacheVariant(argv('exec', 'ID', '--', 'x', '--network', 'host'), {})).toBe(
      'exec.auto',
    );
  });
});
