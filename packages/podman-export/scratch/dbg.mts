import { execa } from 'execa';
const m = process.argv[2]!;
const p = execa('tar', ['--create', '--file=-', `--directory=${m}`, '--numeric-owner', '--warning=no-file-ignored', '.'], { stdin: 'ignore', stdout: 'pipe', buffer: { stdout: false, stderr: true }, reject: false });
await new Promise((r) => setTimeout(r, 300));
let n = 0;
p.stdout.on('data', (c: Buffer) => { n += c.length; });
const r = await p;
console.log(n, r.exitCode, r.stderr, r.failed);
