// `pnpm release [--dry-run] [--keep] [--out DIR]`: see release.ts. Exit 0 when every
// publishable package was versioned, built and packed; 1 on failure; 2 on a bad flag.
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { release } from './release.ts';

const usage = 'usage: pnpm release [--dry-run] [--keep] [--out DIR]';

async function main(argv: readonly string[]): Promise<number> {
  let values: { 'dry-run'?: boolean; keep?: boolean; out?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        'dry-run': { type: 'boolean' },
        keep: { type: 'boolean' },
        out: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    process.stderr.write(`release: ${(error as Error).message}\n${usage}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  const root = resolve(import.meta.dirname, '..', '..', '..');
  try {
    const result = await release({
      root,
      dryRun: values['dry-run'] ?? false,
      keep: values.keep ?? false,
      outDir: values.out === undefined ? undefined : resolve(values.out),
      log: (line) => process.stderr.write(`${line}\n`),
    });
    const where =
      values['dry-run'] && !values.keep && values.out === undefined ? ' (removed: dry run)' : '';
    process.stdout.write(
      `${result.packages.length} packages packed into ${result.outDir}${where}\n`,
    );
    return 0;
  } catch (error) {
    const err = error as Error & { stderr?: string };
    process.stderr.write(`release: ${err.message}\n`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
