import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { POLYTHENE_BIN } from './run-polythene.ts';
import { runWithPrivateEtc } from './run-with-private-etc.ts';

const CI_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'docs', 'ci');

interface Recipe {
  readonly file: string;
  /** Every shell line of the recipe, in order. */
  readonly lines: readonly string[];
}

function readYaml(file: string): unknown {
  return parse(readFileSync(join(CI_DIR, file), 'utf8'));
}

function shellLines(scripts: readonly unknown[]): string[] {
  return scripts
    .flatMap((script) => String(script).split('\n'))
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

function readGithubRecipe(): Recipe {
  const workflow = readYaml('github-actions.yml') as {
    jobs: {
      test: { strategy: { matrix: { os: string[] } }; steps: { run?: string; uses?: string }[] };
    };
  };
  expect(workflow.jobs.test.strategy.matrix.os).toEqual(['ubuntu-22.04', 'ubuntu-24.04']);
  const runs = workflow.jobs.test.steps.flatMap((step) =>
    step.run === undefined ? [] : [step.run],
  );
  return { file: 'github-actions.yml', lines: shellLines(runs) };
}

function readGitlabRecipe(file: string): Recipe {
  const jobs = Object.values(
    readYaml(file) as Record<string, { before_script?: string[]; script: string[] }>,
  );
  expect(jobs).toHaveLength(1);
  const job = jobs[0]!;
  return { file, lines: shellLines([...(job.before_script ?? []), ...job.script]) };
}

const RECIPES: readonly Recipe[] = [
  readGithubRecipe(),
  readGitlabRecipe('gitlab-ci.yml'),
  readGitlabRecipe('rootless-container.yml'),
];

// The program a line runs: past `sudo`, `runuser -u USER --`, `xargs … polythene`, and the
// word after a pipe or `<` redirection is irrelevant.
function programOf(line: string): string {
  const words = line.split(/\s+/);
  let index = 0;
  if (words[index] === 'sudo') index += 1;
  if (words[index] === 'runuser') index = words.indexOf('--') + 1;
  if (words[index] === 'sh' && words[index + 1] === '-c')
    return programOf(line.slice(line.indexOf("'") + 1));
  if (words[index] === 'xargs')
    index = words.findIndex((word, at) => at > index && !word.startsWith('-'));
  return words[index] ?? '';
}

async function isInstalled(program: string): Promise<boolean> {
  if (program === 'polythene') return true; // this repository's CLI, run below
  const result = await execa('sh', ['-c', `command -v ${program}`], { reject: false });
  return result.exitCode === 0;
}

describe('the CI recipes in docs/ci', () => {
  it('are valid YAML, and every program their commands run exists here', async () => {
    for (const recipe of RECIPES) {
      expect(recipe.lines.length).toBeGreaterThan(3);
      for (const line of recipe.lines) {
        const program = programOf(line);
        expect(await isInstalled(program), `${recipe.file}: ${line} (runs ${program})`).toBe(true);
      }
    }
  });

  it('install Debian packages that exist, and run polythene doctor', async () => {
    for (const recipe of RECIPES) {
      expect(recipe.lines.some((line) => /^(runuser -u \w+ -- )?polythene doctor/.test(line))).toBe(
        true,
      );
      for (const line of recipe.lines.filter((entry) => /apt-get install/.test(entry))) {
        // Simulated: resolves every package name against the archive, changes nothing.
        const args = line
          .replace(/^sudo /, '')
          .split(/\s+/)
          .slice(1);
        const run = await execa('apt-get', [...args, '--simulate'], { reject: false });
        expect(run.exitCode, `${recipe.file}: ${line}: ${run.stderr}`).toBe(0);
      }
    }
  });

  it("run the recipes' doctor lines here as they are written", async () => {
    const lines = RECIPES.flatMap((recipe) => recipe.lines).filter((line) =>
      line.startsWith('polythene doctor'),
    );
    expect(lines).toContain('polythene doctor --fix');
    for (const line of lines) {
      // In a private copy of /etc: --fix may add root's subordinate ids, which must not
      // change this machine.
      const args = line.split(/\s+/).slice(1).join(' ');
      const run = await runWithPrivateEtc(`"${process.execPath}" "${POLYTHENE_BIN}" ${args}`);
      expect(run.exitCode, `${line}\n${run.stdout}${run.stderr}`).toBe(0);
      expect(run.stdout).toContain(
        'doctor: the default backend gives its isolation guarantees here',
      );
    }
  });
});
