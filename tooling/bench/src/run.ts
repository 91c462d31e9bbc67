// `pnpm bench`: every benchmark, each reported as ratios against a baseline measured in the
// same run; the markdown report also lands in bench-results/latest.md.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { benchArchive } from './archive-bench.ts';
import { benchBoxes } from './box-bench.ts';
import { benchCompare } from './compare-bench.ts';
import { benchCopy } from './copy-bench.ts';
import { benchExec } from './exec-bench.ts';
import { benchIdMap } from './id-map-bench.ts';
import { benchLimits } from './limits-bench.ts';
import { benchMark } from './mark-bench.ts';
import { benchNetwork } from './network-bench.ts';
import { benchPull } from './pull-bench.ts';
import { benchTestkitBox } from './testkit-box-bench.ts';

// Node reads NODE_EXTRA_CA_CERTS (set for npm behind a TLS-inspecting proxy) at every start,
// ~35 ms here: inherited by the processes the benches start, it slowed `node -e 0` and
// polythene alike and flattered every ratio against Node's start-up.
delete process.env.NODE_EXTRA_CA_CERTS;

const only = process.argv[2];
const sections: string[] = [];
if (!only || only === 'pull') sections.push(...(await benchPull()));
if (!only || only === 'exec') sections.push(...(await benchExec()));
if (!only || only === 'idmap') sections.push(...(await benchIdMap()));
if (!only || only === 'copy') sections.push(...(await benchCopy()));
if (!only || only === 'network') sections.push(...(await benchNetwork()));
if (!only || only === 'mark') sections.push(...(await benchMark()));
if (!only || only === 'boxes') sections.push(...(await benchBoxes()));
if (!only || only === 'testkit-box') sections.push(...(await benchTestkitBox()));
if (!only || only === 'limits') sections.push(...(await benchLimits()));
if (!only || only === 'archive') sections.push(...(await benchArchive()));
if (!only || only === 'compare') sections.push(...(await benchCompare()));
const outDir = join(import.meta.dirname, '..', '..', '..', 'bench-results');
await mkdir(outDir, { recursive: true });
await writeFile(join(outDir, 'latest.md'), `# Polythene benchmarks\n\n${sections.join('\n')}`);
