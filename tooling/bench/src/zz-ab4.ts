import { openSync } from 'node:fs';
import { buildProotArgs, createProotBackend, openProotDevDir, probeProot, prootArgsOptionsFrom, readProotDetails } from '@polythene/backend-proot';
import { type AvailableProbe, createProbeContext, type RunSpec } from '@polythene/probe';
import { spawnBackendProcess } from '../../../packages/probe/src/run/spawn-backend-process.ts';
import { exec } from 'polythene';
const store = '/tmp/bsx/store', id = '01a22ddf-abcb-768a-98cf-993477005698';
const rootfs = `${store}/${id}`;
const probe = (await probeProot(createProbeContext())) as AvailableProbe;
const spec: RunSpec = { rootfs, argv: ['/bin/true'], env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' }, cwd: '/', uid: 0, gid: 0, binds: [], stdio: 'inherit', killGraceMs: 1000, forwardSignals: false, probe };
const details = readProotDetails(probe.details);
const devnull = openSync('/dev/null', 'r+');
const backend = createProotBackend();
const cases: Record<string, () => Promise<unknown>> = {
  rawPipe: async () => {
    const d = openProotDevDir();
    const { file, args } = buildProotArgs(spec, prootArgsOptionsFrom(details, true, d));
    await new Promise<void>((res) => { const c = spawnBackendProcess({ file, args, env: spec.env, stdio: [0, 1, 'pipe'] }); c.stderr?.on('data', () => {}); c.on('close', () => res()); });
    d.release();
  },
  backendRun: () => backend.run(spec),
  api: () => exec({ id, store, isolation: 'proot', command: ['/bin/true'] }),
};
const t: Record<string, number[]> = {};
for (const k of Object.keys(cases)) t[k] = [];
for (let i = 0; i < 100; i++) for (const [k, f] of Object.entries(cases)) { const s = process.hrtime.bigint(); await f(); t[k]!.push(Number(process.hrtime.bigint() - s) / 1e6); }
const med = (v: number[]) => { v.sort((a, b) => a - b); return v[v.length >> 1]!.toFixed(3); };
for (const [k, v] of Object.entries(t)) console.log(k.padEnd(10), 'median', med(v));
