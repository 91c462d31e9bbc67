// Runs exportImage in a separate process (used to run it as the unprivileged test user):
// argv[2] is the JSON options; prints one JSON line, the result or {error:{code,message}}.
import { exportImage, removeLeftoverContainers } from '../../src/index.ts';

const options = JSON.parse(process.argv[2] ?? '{}');
try {
  if (options.removeLeftovers) {
    console.log(JSON.stringify({ removed: await removeLeftoverContainers() }));
  } else {
    console.log(JSON.stringify(await exportImage(options)));
  }
} catch (error) {
  const { code, message } = error as { code?: string; message: string };
  console.log(JSON.stringify({ error: { code, message } }));
}
