import { describe, expect } from 'vitest';
import { test } from './image.ts';

// A "package": a tarball of files for /opt and /usr/local/bin, and the script that installs it.
const INSTALLER = `#!/bin/sh
set -eu
mkdir -p /tmp/build/opt/greeter/bin /tmp/build/opt/greeter/share /tmp/build/usr/local/bin
cat > /tmp/build/opt/greeter/bin/greeter <<'SCRIPT'
#!/bin/sh
[ $# -eq 1 ] || { echo "usage: greeter NAME" >&2; exit 2; }
echo "$(cat /opt/greeter/share/greeting), $1!"
SCRIPT
chmod 755 /tmp/build/opt/greeter/bin/greeter
echo Hello > /tmp/build/opt/greeter/share/greeting
ln -s /opt/greeter/bin/greeter /tmp/build/usr/local/bin/greeter
tar -czf /tmp/greeter.tar.gz -C /tmp/build opt usr
rm -rf /tmp/build
tar -xzf /tmp/greeter.tar.gz -C /
rm /tmp/greeter.tar.gz
`;

describe('installing the greeter package', () => {
  test('puts its files in /opt and on the PATH, and nothing else', async ({ box }) => {
    await box.writeFile('/tmp/install.sh', INSTALLER, { mode: 0o755 });
    expect(await box.exec(['/tmp/install.sh'])).toSucceed();

    await expect(box).toHaveFile('/opt/greeter/share/greeting', 'Hello\n');
    // The link resolves inside the box, never to the host's /opt.
    await expect(box).toHaveFile('/usr/local/bin/greeter', /usage: greeter NAME/);

    const { added, modified, deleted } = await box.diff();
    expect(added).toEqual([
      '/opt',
      '/opt/greeter',
      '/opt/greeter/bin',
      '/opt/greeter/bin/greeter',
      '/opt/greeter/share',
      '/opt/greeter/share/greeting',
      '/tmp/install.sh',
      '/usr/local/bin/greeter',
    ]);
    expect(modified).toEqual([]);
    expect(deleted).toEqual([]);
  });

  test('runs the installed tool from the PATH', async ({ box }) => {
    await box.writeFile('/tmp/install.sh', INSTALLER, { mode: 0o755 });
    expect(await box.exec('/tmp/install.sh')).toSucceed();

    const greeting = await box.exec(['greeter', 'world'], { env: { PATH: '/usr/local/bin:/bin' } });
    expect(greeting).toSucceed();
    expect(greeting.stdout).toBe('Hello, world!\n');
  });

  test('each test starts from the pristine image', async ({ box }) => {
    expect(await box.exists('/opt/greeter')).toBe(false);
    expect(await box.diff()).toEqual({ added: [], modified: [], deleted: [] });
  });
});
