// The body of box-race.integration.test.ts, run in the test's process (root) or, through
// `tsx box-race-run.ts '<json options>'`, as the unprivileged test user: it prints the result
// as JSON. A hostile command swaps paths of the box between real directories/files and
// symlinks to a host directory while the box's file methods read, write and diff.
import { chmod, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type BoxMethod, openImage } from '../src/index.ts';

/** What {@link runBoxRace} needs. */
export interface BoxRaceOptions {
  image: string;
  store: string;
  hostDir: string;
  swapperPath: string;
  method: BoxMethod;
  rounds: number;
}

/** What {@link runBoxRace} saw: every way the host was reached, and how often the box was. */
export interface BoxRaceResult {
  violations: string[];
  wrote: number;
  read: number;
}

export const HOST_SECRET = 'host-secret\n';

export async function runBoxRace(options: BoxRaceOptions): Promise<BoxRaceResult> {
  const { hostDir } = options;
  const violations: string[] = [];
  await rm(hostDir, { recursive: true, force: true });
  await mkdir(hostDir, { mode: 0o777 });
  await chmod(hostDir, 0o777);
  for (const name of ['secret', 'file', 'host-only'])
    await writeFile(join(hostDir, name), HOST_SECRET, { mode: 0o666 });
  await mkdir(join(hostDir, 'q'), { mode: 0o777 });
  await chmod(join(hostDir, 'q'), 0o777);
  await writeFile(join(hostDir, 'q', 'secret'), HOST_SECRET, { mode: 0o666 });
  const image = await openImage(options.image, {
    store: options.store,
    boxMethod: options.method,
  });
  await using box = await image.box();
  await box.writeFile('/swap-paths', await readFile(options.swapperPath), { mode: 0o755 });
  const setUp = await box.exec(
    `mkdir /d && echo box > /d/secret && ln -s ${hostDir} /d.lnk && ` +
      `mkdir -p /p/q && echo box > /p/q/secret && ln -s ${hostDir} /p.lnk && ` +
      `echo box > /file && ln -s ${hostDir}/file /file.lnk`,
  );
  if (setUp.stderr !== '') violations.push(`set-up failed: ${setUp.stderr}`);
  const swapping = box
    .exec(
      [
        '/swap-paths',
        ...['/d', '/d.lnk', hostDir],
        ...['/p', '/p.lnk', hostDir],
        ...['/file', '/file.lnk', `${hostDir}/file`],
      ],
      { timeoutMs: 120_000 },
    )
    .catch(() => undefined);
  const check = (what: string, isBad: boolean): void => {
    if (isBad && violations.length < 20) violations.push(what);
  };
  let wrote = 0;
  let read = 0;
  for (let round = 0; round < options.rounds; round += 1) {
    if (
      await box.writeFile('/d/written', 'pwned\n').then(
        () => true,
        () => false,
      )
    )
      wrote += 1;
    // A new directory to create under a swapped parent (copy-up when overlaid).
    await box.writeFile('/p/q/new-dir/written', 'pwned\n').catch(() => undefined);
    check(
      'readFile /p/q/secret read the host',
      (await box.readFile('/p/q/secret').catch(() => undefined)) === HOST_SECRET,
    );
    await box.writeFile('/file', 'pwned\n').catch(() => undefined);
    const seen = await box.readFile('/d/secret').catch(() => undefined);
    if (seen !== undefined) read += 1;
    check('readFile /d/secret read the host', seen === HOST_SECRET);
    check(
      'readFile /file read the host',
      (await box.readFile('/file').catch(() => undefined)) === HOST_SECRET,
    );
    check('exists /d/host-only saw the host', await box.exists('/d/host-only').catch(() => false));
    if (round % 25 === 0) {
      // The diff walks the box while it changes: never into the host directory.
      const changed = await box.diff();
      const paths = [...changed.added, ...changed.modified, ...changed.deleted];
      check(
        `diff listed host paths: ${paths.filter((path) => path.endsWith('/host-only'))}`,
        paths.some((path) => path.endsWith('/host-only')),
      );
    }
  }
  await box.dispose();
  await swapping;
  const names = (await readdir(hostDir)).sort().join(',');
  check(`host directory changed: ${names}`, names !== 'file,host-only,q,secret');
  check('host q changed', (await readdir(join(hostDir, 'q'))).join(',') !== 'secret');
  for (const name of ['secret', 'file'])
    check(
      `host ${name} was written`,
      (await readFile(join(hostDir, name), 'utf8')) !== HOST_SECRET,
    );
  return { violations, wrote, read };
}

if (process.argv[1]?.endsWith('box-race-run.ts') && process.argv[2] !== undefined) {
  const result = await runBoxRace(JSON.parse(process.argv[2]) as BoxRaceOptions);
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(0);
}
