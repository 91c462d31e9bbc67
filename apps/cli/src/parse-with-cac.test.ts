import { cac } from 'cac';
import { describe, expect, it } from 'vitest';
import { parseExecArgvWithCac } from './cli.ts';
import { parseWithCac, spellOutShortOptions } from './parse-with-cac.ts';

const uuid = '01a20948-1edc-775c-a129-788bce1ddb02';

describe('spellOutShortOptions', () => {
  const flags = ['-p, --publish <port>', '-s, --store <dir>', '--env <KEY>', '-t, --timeout <s>'];

  it('rewrites short options before -- to their long names, and nothing else', () => {
    expect(
      spellOutShortOptions(
        ['-p', '1:1', '-p=2:2', '-s', '/s', '-x', '-pq', '--env', 'A', '--', '-p', '3:3'],
        flags,
      ),
    ).toEqual([
      '--publish',
      '1:1',
      '--publish=2:2',
      '--store',
      '/s',
      '-x',
      '-pq',
      '--env',
      'A',
      '--',
      '-p',
      '3:3',
    ]);
  });

  it('leaves a letter two commands spell differently alone', () => {
    expect(spellOutShortOptions(['-t', '1'], [...flags, '-t, --tag <tag>'])).toEqual(['-t', '1']);
  });
});

describe('the CLI keeps every value of an option given both ways', () => {
  it.each([
    [['--publish', '8080:80', '-p', '8081:81']],
    [['-p', '8080:80', '--publish', '8081:81']],
    [['-p', '8080:80', '-p', '8081:81']],
  ])('exec %j', (flags) => {
    expect(parseExecArgvWithCac([uuid, ...flags]).options.publish).toEqual(['8080:80', '8081:81']);
  });

  it('and a scalar keeps both, in order (the last wins when normalised)', () => {
    expect(parseExecArgvWithCac([uuid, '--timeout', '5', '-t', '7']).options.timeout).toEqual([
      5, 7,
    ]);
    expect(parseExecArgvWithCac([uuid, '-t', '5', '--timeout', '7']).options.timeout).toEqual([
      5, 7,
    ]);
  });

  it('start (any command)', () => {
    const cli = cac('polythene');
    cli.command('start <uuid>').option('-p, --publish <port>', '');
    parseWithCac(cli, ['start', uuid, '--publish', '1:1', '-p', '2:2', '--publish', '3:3']);
    expect(cli.options.publish).toEqual(['1:1', '2:2', '3:3']);
  });
});
