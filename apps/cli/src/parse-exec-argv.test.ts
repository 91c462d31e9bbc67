import { describe, expect, it } from 'vitest';
import { EXEC_FLAGS, parseExecArgvWithCac } from './cli.ts';
import { parseExecArgv } from './parse-exec-argv.ts';

const uuid = '01a20948-1edc-775c-a129-788bce1ddb02';

describe('parseExecArgv', () => {
  it.each([
    [[uuid, '--', 'uname', '-a']],
    [[uuid, '--store', '/s', '--', 'true']],
    [[uuid, '--store=/s', '--isolation', 'proot', '--json', '--', 'x']],
    [['--store', '/s', uuid, '--env', 'A=1', '--env', 'B', '--bind', '/a:/b:ro', '--', 'x']],
    [[uuid, '--workspace', '--', 'make']],
    [[uuid, '--workspace', '/project', '--', 'make', 'test']],
    [[uuid, '--workspace=/project', '--strict', '--ephemeral']],
    [[uuid, '--timeout', '5', '--max-output', '16M', '--', 'x']],
    [[uuid, '--timeout', '0x10', '--user', '1000:1000', '--env', '42']],
    [[uuid, 'echo', 'hi']],
    [[uuid, '--tty', '--interactive', '--', 'sh']],
    [
      [
        uuid,
        '--backend-module',
        './m.js',
        '--backend-module',
        'pkg',
        '--backend-module=x',
        '--',
        'x',
      ],
    ],
    [[uuid, '--workdir', '/tmp', '--user', 'nobody', '--', 'x', '--json', '-h']],
    [[uuid, '--', '--', 'x']],
    [[uuid, '-s', '/s', '-t', '5', '-i', 'proot', '--', 'x']],
    [['-s', '/s', uuid, '--isolation=proot', '--timeout', '1.5', '--', 'x']],
    [[uuid, '-i', 'bubblewrap', '--json', '--', 'x', '-s']],
    [[uuid, '-s', '/a', '--store', '/b', '--', 'x']],
    [[uuid, '--publish', '8080:80', '-p', '8081:81', '--publish', '53:53/udp']],
    [[uuid, '-p', '8080:80', '--publish', '8081:81', '--', 'x', '-p', '1:1']],
    [[uuid, '--timeout', '5', '-t', '7', '--', 'x']],
    [[uuid, '', '--env', '']],
    [[uuid]],
  ])('agrees with cac on %j', (argv) => {
    const fast = parseExecArgv(argv, EXEC_FLAGS);
    expect(fast).toBeDefined();
    expect(fast).toEqual(parseExecArgvWithCac(argv));
  });

  it.each([
    [[]],
    [['--help']],
    [[uuid, '-h']],
    [[uuid, '--version']],
    [[uuid, '--bogus', '--', 'x']],
    [[uuid, '--store']],
    [[uuid, '--store', '--json']],
    [[uuid, '--json', 'extra']],
    [[uuid, '--json=false']],
    [['--no-strict', uuid]],
    [[uuid, '--store=', '/x']],
    [['--workspace', uuid, '--', 'x']],
    [[uuid, '-']],
    [[uuid, '-t', '--', 'sh']],
    [[uuid, '-s/a', '--', 'x']],
    [[uuid, '-st', '--', 'x']],
    [[uuid, '-v', '--', 'x']],
    [[uuid, '--tty', 'sh']],
  ])('leaves %j to cac', (argv) => {
    expect(parseExecArgv(argv, EXEC_FLAGS)).toBeUndefined();
  });
});
