import { isPolytheneError } from '@polythene/errors';
import { describe, expect, it } from 'vitest';
import * as core from './index.ts';

// The natural wrong guesses at each public function, and the form its usage error must name.
// Every call fails on its arguments alone: no store is opened and no podman is needed.
const store = '/nonexistent/polythene-api-arguments-test';
const fakeStore = { dir: store, createScratchLayer: () => undefined };

const wrongCalls: Record<string, { form: string; calls: (() => unknown)[] }> = {
  pull: {
    form: 'pull(image, options)',
    calls: [
      () => core.pull(42 as never),
      () => core.pull({ image: 42 } as never),
      () => core.pull({} as never),
      () => core.pull('busybox', 'options' as never),
      () => core.pull({ image: 'busybox' } as never, { store } as never),
      () => core.pull('busybox', { store: 42 } as never),
      () => core.pull('busybox', { stor: store } as never),
      () => core.pull('busybox', { pullPolicy: 'sometimes' } as never),
      () => core.pull('busybox', { timeoutMs: '10s' } as never),
    ],
  },
  exec: {
    form: "exec(idOrName, ['echo', 'hi'], options)",
    calls: [
      () => core.exec('debian', 'echo hi' as never),
      () => core.exec(['echo', 'hi'] as never),
      () => core.exec('debian', ['echo'], { store: 42 } as never),
      () => core.exec('debian', ['echo'], { timeout: 1000 } as never),
      () => core.exec('debian', ['echo'], { env: { A: '1' } } as never),
      () => core.exec('debian', ['echo'], { stdio: 'ignore' } as never),
      () => core.exec({ id: 'debian', command: ['echo'], backends: 'bwrap' } as never),
      () => core.exec({ id: 'debian', cmd: ['echo'] } as never),
    ],
  },
  clone: {
    form: 'clone(idOrName, options)',
    calls: [
      () => core.clone({ id: 'debian' } as never),
      () => core.clone('debian', 'dev' as never),
      () => core.clone('debian', { method: 'reflink' } as never),
      () => core.clone('debian', { backendModules: 'x' } as never),
    ],
  },
  diff: {
    form: 'diff(idOrName, options)',
    calls: [() => core.diff(42 as never), () => core.diff('debian', { store: true } as never)],
  },
  inspect: {
    form: 'inspect(idOrName, options)',
    calls: [() => core.inspect(['debian'] as never), () => core.inspect('debian', store as never)],
  },
  list: {
    form: 'list(options)',
    calls: [
      () => core.list(store as never),
      () => core.list({ filters: ['name=dev'] } as never),
      () => core.list({ filter: { name: ['dev'] } } as never),
    ],
  },
  remove: {
    form: 'remove(idsOrNames, options)',
    calls: [
      () => core.remove('debian' as never),
      () => core.remove([42] as never),
      () => core.remove(['debian'], { force: 'yes' } as never),
    ],
  },
  rename: {
    form: 'rename(idOrName, newName, options)',
    calls: [
      () => core.rename('debian', { name: 'dev' } as never),
      () => core.rename({ id: 'debian' } as never, 'dev'),
    ],
  },
  prune: {
    form: 'prune(options)',
    calls: [() => core.prune('7d' as never), () => core.prune({ olderThan: true } as never)],
  },
  save: {
    form: 'save(idOrName, { output:',
    calls: [
      () => core.save('debian', 'out.tar' as never),
      () => core.save('debian', undefined as never),
      () => core.save('debian', {} as never),
      () => core.save('debian', { output: 'out.tar', compress: 'zstd' } as never),
    ],
  },
  load: {
    form: 'load(file, options)',
    calls: [
      () => core.load(undefined as never),
      () => core.load(''),
      () => core.load('entry.tar', { output: 'x' } as never),
    ],
  },
  commit: {
    form: 'commit(idOrName, image, options)',
    calls: [
      () => core.commit('debian', { image: 'localhost/x' } as never),
      () => core.commit('debian', 'localhost/x', { changes: 'ENV A=1' } as never),
    ],
  },
  createThrowawayRoot: {
    form: "createThrowawayRoot(store, id, 'overlay' | 'copy')",
    calls: [
      () => core.createThrowawayRoot(store as never, 'debian', 'overlay'),
      () => core.createThrowawayRoot(fakeStore as never, 42 as never, 'overlay'),
      () => core.createThrowawayRoot(fakeStore as never, 'debian', 'reflink' as never),
    ],
  },
  canRunOverlayHere: {
    form: 'canRunOverlayHere({ backends, hostEnv, backendModules })',
    calls: [
      () => core.canRunOverlayHere([] as never),
      () => core.canRunOverlayHere({ backends: 'bwrap' } as never),
      () => core.canRunOverlayHere({ env: {} } as never),
    ],
  },
  createLogger: {
    form: 'createLogger({ isVerbose: true',
    calls: [
      () => core.createLogger(true as never),
      () => core.createLogger({ verbose: true } as never),
      () => core.createLogger({ isVerbose: 'yes' } as never),
    ],
  },
};

async function errorOf(call: () => unknown): Promise<unknown> {
  try {
    await call();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('the public API given wrong arguments', () => {
  it('covers every function @polythene/core exports', () => {
    const functions = Object.entries(core)
      .filter(([, value]) => typeof value === 'function')
      .map(([name]) => name)
      .sort();
    expect(functions).toEqual(Object.keys(wrongCalls).sort());
  });

  for (const [name, { form, calls }] of Object.entries(wrongCalls)) {
    it(`${name} throws POLYTHENE_USAGE naming ${form}, never a TypeError`, async () => {
      for (const call of calls) {
        const error = await errorOf(call);
        expect(isPolytheneError(error), `${call}: ${String(error)}`).toBe(true);
        expect(error).toMatchObject({ code: 'POLYTHENE_USAGE' });
        const message = (error as Error).message;
        expect(message.startsWith(`${name}: `), message).toBe(true);
        expect(message).toContain(form);
        expect(message).not.toContain('\n');
      }
    });
  }

  it('names the unknown option and the wrong type', async () => {
    expect(String(await errorOf(() => core.exec('x', ['true'], { timeout: 5 } as never)))).toMatch(
      /unknown option "timeout" \(known: .*timeoutMs/,
    );
    expect(String(await errorOf(() => core.pull('x', { store: 42 } as never)))).toContain(
      'options.store must be a string (got 42)',
    );
  });

  it('lets undefined options through as absent, as the CLI passes them', async () => {
    // Past the argument checks, an absent store entry is the error: not a usage error.
    const error = await errorOf(() =>
      core.inspect('debian', { store, hostEnv: undefined } as never),
    );
    expect(error).not.toMatchObject({ code: 'POLYTHENE_USAGE' });
  });
});
