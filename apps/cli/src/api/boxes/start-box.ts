import { spawn } from 'node:child_process';
import { closeSync, existsSync, promises as fs, openSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  assertBoxName,
  type BoxRecord,
  boxDir,
  boxesDir,
  boxLogPath,
  listBoxes,
  readBox,
  readStartTime,
  writeJson,
} from '@polythene/core/internal/boxes/box-state';
import { openStoreFromOptions, type StoreOptions } from '@polythene/core/internal/store-options';
import { PolytheneError } from '@polythene/errors';
import { requireNativeHelper } from '@polythene/native';
import { assertEntryId, newEntryId, resolveEntryRef } from '@polythene/store';
import { BOX_HELPER } from './box-helper.ts';

/** Options for {@link startBox}. */
export interface StartBoxOptions extends StoreOptions {
  /** The store entry the box runs on (on a throwaway layer: the entry never changes). */
  readonly entry: string;
  /** A name for `exec --in`, `stop` and `logs` besides the id; box names are their own namespace. */
  readonly name?: string;
  /** End the box once no `exec --in` used it for this long (its holder enforces it). */
  readonly expireAfterMs?: number;
  /** Backend to try first; proot cannot hold a box and is refused (125). */
  readonly isolation?: string;
  /** `KEY=VALUE` (or `KEY`) for the box, and defaults for every `exec --in`. */
  readonly env?: readonly string[];
  /** Working directory of the holder and default for `exec --in`. */
  readonly workdir?: string;
  /** `USER[:GROUP]` of the box, the default for `exec --in`. */
  readonly user?: string;
  /** Binds, `SRC:DEST[:ro]`, mounted for the box's whole life. */
  readonly binds?: readonly string[];
}

/** A box that is up. */
export interface StartedBox {
  readonly id: string;
  readonly name: string | undefined;
  readonly backend: string;
  /** Host pid of its holder: `/proc/<pid>/net/tcp` shows the box's own network namespace. */
  readonly holderPid: number;
}

const START_LOOK_MS = 20;
const START_TIMEOUT_MS = 60_000;

/**
 * Starts a box that stays up: a detached keeper runs the box's holder through the backend
 * and the box lives until `stop`, its expiry, or its holder's death. Resolves once the
 * holder runs (so `exec --in` works at once); a box that could not start throws with the
 * backend's reason (proot: 125).
 */
export async function startBox(options: StartBoxOptions): Promise<StartedBox> {
  assertEntryId(options.entry);
  if (options.name !== undefined) assertBoxName(options.name);
  if (options.isolation === 'proot') {
    throw new PolytheneError(
      'POLYTHENE_SETUP_FAILED',
      'proot cannot hold namespaces, so it cannot keep a box up: use --isolation=bwrap or chroot',
    );
  }
  requireNativeHelper(BOX_HELPER, 'a box that stays up (polythene start)');
  const store = await openStoreFromOptions(options, false);
  // UUID, then entry name (`pull --name`), then a hand-made directory.
  const entryId = resolveEntryRef(store.dir, options.entry);
  await store.entryLayersAndMetadata(entryId);
  const storeDir = store.dir;
  if (options.name !== undefined) {
    const taken = (await listBoxes(storeDir)).find((box) => box.record.name === options.name);
    if (taken !== undefined) {
      throw new PolytheneError(
        'POLYTHENE_USAGE',
        `--name ${options.name}: box ${taken.record.id} already has that name (stop it, or choose another)`,
      );
    }
  }
  const id = newEntryId();
  const dir = boxDir(storeDir, id);
  await fs.mkdir(boxesDir(storeDir), { recursive: true, mode: 0o700 });
  await fs.mkdir(dir, { mode: 0o700 });
  const record: BoxRecord = {
    id,
    ...(options.name === undefined ? {} : { name: options.name }),
    entry: entryId,
    started: new Date().toISOString(),
    ...(options.expireAfterMs === undefined ? {} : { expireAfterMs: options.expireAfterMs }),
    ...(options.isolation === undefined ? {} : { isolation: options.isolation }),
    ...(options.env === undefined ? {} : { env: options.env }),
    ...(options.workdir === undefined ? {} : { workdir: options.workdir }),
    ...(options.user === undefined ? {} : { user: options.user }),
    ...(options.binds === undefined ? {} : { binds: options.binds }),
  };
  await writeJson(join(dir, 'box.json'), record);
  const log = openSync(boxLogPath(storeDir, id), 'a', 0o600);
  let keeperPid: number | undefined;
  try {
    const keeper = spawn(process.execPath, [findCliScript(), '__box-keeper', storeDir, id], {
      detached: true,
      stdio: ['ignore', log, log],
      env: { ...(options.hostEnv ?? process.env) },
    });
    keeper.unref();
    keeperPid = keeper.pid;
  } finally {
    closeSync(log);
  }
  if (keeperPid === undefined) {
    await fs.rm(dir, { recursive: true, force: true });
    throw new PolytheneError('POLYTHENE_SETUP_FAILED', 'could not start the box keeper');
  }
  const keeperStartTime = readStartTime(keeperPid);
  await writeJson(join(dir, 'box.json'), { ...record, keeperPid, keeperStartTime });
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const box = await readBox(storeDir, id);
    if (box?.state === 'running' && box.holder !== undefined) {
      return { id, name: options.name, backend: box.holder.backend, holderPid: box.holder.pid };
    }
    if (box === undefined || readStartTime(keeperPid) !== keeperStartTime) {
      const reason = lastLogLine(storeDir, id) || 'its keeper exited';
      await fs.rm(dir, { recursive: true, force: true });
      throw new PolytheneError('POLYTHENE_SETUP_FAILED', `box ${id} did not start: ${reason}`);
    }
    await new Promise((resolve) => setTimeout(resolve, START_LOOK_MS));
  }
  try {
    process.kill(keeperPid, 'SIGTERM');
  } catch {
    // Gone meanwhile.
  }
  throw new PolytheneError('POLYTHENE_SETUP_FAILED', `box ${id} did not start within 60 s`);
}

// The keeper's log is removed with its box; the reason was copied into the error already.
const lastLines = new Map<string, string>();
function lastLogLine(storeDir: string, id: string): string {
  try {
    const text = readFileSync(boxLogPath(storeDir, id), 'utf8');
    const line = text
      .split('\n')
      .filter((each) => each.trim() !== '')
      .at(-1);
    if (line !== undefined) lastLines.set(id, line.replace(/^polythene: /, ''));
  } catch {
    // Removed with the box.
  }
  return lastLines.get(id) ?? '';
}

/** The `polythene` script beside this module's bundle (dist/), which runs the keeper. */
function findCliScript(): string {
  const own =
    typeof __filename === 'string' ? dirname(__filename) : dirname(fileURLToPath(import.meta.url));
  for (const candidate of [
    join(own, 'polythene.cjs'),
    join(own, '..', '..', '..', 'dist', 'polythene.cjs'),
  ]) {
    if (existsSync(candidate)) return candidate;
  }
  throw new PolytheneError(
    'POLYTHENE_SETUP_FAILED',
    'cannot find the polythene script (dist/polythene.cjs) to keep the box: build or reinstall polythene',
  );
}
