import assert from 'node:assert/strict';
import { readlinkSync } from 'node:fs';
import type { Guarantee } from '@polythene/probe';
import type { ConformanceCheck } from './conformance-types.ts';
import { runInSandbox, runShell } from './sandbox-helpers.ts';

// Capability bits that let a root process leave a chroot or reach the host.
const escapeCapabilities: readonly [string, number][] = [
  ['cap_dac_read_search', 2],
  ['cap_sys_module', 16],
  ['cap_sys_rawio', 17],
  ['cap_sys_chroot', 18],
  ['cap_sys_ptrace', 19],
  ['cap_sys_admin', 21],
  ['cap_mknod', 27],
];

const allowedDevEntries = new Set([
  'null',
  'zero',
  'full',
  'random',
  'urandom',
  'tty',
  'pts',
  'ptmx',
  'shm',
  'fd',
  'stdin',
  'stdout',
  'stderr',
  'core',
  'console',
  'mqueue',
]);

function namespaceCheck(guarantee: Guarantee, namespace: string): ConformanceCheck {
  return {
    name: `gives the command its own ${namespace} namespace`,
    guarantee,
    run: async (context) => {
      const host = readlinkSync(`/proc/self/ns/${namespace}`);
      const result = await runInSandbox(context, ['/bin/readlink', `/proc/self/ns/${namespace}`]);
      assert.equal(result.exitCode, 0, result.err);
      assert.match(result.out.trim(), new RegExp(`^${namespace}:\\[\\d+\\]$`));
      assert.notEqual(
        result.out.trim(),
        host,
        `the command shares polythene's ${namespace} namespace`,
      );
    },
  };
}

/**
 * The isolation guarantees a probe may claim (network, pid, ipc, uts namespaces, /proc, /dev,
 * capabilities), each checked from inside the sandbox when claimed.
 */
export const ISOLATION_CHECKS: readonly ConformanceCheck[] = [
  {
    name: 'gives the command no network but loopback',
    guarantee: 'network',
    run: async (context) => {
      const result = await runInSandbox(context, ['/bin/cat', '/proc/net/dev']);
      assert.equal(result.exitCode, 0, result.err);
      const interfaces = result.out
        .split('\n')
        .slice(2)
        .map((line) => line.split(':')[0]?.trim())
        .filter(Boolean);
      assert.deepEqual(interfaces, ['lo']);
    },
  },
  namespaceCheck('network', 'net'),
  namespaceCheck('pid', 'pid'),
  namespaceCheck('ipc', 'ipc'),
  namespaceCheck('uts', 'uts'),
  {
    name: 'shows the command only its own processes',
    guarantee: 'pid',
    run: async (context) => {
      const result = await runShell(context, 'ls -d /proc/[0-9]*');
      assert.equal(result.exitCode, 0, result.err);
      const pids = result.out.split('\n').filter(Boolean);
      assert.ok(pids.length > 0 && pids.length < 10, `the command sees ${pids.length} processes`);
    },
  },
  {
    name: "mounts a /proc that matches the command's own pid namespace",
    guarantee: 'proc',
    run: async (context) => {
      const result = await runShell(
        context,
        'sed -n "s/^Pid:[[:space:]]*//p" /proc/$$/status; echo $$',
      );
      assert.equal(result.exitCode, 0, result.err);
      const [fromProc, fromShell] = result.out.split('\n');
      assert.equal(fromProc, fromShell);
    },
  },
  {
    name: 'gives the command a minimal /dev with no host devices',
    guarantee: 'dev',
    run: async (context) => {
      const result = await runShell(
        context,
        'ls -A /dev; echo ---; echo x > /dev/null && head -c 4 /dev/zero | wc -c',
      );
      assert.equal(result.exitCode, 0, result.err);
      const [listing = '', check = ''] = result.out.split('---\n');
      const entries = listing.split('\n').filter(Boolean);
      const unexpected = entries.filter((entry) => !allowedDevEntries.has(entry));
      assert.deepEqual(unexpected, [], `host devices visible: ${unexpected.join(', ')}`);
      for (const needed of ['null', 'zero', 'full', 'random', 'urandom', 'tty']) {
        assert.ok(entries.includes(needed), `/dev/${needed} is missing`);
      }
      assert.equal(check.trim(), '4');
    },
  },
  {
    name: 'drops the capabilities that allow escape, so chroot escapes fail',
    guarantee: 'capabilities',
    run: async (context) => {
      for (const id of [0, 1000]) {
        // In-box root may hold CAP_SYS_CHROOT (the container set): chroot then works, but
        // `..` from a chroot inside the box still ends at the box's own root.
        const result = await runShell(
          context,
          'grep -E "^(CapEff|CapPrm|NoNewPrivs):" /proc/self/status; echo box > /tmp/box-marker; mkdir -p /tmp/escape && chroot /tmp/escape /bin/true; echo "chroot=$?"; chroot / /bin/sh -c "cd ../../../../../..; cat tmp/box-marker" 2>/dev/null',
          { uid: id, gid: id },
        );
        const fields = Object.fromEntries(
          result.out
            .split('\n')
            .filter((line) => line.includes(':'))
            .map((line) => line.split(':').map((part) => part.trim()) as [string, string]),
        );
        const effective = BigInt(`0x${fields.CapEff ?? 'ffffffffffffffff'}`);
        const holdsChroot = id === 0 && ((effective >> 18n) & 1n) === 1n;
        for (const [name, bit] of escapeCapabilities) {
          if (holdsChroot && name === 'cap_sys_chroot') continue;
          assert.equal((effective >> BigInt(bit)) & 1n, 0n, `uid ${id} keeps ${name}`);
        }
        if (id !== 0) assert.equal(fields.CapEff, '0000000000000000', `uid ${id} has capabilities`);
        assert.equal(fields.NoNewPrivs, '1', `uid ${id} may gain privileges (no_new_privs unset)`);
        assert.match(result.out, /chroot=[1-9]/);
        if (holdsChroot) {
          assert.match(result.out, /^box$/m, 'chroot from inside the box left the box');
        } else {
          assert.match(result.err, /Operation not permitted/);
        }
      }
    },
  },
];
