import { expect } from 'vitest';
import { test } from './image.ts';

test('a missing file makes cat fail with a clear message', async ({ box }) => {
  const result = await box.exec(['cat', '/etc/app.conf']);
  expect(result).toFailWith(1, /can't open '\/etc\/app.conf': No such file or directory/);
  expect(result.stdout).toBe('');
});

test('a validation script reports every problem on stderr and exits 2', async ({ box }) => {
  await box.writeFile(
    '/usr/local/bin/check-config',
    `#!/bin/sh
status=0
for key in host port; do
  grep -q "^$key=" /etc/app.conf 2>/dev/null || { echo "missing $key" >&2; status=2; }
done
exit $status
`,
    { mode: 0o755 },
  );
  await box.writeFile('/etc/app.conf', 'host=db\n');

  const result = await box.exec(['/usr/local/bin/check-config']);
  expect(result).toFailWith(2, 'missing port');
  expect(result.stderr).not.toContain('missing host');
  // The result says where it ran: bwrap, proot or chroot.
  expect(result.backend).toMatch(/^(bwrap|proot|chroot)$/);
});

test('a command that hangs is stopped by its timeout', async ({ box }) => {
  const result = await box.exec('sleep 30', { timeoutMs: 500 });
  expect(result.timedOut).toBe(true);
  expect(result).toFailWith(124);
});
