import { createReadStream } from 'node:fs';
import { chmod, copyFile, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { execa } from 'execa';
import type { AptRepository } from './fixture-types.ts';

/**
 * Serves the `.deb` files of `debDir` as a flat APT repository on a free 127.0.0.1 port: the
 * files are copied into a fresh temp dir, `apt-ftparchive packages` and `release` index them
 * (`Packages`, `Packages.gz`, `Release`), and a small in-process HTTP server answers GET/HEAD for
 * exactly those files. Use it with {@link AptRepository.sourcesLine} (`[trusted=yes]`: it is
 * unsigned). Call `stop()` when done. Needs `apt-ftparchive` (Debian package `apt-utils`).
 */
export async function startAptRepository(debDir: string): Promise<AptRepository> {
  const repoDir = await mkdtemp(join(tmpdir(), 'polythene-apt-repo-'));
  try {
    await chmod(repoDir, 0o755);
    const debs = (await readdir(debDir)).filter((name) => name.endsWith('.deb'));
    if (debs.length === 0) throw new Error(`no .deb files in ${debDir}`);
    for (const name of debs) await copyFile(join(debDir, name), join(repoDir, name));
    const packages = await runFtparchive(['packages', '.'], repoDir);
    await writeFile(join(repoDir, 'Packages'), packages);
    await execa('gzip', ['--keep', '--no-name', join(repoDir, 'Packages')]);
    const release = await runFtparchive(
      ['-o', 'APT::FTPArchive::Release::Origin=polythene-test', 'release', '.'],
      repoDir,
    );
    await writeFile(join(repoDir, 'Release'), release);
  } catch (error) {
    await rm(repoDir, { recursive: true, force: true });
    throw error;
  }
  const served = new Set(await readdir(repoDir));
  const server = createServer((request, response) => {
    const name = basename(decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname));
    // Only the files we wrote, by base name: no path ever reaches the file system from a URL.
    if ((request.method !== 'GET' && request.method !== 'HEAD') || !served.has(name)) {
      response.writeHead(404).end();
      return;
    }
    const path = join(repoDir, name);
    stat(path).then(
      (info) => {
        response.writeHead(200, { 'content-length': info.size });
        if (request.method === 'HEAD') response.end();
        else createReadStream(path).pipe(response);
      },
      () => response.writeHead(404).end(),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}/`;
  return {
    url,
    sourcesLine: `deb [trusted=yes] ${url} ./`,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(repoDir, { recursive: true, force: true });
    },
  };
}

async function runFtparchive(args: string[], cwd: string): Promise<string> {
  const result = await execa('apt-ftparchive', args, { cwd, reject: false, stdin: 'ignore' });
  if (result.failed) {
    const reason =
      result.code === 'ENOENT'
        ? 'apt-ftparchive is not installed (apt-get install apt-utils)'
        : result.stderr.trim();
    throw new Error(`apt-ftparchive ${args.join(' ')} failed: ${reason}`, { cause: result });
  }
  return `${result.stdout}\n`;
}
