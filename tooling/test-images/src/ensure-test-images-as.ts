import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { TestImages, TestUser } from './fixture-types.ts';
import { runAsTestUser } from './run-as-test-user.ts';

/**
 * Builds the test images in `user`'s rootless podman (see {@link ensureTestImages}) by running
 * this package's CLI (`src/cli.ts images`) as that user through tsx, and returns the
 * references it printed. Root only; the repo must be readable by the user (it is world-readable
 * under /work/main; a checkout under /root would not be).
 */
export async function ensureTestImagesAs(user: TestUser): Promise<TestImages> {
  const tsxCli = createRequire(import.meta.url).resolve('tsx/cli');
  const cli = fileURLToPath(new URL('./cli.ts', import.meta.url));
  const result = await runAsTestUser([process.execPath, tsxCli, cli, 'images'], {
    cwd: user.home,
    timeoutMs: 600_000,
  });
  const lastLine = result.stdout.trim().split('\n').at(-1) ?? '';
  try {
    return JSON.parse(lastLine) as TestImages;
  } catch (error) {
    throw new Error(
      `the test-images CLI as ${user.name} printed no JSON: ${result.stdout.slice(-500)}`,
      {
        cause: error,
      },
    );
  }
}
