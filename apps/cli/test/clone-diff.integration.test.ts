import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureTestImages, ensureTestImagesAs, ensureTestUser } from '@polythene/test-images';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  freshStorePath,
  removeWhenDone,
  runPolythene,
  runPolytheneAs,
  UUID_PATTERN,
} from './run-polythene.ts';

type Run = (
  args: readonly string[],
) => Promise<{ exitCode: number; stdout: string; stderr: string }>;

const mutate =
  'echo new > /etc/added && echo changed >> /etc/passwd && rm /bin/vi && mkdir -p /opt/app';

/** The same checks as root and as an unprivileged user, given a way to run polythene. */
function describeCopies(
  world: string,
  setUp: () => Promise<{ run: Run; image: string; store: string }>,
) {
  describe(`clone, diff and exec --ephemeral (${world})`, () => {
    let run: Run;
    let store: string;
    let sourceId: string;

    beforeAll(async () => {
      const context = await setUp();
      run = context.run;
      store = context.store;
      const pulled = await run(['pull', context.image, '--store', store, '--quiet']);
      expect(pulled.exitCode, pulled.stderr).toBe(0);
      sourceId = pulled.stdout.trim();
    });

    it.each(['auto', 'overlay', 'copy'])(
      'clone --method %s: an independent copy whose diff shows exactly its changes',
      async (method) => {
        const cloned = await run(['clone', sourceId, '--store', store, '--method', method]);
        expect(cloned.exitCode, cloned.stderr).toBe(0);
        const cloneId = cloned.stdout.trim();
        expect(cloneId).toMatch(UUID_PATTERN);
        // bwrap mounts overlays here, as root and in a user namespace: auto must choose one.
        const layout = JSON.parse(
          (await run(['inspect', cloneId, '--store', store])).stdout,
        ).layout;
        expect(layout).toBe(method === 'copy' ? 'directory' : 'overlay');
        const changed = await run(['exec', cloneId, '--store', store, '--', 'sh', '-c', mutate]);
        expect(changed.exitCode, changed.stderr).toBe(0);
        const diff = await run(['diff', cloneId, '--store', store, '--json']);
        expect(diff.exitCode, diff.stderr).toBe(0);
        expect(JSON.parse(diff.stdout)).toEqual({
          added: ['/etc/added', '/opt', '/opt/app'],
          modified: ['/etc/passwd'],
          deleted: ['/bin/vi'],
        });
        const text = await run(['diff', cloneId, '--store', store]);
        expect(text.stdout).toContain('A /etc/added\n');
        expect(text.stdout).toContain('D /bin/vi\n');
        // The source never changes, and its own diff stays empty.
        const sourceDiff = await run(['diff', sourceId, '--store', store, '--json']);
        expect(JSON.parse(sourceDiff.stdout)).toEqual({ added: [], modified: [], deleted: [] });
        const stillThere = await run([
          'exec',
          sourceId,
          '--store',
          store,
          '--ephemeral',
          '--',
          'ls',
          '/bin/vi',
        ]);
        expect(stillThere.exitCode, stillThere.stderr).toBe(0);
        expect((await run(['rm', cloneId, '--store', store])).exitCode).toBe(0);
      },
    );

    it('protects a base while an overlay clone depends on it, and frees it after', async () => {
      const cloned = await run(['clone', sourceId, '--store', store, '--method', 'overlay']);
      const cloneId = cloned.stdout.trim();
      const refused = await run(['exec', sourceId, '--store', store, '--', 'touch', '/x']);
      expect(refused.exitCode).toBe(1);
      expect(refused.stderr).toContain(cloneId);
      const refusedRm = await run(['rm', sourceId, '--store', store]);
      expect(refusedRm.exitCode).toBe(1);
      expect((await run(['rm', cloneId, '--store', store])).exitCode).toBe(0);
      expect((await run(['exec', sourceId, '--store', store, '--', 'true'])).exitCode).toBe(0);
    });

    it('exec --ephemeral leaves no trace in the entry or the store', async () => {
      const before = await run(['list', '--store', store, '--json']);
      const ephemeral = await run([
        'exec',
        sourceId,
        '--store',
        store,
        '--ephemeral',
        '--',
        'sh',
        '-c',
        `${mutate} && cat /etc/added`,
      ]);
      expect(ephemeral.exitCode, ephemeral.stderr).toBe(0);
      expect(ephemeral.stdout.trim()).toBe('new');
      const diff = await run(['diff', sourceId, '--store', store, '--json']);
      expect(JSON.parse(diff.stdout)).toEqual({ added: [], modified: [], deleted: [] });
      expect((await run(['list', '--store', store, '--json'])).stdout).toBe(before.stdout);
      const names = await run(['exec', sourceId, '--store', store, '--ephemeral', '--', 'true']);
      expect(names.exitCode).toBe(0);
    });
  });
}

describeCopies('root', async () => {
  const images = await ensureTestImages();
  return {
    run: (args) => runPolythene(args),
    image: images.busybox,
    store: await freshStorePath(),
  };
});

describeCopies('unprivileged user', async () => {
  const user = await ensureTestUser();
  const images = await ensureTestImagesAs(user);
  return {
    run: (args) => runPolytheneAs(args),
    image: images.busybox,
    store: removeWhenDone(`/tmp/polythene-clone-${process.pid}-${Date.now()}`),
  };
});

describe('ephemeral runs on the store', () => {
  it('leave no scratch directory behind, even when the command fails', async () => {
    const images = await ensureTestImages();
    const store = await freshStorePath();
    const id = (
      await runPolythene(['pull', images.busybox, '--store', store, '--quiet'])
    ).stdout.trim();
    const failed = await runPolythene([
      'exec',
      id,
      '--store',
      store,
      '--ephemeral',
      '--',
      'sh',
      '-c',
      'exit 9',
    ]);
    expect(failed.exitCode).toBe(9);
    const { readdir } = await import('node:fs/promises');
    expect((await readdir(store)).filter((name) => name.startsWith('.scratch-'))).toEqual([]);
    expect(existsSync(join(store, id, 'bin', 'vi'))).toBe(true);
    expect(await readFile(join(store, id, 'etc', 'passwd'), 'utf8')).not.toContain('changed');
  });
});
