// Extracts the tar file argv[2] into argv[3] with extractTarStream in a separate process (used
// to run it as the unprivileged test user); prints the stats or {error:{code,message}}.
import { createReadStream } from 'node:fs';
import { extractTarStream } from '../../src/index.ts';

try {
  const stats = await extractTarStream(
    createReadStream(process.argv[2] ?? ''),
    process.argv[3] ?? '',
  );
  console.log(JSON.stringify(stats));
} catch (error) {
  const { code, message } = error as { code?: string; message: string };
  console.log(JSON.stringify({ error: { code, message } }));
}
