// A script, not a module of the package API: runs every conformance check against one backend
// in a plain node process (e.g. started as an unprivileged user by the testkit's own tests) and
// prints `{ probe, results }` as JSON on stdout.
//
//   tsx run-conformance-script.ts <backend module path> <factory export> <rootfs> [check filter]
//   tsx run-conformance-script.ts <backend module path> <factory export> <rootfs> --hold <marker>
//
// `--hold` runs `/bin/sleep <marker>` and prints `{ "pid": <this process> }` once it runs, so a
// test can SIGKILL this process (standing in for polythene) and check the sleeper dies too.
import {
  CONFORMANCE_CHECKS,
  findSleepers,
  runConformanceChecks,
  waitFor,
} from './conformance-checks.ts';

const [modulePath, factoryName, rootfs, filter] = process.argv.slice(2);
if (modulePath === undefined || factoryName === undefined || rootfs === undefined) {
  process.stderr.write(
    'usage: run-conformance-script.ts <backend module> <factory export> <rootfs> [filter]\n',
  );
  process.exitCode = 2;
} else {
  const loaded = (await import(modulePath)) as Record<string, unknown>;
  const factory = loaded[factoryName];
  if (typeof factory !== 'function')
    throw new Error(`${modulePath} does not export a function ${factoryName}`);
  const backend = await factory();
  const probe = await backend.probe({ isRoot: process.geteuid?.() === 0, hostEnv: process.env });
  if (filter === '--hold' && probe.available) {
    const marker = process.argv[6] ?? '999999';
    const running = backend.run({
      rootfs,
      argv: ['/bin/sleep', marker],
      env: { PATH: '/bin' },
      cwd: '/',
      uid: 0,
      gid: 0,
      binds: [],
      stdio: 'pipe',
      killGraceMs: 1_000,
      forwardSignals: true,
      probe,
    });
    await waitFor('the sleeper', () => findSleepers(marker).length > 0);
    process.stdout.write(`${JSON.stringify({ pid: process.pid })}\n`);
    await running;
    process.exit(0);
  }
  const checks = CONFORMANCE_CHECKS.filter(
    (check) => filter === undefined || check.name.includes(filter),
  );
  const results = probe.available
    ? await runConformanceChecks({ backend, probe, rootfs }, checks)
    : [];
  process.stdout.write(`${JSON.stringify({ probe, results })}\n`);
}
