// The CLI itself, loaded by the `polythene` launcher (src/launcher.ts) through a code cache.
import packageJson from '../package.json' with { type: 'json' };
import { runCli } from './cli.ts';

// No top-level await: this entry is bundled as CommonJS (see tsdown.config.ts).
void runCli(process.argv.slice(2), packageJson.version).then((exitCode) => {
  process.exitCode = exitCode;
});
