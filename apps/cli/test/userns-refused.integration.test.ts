import { ensureTestImagesAs, ensureTestUser } from '@polythene/test-images';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeWhenDone, runPolytheneAs } from './run-polythene.ts';

// A CI runner that refuses unprivileged user namespaces (Ubuntu 24.04's GitHub runners), built
// per process by runAsTestUser's refuseUserNamespaces: nothing host-wide changes.
let store: string;
let id: string;

beforeAll(async () => {
  const user = await ensureTestUser();
  const images = await ensureTestImagesAs(user);
  store = removeWhenDone(`/tmp/polythene-userns-refused-${process.pid}-${Date.now()}`);
  const run = await runPolytheneAs(['pull', images.busybox, '--store', store, '--quiet']);
  expect(run.exitCode, run.stderr).toBe(0);
  id = run.stdout.trim();
});

afterAll(async () => {
  if (id) await runPolytheneAs(['rm', id, '--store', store]);
});

describe('on a host that refuses unprivileged user namespaces', () => {
  it('runs the same command line through proot and warns what it lost', async () => {
    const run = await runPolytheneAs(
      ['exec', id, '--store', store, '--', 'sh', '-c', 'echo ran; id -u'],
      { env: { POLYTHENE_VERBOSE: '1' }, refuseUserNamespaces: true },
    );
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout.trim()).toBe('ran\n0');
    expect(run.stderr).toMatch(/bwrap.*(user namespace|unavailable)/i);
    expect(run.stderr).toMatch(/polythene: warning: proot runs without network/);
  });

  it('loads an entry all the same: the store keeps files as the user’s (no namespace to shift them in)', async () => {
    // Rootless podman itself needs user namespaces, so pull cannot run here; load can.
    const archive = `${store}-entry.tar`;
    removeWhenDone(archive);
    const saved = await runPolytheneAs(['save', id, '-o', archive, '--store', store]);
    expect(saved.exitCode, saved.stderr).toBe(0);
    const otherStore = removeWhenDone(`${store}-loaded`);
    const loaded = await runPolytheneAs(['load', archive, '--store', otherStore], {
      refuseUserNamespaces: true,
    });
    expect(loaded.exitCode, loaded.stderr).toBe(0);
    const run = await runPolytheneAs(
      ['exec', loaded.stdout.trim(), '--store', otherStore, '--', 'sh', '-c', 'echo ran'],
      { refuseUserNamespaces: true },
    );
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout.trim()).toBe('ran');
  });

  it('refuses under --strict with 125, naming the missing guarantee', async () => {
    const run = await runPolytheneAs(['exec', id, '--store', store, '--strict', '--', 'true'], {
      refuseUserNamespaces: true,
    });
    expect(run.exitCode).toBe(125);
    expect(run.stderr).toContain('network');
  });

  it('refuses a read-only bind with 125 in one line, rather than bind it read-write', async () => {
    const run = await runPolytheneAs(
      ['exec', id, '--store', store, '--bind', '/tmp:/mnt/host:ro', '--', 'true'],
      { refuseUserNamespaces: true },
    );
    expect(run.exitCode).toBe(125);
    expect(run.stderr).toMatch(
      /^polythene: no backend here can make a bind read-only \(proot cannot/,
    );
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
  });
});
