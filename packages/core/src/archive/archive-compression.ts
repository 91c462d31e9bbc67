import { type ChildProcess, spawn } from 'node:child_process';
import { PolytheneError } from '@polythene/errors';

/** How an archive file is compressed, from its name: `.tar.zst`/`.tzst`, `.tar.gz`/`.tgz`, else none. */
export type ArchiveCompression = 'zstd' | 'gzip' | 'none';

/** The compression a file name asks for. */
export function compressionForPath(path: string): ArchiveCompression {
  if (/\.(tar\.zst|tzst)$/.test(path)) return 'zstd';
  if (/\.(tar\.gz|tgz)$/.test(path)) return 'gzip';
  return 'none';
}

const TOOLS = {
  zstd: {
    compress: ['zstd', ['-q', '-c', '-T0']],
    decompress: ['zstd', ['-q', '-d', '-c']],
    pkg: 'zstd',
  },
  gzip: { compress: ['gzip', ['-c']], decompress: ['gzip', ['-d', '-c']], pkg: 'gzip' },
} as const;

/**
 * Starts the host's compressor or decompressor as a filter (stdin to stdout). Its `done`
 * rejects with `POLYTHENE_EXTRACT_FAILED` naming the tool when it fails or is missing.
 */
export function startCompressionFilter(
  compression: 'zstd' | 'gzip',
  direction: 'compress' | 'decompress',
  describe: string,
): { child: ChildProcess; done: Promise<void> } {
  const tool = TOOLS[compression];
  const [command, args] = tool[direction];
  const child = spawn(command, [...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (text: string) => {
    if (stderr.length < 4096) stderr += text;
  });
  const done = new Promise<void>((resolve, reject) => {
    child.once('error', (error) =>
      reject(
        new PolytheneError(
          'POLYTHENE_EXTRACT_FAILED',
          `cannot run ${command} to ${direction} ${describe} (${error.message}); install the Debian package ${tool.pkg}`,
          { cause: error },
        ),
      ),
    );
    child.once('close', (code, signal) => {
      if (code === 0) resolve();
      else
        reject(
          new PolytheneError(
            'POLYTHENE_EXTRACT_FAILED',
            `${command} failed to ${direction} ${describe}: ${stderr.trim().split('\n')[0] || `exit ${code ?? signal}`}`,
          ),
        );
    });
  });
  done.catch(() => undefined);
  return { child, done };
}
