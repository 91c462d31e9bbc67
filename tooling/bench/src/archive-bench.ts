import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { commit, load, save } from '@polythene/cli';
import { ensureLargeImage } from '@polythene/test-images';
import { execa } from 'execa';
import { measureInterleaved, report, sh } from './measure.ts';
import { POLYTHENE_BIN } from './polythene-bin.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const GOAL = 1.3;

/**
 * `save`, `commit --archive` and `load` of the large image's entry, against the floor: a
 * plain `tar -c` of the same tree into a file (save, commit) and `tar -x` of it (load).
 * Interleaved rounds, each from written-back dirty pages, so drifts hit every case alike.
 */
export async function benchArchive(): Promise<string[]> {
  const large = await ensureLargeImage();
  const work = await mkdtemp(join(tmpdir(), 'polythene-bench-archive-'));
  const store = join(work, 'store');
  const other = join(work, 'other');
  const polythene = (args: readonly string[]) =>
    // A plain environment: an inherited NODE_EXTRA_CA_CERTS (set for npm behind a proxy)
    // makes every node start ~35 ms slower while reading its certificates.
    execa(process.execPath, [POLYTHENE_BIN, ...args], {
      env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' },
      extendEnv: false,
    });
  try {
    const pulled = await polythene(['pull', large.ref, '--store', store, '--quiet']);
    const id = pulled.stdout.trim();
    const rootfs = join(store, id);
    const floorTar = join(work, 'floor.tar');
    const saved = join(work, 'saved.tar');
    const committed = join(work, 'committed.tar');
    const untarred = join(work, 'untarred');
    const settle = () => sh('sync');
    const write = await measureInterleaved(
      [
        {
          name: 'tar -c of the rootfs (floor)',
          before: async () => sh(`rm -f ${floorTar}; sync`),
          body: () => sh(`tar -c --numeric-owner -f ${floorTar} -C ${rootfs} .`),
        },
        {
          name: 'polythene save',
          before: async () => sh(`rm -f ${saved}; sync`),
          body: () => polythene(['save', id, '-o', saved, '--store', store]),
        },
        {
          name: 'save() (API)',
          before: async () => sh(`rm -f ${saved}; sync`),
          body: () => save(id, { output: saved, store }),
        },
        {
          name: 'commit() --archive (API)',
          before: async () => sh(`rm -f ${committed}; sync`),
          body: () =>
            commit(id, 'localhost/polythene-bench/archive:1', {
              archive: `oci-archive:${committed}`,
              store,
            }),
        },
        {
          name: 'polythene commit --archive oci-archive:',
          before: async () => sh(`rm -f ${committed}; sync`),
          body: () =>
            polythene([
              'commit',
              id,
              'localhost/polythene-bench/archive:1',
              '--archive',
              `oci-archive:${committed}`,
              '--store',
              store,
            ]),
        },
      ],
      RUNS,
    );
    await settle();
    const read = await measureInterleaved(
      [
        {
          name: 'tar -x of the floor archive (floor)',
          before: async () => sh(`rm -rf ${untarred}; mkdir -p ${untarred}; sync`),
          body: () => sh(`tar -x --numeric-owner -f ${floorTar} -C ${untarred}`),
        },
        {
          name: 'polythene load',
          before: async () => sh(`rm -rf ${other}; sync`),
          body: () => polythene(['load', saved, '--store', other]),
        },
        {
          name: 'load() (API)',
          before: async () => sh(`rm -rf ${other}; sync`),
          body: () => load(saved, { store: other }),
        },
      ],
      RUNS,
    );
    const ratio = (cases: typeof write, name: string) =>
      (
        (cases.find((entry) => entry.name === name)?.medianMs ?? Number.NaN) /
        (cases[0]?.medianMs ?? Number.NaN)
      ).toFixed(2);
    const lines = [
      `save: CLI ${ratio(write, 'polythene save')}×, API ${ratio(write, 'save() (API)')}× tar -c (goal ≤ ${GOAL}×)`,
      `commit --archive: CLI ${ratio(write, 'polythene commit --archive oci-archive:')}×, API ${ratio(write, 'commit() --archive (API)')}× tar -c (goal ≤ ${GOAL}×)`,
      `load: CLI ${ratio(read, 'polythene load')}×, API ${ratio(read, 'load() (API)')}× tar -x (goal ≤ ${GOAL}×)`,
      'The CLI rows include Node start-up (`node -e 0` is about 0.1 s here, a third of the floor).',
    ];
    process.stdout.write(`${lines.join('\n')}\n\n`);
    const label = `${large.fileCount} files, ${(large.sizeBytes / 1e6).toFixed(0)} MB`;
    return [
      report(`archive: save and commit of the large image (${label})`, write, write[0]?.name ?? ''),
      report(`archive: load of the large image (${label})`, read, read[0]?.name ?? ''),
      `${lines.map((line) => `- ${line}`).join('\n')}\n`,
    ];
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
