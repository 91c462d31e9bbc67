import { chmodSync, chownSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkRootCapabilities } from './check-capabilities.ts';
import { checkCgroups, findCgroups } from './check-cgroups.ts';
import { checkNetworkTools } from './check-network-tools.ts';
import { checkStore } from './check-store.ts';
import {
  checkSubordinateIds,
  findFreeRange,
  parseSubordinateFile,
} from './check-subordinate-ids.ts';
import { prepareHost } from './prepared-host.test-helper.ts';

const ROOT = { uid: 0, gid: 0, name: 'root' };
const ALICE = { uid: 1234, gid: 1234, name: 'alice' };

describe('subordinate ids', () => {
  it('parses ranges and finds a free, aligned one above them', () => {
    const ranges = parseSubordinateFile('alice:100000:65536\n# junk\nbad\n1300:165536:65536\n');
    expect(ranges).toEqual([
      { owner: 'alice', first: 100000, count: 65536 },
      { owner: '1300', first: 165536, count: 65536 },
    ]);
    expect(findFreeRange(ranges)).toBe(262144);
    expect(findFreeRange([])).toBe(131072);
  });

  it('passes a user with a full range (by name or uid) and offers usermod to one without', () => {
    const paths = prepareHost({
      'etc/subuid': 'alice:100000:65536\n',
      'etc/subgid': '1234:100000:65536\n',
    });
    const tools = { newuidmap: undefined, newgidmap: undefined };
    const withRange = checkSubordinateIds({ paths, user: ALICE, ...tools });
    expect(
      withRange.filter((check) => check.id.startsWith('ids.sub')).map((check) => check.state),
    ).toEqual(['ok', 'ok']);
    expect(withRange.find((check) => check.id === 'ids.newuidmap')?.fix?.commands).toEqual([
      'sudo apt-get install -y uidmap',
    ]);
    const bob = checkSubordinateIds({ paths, user: { uid: 999, gid: 999, name: 'bob' }, ...tools });
    const subuid = bob.find((check) => check.id === 'ids.subuid');
    expect(subuid).toMatchObject({ state: 'warn', detail: /no range for bob/ });
    expect(subuid?.fix?.commands).toEqual([
      'sudo usermod --add-subuids 196608-262143 --add-subgids 196608-262143 bob',
    ]);
  });
});

describe('cgroups', () => {
  it('reads a v1 host by its hierarchies', () => {
    const paths = prepareHost({
      'sys/fs/cgroup/pids/tasks': '',
      'sys/fs/cgroup/memory/tasks': '',
      'sys/fs/cgroup/cpu/tasks': '',
    });
    // Root may write anything: the test asks for the layout.
    expect(findCgroups(paths).version).toBe('v1');
  });

  it('finds a delegated v2 cgroup with its controllers, and names the delegation fix otherwise', () => {
    const delegated = prepareHost({
      'sys/fs/cgroup/cgroup.controllers': 'cpuset cpu io memory pids',
      'sys/fs/cgroup/user.slice/user-1234.slice/session.scope/cgroup.controllers': 'memory pids',
      'sys/fs/cgroup/user.slice/user-1234.slice/session.scope/cgroup.subtree_control': '',
      'proc/self/cgroup': '0::/user.slice/user-1234.slice/session.scope\n',
    });
    const found = findCgroups(delegated);
    expect(found.version).toBe('v2');
    expect(found.delegatedPath).toMatch(/session\.scope$/);
    expect(found.writableControllers).toEqual(['memory', 'pids']);
    const [, writable] = checkCgroups(delegated, false);
    expect(writable).toMatchObject({ state: 'warn', detail: /cannot write cpu/ });
    expect(writable?.fix?.commands.join('\n')).toContain('Delegate=cpu cpuset io memory pids');
  });

  it('reports a host with no cgroups at all', () => {
    expect(checkCgroups(prepareHost({}), true)[0]).toMatchObject({
      state: 'warn',
      detail: /no cgroup hierarchy/,
    });
  });
});

describe('network tools and capabilities', () => {
  it('names the tun device fix and the missing user-mode stack', () => {
    const paths = prepareHost({});
    const [tun, stack] = checkNetworkTools({ paths, slirp4netns: undefined, pasta: undefined });
    expect(tun).toMatchObject({
      state: 'warn',
      detail: 'missing',
      fix: { commands: ['sudo modprobe tun'] },
    });
    expect(stack?.fix?.commands).toEqual(['sudo apt-get install -y slirp4netns']);
  });

  it('tells root with and without CAP_SYS_ADMIN apart', () => {
    expect(checkRootCapabilities('Name:\tx\nCapEff:\t000001ffffffffff\n').state).toBe('ok');
    // capsh --drop=cap_sys_admin: bit 21 cleared.
    expect(checkRootCapabilities('CapEff:\t000001ffffdfffff\n').state).toBe('fail');
  });
});

describe('checkStore', () => {
  const fresh = () => mkdtempSync(join(tmpdir(), 'doctor-store-'));

  it('reports a missing store as made by the first pull, and a private one as fine', () => {
    const parent = fresh();
    expect(checkStore(join(parent, 'absent'), ROOT)[0]).toMatchObject({
      state: 'info',
      detail: /not created yet/,
    });
    const store = join(parent, 'store');
    mkdirSync(store, { mode: 0o700 });
    const checks = checkStore(store, { ...ROOT, uid: process.getuid?.() ?? 0 });
    expect(checks.map((check) => check.id)).toEqual([
      'store.path',
      'store.space',
      'store.filesystem',
    ]);
    expect(checks[0]?.state).toBe('ok');
  });

  it('fails a store another user owns, and one others can write', () => {
    const store = fresh();
    expect(checkStore(store, ALICE)[0]).toMatchObject({
      state: 'fail',
      detail: /owned by another user/,
    });
    chmodSync(store, 0o777);
    const mine = { ...ALICE, uid: process.getuid?.() ?? 0 };
    expect(checkStore(store, mine)[0]).toMatchObject({
      state: 'fail',
      detail: /writable by other users/,
    });
    expect(checkStore(store, mine)[0]?.fix?.commands).toEqual([`chmod 0700 ${store}`]);
  });

  it.runIf(process.getuid?.() === 0)('as root, trusts its own store whatever file says', () => {
    const store = fresh();
    writeFileSync(join(store, 'x'), '');
    chownSync(store, 0, 0);
    expect(checkStore(store, ROOT)[0]?.state).toBe('ok');
  });
});
