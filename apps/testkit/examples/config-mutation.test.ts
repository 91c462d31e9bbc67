import { expect } from 'vitest';
import { test } from './image.ts';

test('sed -i changes exactly the config file it targets', async ({ box }) => {
  const result = await box.exec([
    'sed',
    '-i',
    's#^app:\\(.*\\):/bin/sh$#app:\\1:/bin/false#',
    '/etc/passwd',
  ]);
  expect(result).toSucceed();

  await expect(box).toHaveFile('/etc/passwd', /^app:x:1000:1000::\/home\/app:\/bin\/false$/m);
  await expect(box).toHaveFile('/etc/passwd', /^root:/m);
  expect((await box.diff()).modified).toEqual(['/etc/passwd']);
});

test('a config file written by the test is what the command reads', async ({ box }) => {
  await box.writeFile('/etc/hosts', '127.0.0.1 localhost\n10.0.0.7 db.internal\n');
  const lookup = await box.exec('awk \'$2 == "db.internal" { print $1 }\' /etc/hosts');
  expect(lookup).toSucceed();
  expect(lookup.stdout.trim()).toBe('10.0.0.7');
});
