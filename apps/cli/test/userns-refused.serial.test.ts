import { ensureTestImagesAs, ensureTestUser } from '@polythene/test-images';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPolytheneAs } from './run-polythene.ts';

// Runs alone (see package.json): the sysctl below changes the whole machine for a moment.
let store: string;
let id: string;

beforeAll(async () => {
  const user = await ensureTestUser();
  const images = await ensureTestImagesAs(user);
  store = `/tmp/polythene-userns-refused-${process.pid}-${Date.now()}`;
  const run = await runPolytheneAs(['pull', images.busybox, '--store', store, '--quiet']);
  expect(run.exitCode, run.stderr).toBe(0);
  id = run.stdout.trim();
});

afterAll(async () => {
  if (id) await runPolytheneAs(['rm', id, '--store', store]);
});

describe('on a host that refuses unprivileged user namespaces', () => {
  // Ubuntu 24.04's GitHub runners refuse them; simulate that for this test only.
  let previous: string;
  beforeAll(async () => {
    previous = (await execa('sysctl', ['-n', 'user.max_user_namespaces'])).stdout.trim();
    await execa('sysctl', ['-w', 'user.max_user_namespaces=0']);
  });
  afterAll(async () => {
    await execa('sysctl', ['-w', `user.max_user_namespaces=${previous}`]);
  });

  it('runs the same command line through proot and warns what it lost', async () => {
    const run = await runPolytheneAs(
      ['exec', id, '--store', store, '--', 'sh', '-c', 'echo ran; id -u'],
      {
        env: { POLYTHENE_VERBOSE: '1' },
      },
    );
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout).toBe('ran\n0\n');
    expect(run.stderr).toMatch(/bwrap.*(user namespace|unavailable)/i);
    expect(run.stderr).toMatch(/polythene: warning: proot runs without network/);
  });

  it('refuses under --strict with 125, naming the missing guarantee', async () => {
    const run = await runPolytheneAs(['exec', id, '--store', store, '--strict', '--', 'true']);
    expect(run.exitCode).toBe(125);
    expect(run.stderr).toContain('network');
  });
});
