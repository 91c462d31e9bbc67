import { chmod, mkdtemp, open, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFileMember, formatDigest, newHash, TAR_END } from '@polythene/core/internal';
import { ensureTestImages, ensureTestUser, type TestImages } from '@polythene/test-images';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  freshStorePath,
  listStoreNames,
  removeWhenDone,
  runPolythene,
  runPolytheneAs,
} from './run-polythene.ts';

let images: TestImages;
let sourceStore: string;
let id: string;
let dir: string;

// The tree as `find` sees it: path, type and mode, owner, size, mtime (s), link target.
async function listTree(rootfs: string): Promise<string> {
  const { stdout } = await execa(
    'find',
    ['.', '-printf', '%p %M %U:%G %s %TY%Tm%Td%TH%TM%TS %l\\n'],
    {
      cwd: rootfs,
    },
  );
  // The root's mtime is the store's business (whole seconds in the archive).
  return stdout
    .split('\n')
    .filter((line) => !line.startsWith('. '))
    .sort()
    .join('\n');
}

beforeAll(async () => {
  images = await ensureTestImages();
  dir = removeWhenDone(await mkdtemp(join(tmpdir(), 'polythene-save-load-')));
  await chmod(dir, 0o755);
  sourceStore = await freshStorePath();
  const pulled = await runPolythene([
    'pull',
    '--name',
    'rich',
    images.configured,
    '--store',
    sourceStore,
    '--quiet',
  ]);
  expect(pulled.exitCode, pulled.stderr).toBe(0);
  id = pulled.stdout.trim();
  // Owners, a setuid bit and a private directory, as an image could have them.
  const rootfs = join(sourceStore, id);
  await writeFile(join(rootfs, 'srv', 'suid'), '#!/bin/sh\n');
  await chmod(join(rootfs, 'srv', 'suid'), 0o4755);
  await execa('mkdir', ['-m', '0700', join(rootfs, 'srv', 'locked')]);
  await writeFile(join(rootfs, 'srv', 'locked', 'f'), 'x');
  await execa('chown', ['-R', '42:43', join(rootfs, 'srv', 'locked')]);
  // A file capability (as Debian's ping has) and a user attribute.
  await writeFile(join(rootfs, 'srv', 'ping'), '#!/bin/sh\n');
  await chmod(join(rootfs, 'srv', 'ping'), 0o755);
  await execa('setcap', ['cap_net_raw+ep', join(rootfs, 'srv', 'ping')]);
  await execa('setfattr', ['-n', 'user.polythene-test', '-v', 'kept', join(rootfs, 'srv', 'suid')]);
});

// File capabilities and user.* attributes of the tree, as getcap and getfattr print them.
async function listAttributes(rootfs: string): Promise<string> {
  const caps = await execa('getcap', [join(rootfs, 'srv', 'ping')]);
  const user = await execa('getfattr', ['-d', '-m', '^user\\.', join(rootfs, 'srv', 'suid')]);
  return `${caps.stdout.replace(rootfs, '')}\n${user.stdout.replace(rootfs.slice(1), '')}`;
}

describe('polythene save / load', () => {
  it.each(['entry.tar', 'entry.tar.zst', 'entry.tar.gz'])(
    'moves an entry to another store through %s, keeping its id, metadata, owners and modes',
    async (fileName) => {
      const file = join(dir, fileName);
      const saved = await runPolythene(['save', 'rich', '-o', file, '--store', sourceStore]);
      expect(saved.exitCode, saved.stderr).toBe(0);
      const magic = (await readFile(file)).subarray(0, 4).toString('hex');
      if (fileName.endsWith('.zst')) expect(magic).toBe('28b52ffd');
      if (fileName.endsWith('.gz')) expect(magic.slice(0, 4)).toBe('1f8b');
      const target = await freshStorePath();
      const loaded = await runPolythene(['load', file, '--store', target]);
      expect(loaded.exitCode, loaded.stderr).toBe(0);
      expect(loaded.stdout.trim()).toBe(id);
      expect(await listTree(join(target, id))).toBe(await listTree(join(sourceStore, id)));
      const attributes = await listAttributes(join(target, id));
      expect(attributes).toMatch(/cap_net_raw=ep/);
      expect(attributes).toMatch(/user\.polythene-test="kept"/);
      expect(attributes).toBe(await listAttributes(join(sourceStore, id)));
      // Sizes are measured again at load: the test changed the tree after the pull.
      const { sizeBytes, fileCount, ...before } = JSON.parse(
        await readFile(join(sourceStore, `${id}.json`), 'utf8'),
      );
      expect(JSON.parse(await readFile(join(target, `${id}.json`), 'utf8'))).toMatchObject(before);
      // The loaded entry runs, and a second load of the same file changes nothing.
      const ran = await runPolythene([
        'exec',
        id,
        '--store',
        target,
        '--',
        'stat',
        '-c',
        '%a',
        '/srv/suid',
      ]);
      expect(ran.stdout).toBe('4755\n');
      const names = await listStoreNames(target);
      const again = await runPolythene(['load', file, '--store', target]);
      expect(again.exitCode, again.stderr).toBe(0);
      expect(again.stdout.trim()).toBe(id);
      expect(await listStoreNames(target)).toEqual(names);
    },
  );

  it('writes the same bytes whether tar writes into the file (.tar) or through the stream (.tar.gz)', async () => {
    const plain = join(dir, 'same.tar');
    const packed = join(dir, 'same.tar.gz');
    for (const file of [plain, packed]) {
      const saved = await runPolythene(['save', 'rich', '-o', file, '--store', sourceStore]);
      expect(saved.exitCode, saved.stderr).toBe(0);
    }
    const unpacked = await execa('gzip', ['-dc', packed], { encoding: 'buffer' });
    const bytes = await readFile(plain);
    expect(bytes.length % 512).toBe(0);
    expect(Buffer.compare(bytes, Buffer.from(unpacked.stdout))).toBe(0);
  });

  it('refuses a changed member or a truncated archive, and leaves nothing', async () => {
    const file = join(dir, 'tamper.tar');
    expect((await runPolythene(['save', id, '-o', file, '--store', sourceStore])).exitCode).toBe(0);
    const bytes = await readFile(file);
    const cases: Array<[string, Buffer]> = [];
    // One byte inside /etc/passwd's data.
    const passwd = bytes.indexOf('root:x:0:0');
    expect(passwd).toBeGreaterThan(0);
    const changed = Buffer.from(bytes);
    changed[passwd] = 'R'.charCodeAt(0);
    cases.push(['changed.tar', changed]);
    cases.push(['cut-in-half.tar', bytes.subarray(0, Math.floor(bytes.length / 2))]);
    // Cut just before the digests member: a valid-looking tar missing its end.
    cases.push(['no-digests.tar', bytes.subarray(0, bytes.indexOf('polythene-digests.json'))]);
    for (const [name, content] of cases) {
      const path = join(dir, name);
      await writeFile(path, content);
      const target = await freshStorePath();
      const run = await runPolythene(['load', path, '--store', target]);
      expect(run.exitCode, name).toBe(1);
      expect(run.stderr, name).toMatch(
        /^polythene: archive .* is refused: .*; nothing was loaded$/m,
      );
      expect(run.stderr.trim().split('\n'), name).toHaveLength(1);
      expect(
        (await listStoreNames(target)).filter((entry) => entry !== '.names' && entry !== '.inuse'),
        name,
      ).toEqual([]);
    }
  });

  it('refuses an id already holding other content with exit 1 and one line', async () => {
    const file = join(dir, 'conflict.tar');
    expect((await runPolythene(['save', id, '-o', file, '--store', sourceStore])).exitCode).toBe(0);
    const target = await freshStorePath();
    expect((await runPolythene(['load', file, '--store', target])).exitCode).toBe(0);
    await writeFile(join(target, id, 'etc', 'changed-here'), 'x');
    const run = await runPolythene(['load', file, '--store', target]);
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toMatch(
      new RegExp(`^polythene: store .* already holds entry ${id} with different content`),
    );
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('extracts a hostile archive as safely as a pull, even with matching digests', async () => {
    const metadata = JSON.parse(await readFile(join(sourceStore, `${id}.json`), 'utf8'));
    const entryMember = createFileMember(
      'polythene-entry.json',
      Buffer.from(JSON.stringify({ format: 'polythene-entry-archive', version: 1, metadata })),
      0,
    );
    const escapedName = `polythene-escaped-${process.pid}`;
    const rootfsPart = createFileMember(
      `rootfs/../../../../../../tmp/${escapedName}`,
      Buffer.from('x'),
      0,
    );
    const digests = {
      format: 'polythene-entry-archive',
      version: 1,
      entrySha256: formatDigest(newHash().update(entryMember)),
      rootfsSha256: formatDigest(newHash().update(rootfsPart)),
      rootfsBytes: rootfsPart.length,
    };
    const file = join(dir, 'hostile.tar');
    await writeFile(
      file,
      Buffer.concat([
        entryMember,
        rootfsPart,
        createFileMember('polythene-digests.json', Buffer.from(JSON.stringify(digests)), 0),
        TAR_END,
      ]),
    );
    const target = await freshStorePath();
    const run = await runPolythene(['load', file, '--store', target]);
    expect(run.exitCode).toBe(1);
    await expect(stat(join('/tmp', escapedName))).rejects.toThrow();
    expect(
      (await listStoreNames(target)).filter((entry) => entry !== '.names' && entry !== '.inuse'),
    ).toEqual([]);
  });

  it("loads a root store's archive into an unprivileged user's store, keeping the id", async () => {
    await ensureTestUser();
    const file = join(dir, 'for-user.tar.zst');
    expect((await runPolythene(['save', id, '-o', file, '--store', sourceStore])).exitCode).toBe(0);
    await chmod(file, 0o644);
    const userStore = removeWhenDone(`/tmp/polythene-save-load-user-${process.pid}-${Date.now()}`);
    const run = await runPolytheneAs(['load', file, '--store', userStore]);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout.trim()).toBe(id);
    const ran = await runPolytheneAs([
      'exec',
      id,
      '--store',
      userStore,
      '--',
      'cat',
      '/etc/passwd',
    ]);
    expect(ran.exitCode, ran.stderr).toBe(0);
    expect(ran.stdout).toContain('root:x:0:0');
    const handle = await open(join(userStore, `${id}.json`));
    expect(JSON.parse(await handle.readFile('utf8')).id).toBe(id);
    await handle.close();
  });
});
