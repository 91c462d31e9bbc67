import { hasErrorCode } from '@polythene/errors';
import { describe, expect, it } from 'vitest';
import { availableProbe, createFakeBackend } from '../test/fake-backend.ts';
import { createRegistry } from './backend-registry.ts';
import { orderBackends } from './order-backends.ts';

const bwrap = createFakeBackend('bwrap', availableProbe(), { aliases: ['bubblewrap'] });
const proot = createFakeBackend('proot', availableProbe());
const chroot = createFakeBackend('chroot', availableProbe());

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

describe('createRegistry', () => {
  it('keeps registration order and resolves names and aliases case-insensitively', () => {
    const registry = createRegistry([bwrap, proot]);
    registry.register(chroot);
    expect(registry.list().map((backend) => backend.name)).toEqual(['bwrap', 'proot', 'chroot']);
    expect(registry.resolveName('bubblewrap')).toBe('bwrap');
    expect(registry.resolveName('BWRAP')).toBe('bwrap');
    expect(registry.get('Bubblewrap')).toBe(bwrap);
    expect(registry.get('nope')).toBeUndefined();
  });

  it('rejects an unknown name with a usage error listing the valid names', () => {
    const registry = createRegistry([bwrap, proot, chroot]);
    const error = catchError(() => registry.resolveName('docker'));
    expect(hasErrorCode(error, 'POLYTHENE_USAGE')).toBe(true);
    expect((error as Error).message).toBe(
      'unknown backend "docker": valid names: bwrap (bubblewrap), proot, chroot',
    );
  });

  it('refuses a name or alias that is already taken', () => {
    const registry = createRegistry([bwrap]);
    const clash = createFakeBackend('custom', availableProbe(), { aliases: ['bubblewrap'] });
    const error = catchError(() => registry.register(clash));
    expect(hasErrorCode(error, 'POLYTHENE_USAGE')).toBe(true);
    expect((error as Error).message).toContain('"bubblewrap" is already taken by backend "bwrap"');
    // A failed registration leaves nothing half-registered.
    expect(registry.get('custom')).toBeUndefined();
    expect(() => registry.register(createFakeBackend('BWRAP', availableProbe()))).toThrow(
      /already taken/,
    );
    expect(() =>
      registry.register(createFakeBackend('twice', availableProbe(), { aliases: ['Twice'] })),
    ).toThrow(/already taken/);
  });

  it('refuses names that are not shell-safe', () => {
    const registry = createRegistry();
    expect(() => registry.register(createFakeBackend('has space', availableProbe()))).toThrow(
      /not valid/,
    );
    for (const name of ['-flag', '', '.hidden', 'a/b', 'a:b', 'caf\u00e9', 'x\n']) {
      expect(() => registry.register(createFakeBackend(name, availableProbe()))).toThrow(
        /not valid/,
      );
    }
    for (const name of ['My.backend_2-x', '9lives', 'Z']) {
      expect(() => registry.register(createFakeBackend(name, availableProbe()))).not.toThrow();
    }
  });

  it('says when nothing is registered', () => {
    expect(() => createRegistry().resolveName('bwrap')).toThrow(/no backend is registered/);
  });
});

describe('orderBackends', () => {
  const custom = createFakeBackend('custom', availableProbe());
  const registry = createRegistry([bwrap, proot, chroot, custom]);
  const names = (preferred?: string) =>
    orderBackends(registry, preferred).map((backend) => backend.name);

  it('uses registry order without a preference', () => {
    expect(names()).toEqual(['bwrap', 'proot', 'chroot', 'custom']);
    expect(names('')).toEqual(['bwrap', 'proot', 'chroot', 'custom']);
  });

  it('puts the preferred backend first, by name or alias', () => {
    expect(names('proot')).toEqual(['proot', 'bwrap', 'chroot', 'custom']);
    expect(names('custom')).toEqual(['custom', 'bwrap', 'proot', 'chroot']);
    expect(names('bubblewrap')).toEqual(['bwrap', 'proot', 'chroot', 'custom']);
  });

  it('refuses an unknown preference', () => {
    expect(() => names('lxc')).toThrow(/unknown backend "lxc"/);
  });
});
