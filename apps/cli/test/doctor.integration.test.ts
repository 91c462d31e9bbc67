import { chmod, chown, mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureTestUser, runAsUserWithoutIdRange } from '@polythene/test-images';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { POLYTHENE_BIN, removeWhenDone, runPolythene, runPolytheneAs } from './run-polythene.ts';
import { runWithPrivateEtc } from './run-with-private-etc.ts';

interface Check {
  id: string;
  state: 'ok' | 'warn' | 'fail' | 'info';
  detail: string;
  fix?: { summary: string; commands: string[] };
}

function parseReport(stdout: string): { ok: boolean; checks: Check[] } {
  return JSON.parse(stdout) as { ok: boolean; checks: Check[] };
}

function find(report: { checks: Check[] }, id: string): Check {
  const check = report.checks.find((entry) => entry.id === id);
  if (check === undefined) throw new Error(`doctor printed no ${id} check`);
  return check;
}

async function privateStore(owner?: { uid: number; gid: number }): Promise<string> {
  const parent = removeWhenDone(await mkdtemp(join(tmpdir(), 'polythene-doctor-')));
  await chmod(parent, 0o755);
  const store = join(parent, 'store');
  await mkdir(store, { mode: 0o700 });
  if (owner !== undefined) await chown(store, owner.uid, owner.gid);
  return store;
}

describe('polythene doctor', () => {
  it('as root: the default backend gives its guarantees, cgroups are writable, exit 0', async () => {
    const store = await privateStore();
    const run = await runPolythene(['doctor', '--json', '--store', store]);
    expect(run.exitCode).toBe(0);
    const report = parseReport(run.stdout);
    expect(report.ok).toBe(true);
    expect(find(report, 'caps.sys_admin').state).toBe('ok');
    expect(find(report, 'backend.default')).toMatchObject({
      state: 'ok',
      detail: /^bwrap gives network, pid, ipc, uts, proc, dev/,
    });
    expect(find(report, 'cgroups.writable').state).toBe('ok');
    expect(find(report, 'store.path')).toMatchObject({
      state: 'ok',
      detail: new RegExp(`^${store}: yours, mode 0700`),
    });
    // The text form says the same, with a closing verdict.
    const text = await runPolythene(['doctor', '--store', store]);
    expect(text.exitCode).toBe(0);
    expect(text.stdout).toMatch(/^user namespaces\n/);
    expect(text.stdout).toContain(
      'doctor: the default backend gives its isolation guarantees here',
    );
  });

  it('as root without CAP_SYS_ADMIN: fails, and names the capability rather than a userns fix', async () => {
    const run = await execa(
      'capsh',
      [
        '--drop=cap_sys_admin',
        '--',
        '-c',
        `"${process.execPath}" "${POLYTHENE_BIN}" doctor --json`,
      ],
      {
        reject: false,
      },
    );
    expect(run.exitCode).toBe(1);
    const report = parseReport(run.stdout);
    expect(find(report, 'caps.sys_admin')).toMatchObject({
      state: 'fail',
      fix: { summary: /CAP_SYS_ADMIN/ },
    });
    expect(find(report, 'backend.default')).toMatchObject({
      state: 'fail',
      fix: { summary: 'see CAP_SYS_ADMIN above' },
    });
  });

  it('as a user with a subordinate range: ids pass, cgroups and the tun device are reported with fixes', async () => {
    const user = await ensureTestUser();
    const run = await runPolytheneAs(['doctor', '--json', '--store', await privateStore(user)]);
    expect(run.exitCode).toBe(0);
    const report = parseReport(run.stdout);
    expect(find(report, 'ids.subuid')).toMatchObject({
      state: 'ok',
      detail: /^polythene-test: \d+\+65536/,
    });
    expect(find(report, 'ids.newuidmap').state).toBe('ok');
    expect(report.checks.some((check) => check.id === 'caps.sys_admin')).toBe(false);
    // cgroup v1 here is writable by root only: limits are optional, so a warning with a fix.
    expect(find(report, 'cgroups.writable')).toMatchObject({
      state: 'warn',
      detail: /^v1: cannot write/,
    });
    const tun = find(report, 'network.tun');
    if (tun.state !== 'ok') expect(tun.fix?.commands).toEqual(['sudo chmod 0666 /dev/net/tun']);
  });

  it('as a user without a range: warns with the usermod line, and --fix prints it when sudo cannot run it', async () => {
    const run = await runAsUserWithoutIdRange([
      process.execPath,
      POLYTHENE_BIN,
      'doctor',
      '--json',
      '--fix',
      '--store',
      '/tmp/polythene-doctor-norange-store',
    ]);
    const report = parseReport(run.stdout);
    const subuid = find(report, 'ids.subuid');
    expect(subuid).toMatchObject({
      state: 'warn',
      detail: 'no range for polythene-norange: a box maps only one id',
    });
    expect(subuid.fix?.commands[0]).toMatch(
      /^sudo usermod --add-subuids \d+-\d+ --add-subgids \d+-\d+ polythene-norange$/,
    );
    // No password-less sudo on this machine: nothing changed, the commands are printed.
    expect(run.stderr).toMatch(
      /doctor --fix: not applied \(.*\); run:\n {2}sudo -n usermod --add-subuids/,
    );
    expect(run.exitCode).toBe(0);
  });

  it('where user namespaces are refused: the trial and the default backend fail, exit 1', async () => {
    const user = await ensureTestUser();
    const run = await runPolytheneAs(['doctor', '--json', '--store', await privateStore(user)], {
      refuseUserNamespaces: true,
    });
    expect(run.exitCode).toBe(1);
    const report = parseReport(run.stdout);
    expect(find(report, 'userns.trial').state).toBe('fail');
    expect(find(report, 'backend.default')).toMatchObject({
      state: 'fail',
      detail: /^bwrap is unavailable/,
    });
  });

  it('refuses a store another user owns, and one that cannot be written, each with its fix', async () => {
    const foreign = await privateStore();
    const asUser = await runPolytheneAs(['doctor', '--json', '--store', foreign]);
    expect(asUser.exitCode).toBe(1);
    expect(find(parseReport(asUser.stdout), 'store.path')).toMatchObject({
      state: 'fail',
      detail: /owned by another user/,
      fix: { commands: [expect.stringContaining('POLYTHENE_STORE')] },
    });
    const user = await ensureTestUser();
    const readOnly = await privateStore(user);
    await chmod(readOnly, 0o500);
    const run = await runPolytheneAs(['doctor', '--json', '--store', readOnly]);
    expect(run.exitCode).toBe(1);
    expect(find(parseReport(run.stdout), 'store.writable')).toMatchObject({
      state: 'fail',
      detail: /cannot be written/,
    });
  });

  it('--fix as root adds a subordinate range with usermod, saying so (in a private copy of /etc)', async () => {
    // usermod really runs, in a private copy of /etc: the host's stays as it was.
    const script = [
      `sed -i '/^root:/d' /etc/subuid /etc/subgid`,
      `"${process.execPath}" "${POLYTHENE_BIN}" doctor --json --fix --store ${await privateStore()} || true`,
      'grep "^root:" /etc/subuid',
    ].join('\n');
    const run = await runWithPrivateEtc(script);
    expect(run.stderr).toMatch(
      /doctor --fix: adding subordinate ids \d+-\d+ for root\n.*\$ usermod --add-subuids/,
    );
    const lines = run.stdout.split('\n');
    const report = parseReport(lines.slice(0, -1).join('\n'));
    expect(find(report, 'ids.subuid').state).toBe('ok');
    expect(lines.at(-1)).toMatch(/^root:\d+:65536$/);
    expect(run.exitCode).toBe(0);
  });
});
