import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

// The shape the workspace promises its users: libraries never import an app, no package or
// source file imports itself in a circle, and source files stay small enough to read.
const root = resolve(import.meta.dirname, '..', '..', '..');
const MAX_LINES = 400;

interface Workspace {
  readonly name: string;
  readonly dir: string;
  readonly dependencies: readonly string[];
}

function readWorkspaces(): Workspace[] {
  const found: Workspace[] = [];
  for (const group of ['packages', 'apps', 'tooling']) {
    for (const entry of readdirSync(join(root, group))) {
      const dir = join(root, group, entry);
      let manifest: Record<string, Record<string, string> | string | undefined>;
      try {
        manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
      } catch {
        continue;
      }
      const runtime = {
        ...(manifest.dependencies as Record<string, string> | undefined),
        ...(manifest.peerDependencies as Record<string, string> | undefined),
      };
      found.push({
        name: manifest.name as string,
        dir,
        dependencies: Object.keys(runtime).filter((name) => name.startsWith('@polythene/')),
      });
    }
  }
  return found;
}

function listSourceFiles(dir: string): string[] {
  const files: string[] = [];
  const walk = (current: string): void => {
    let entries: string[];
    try {
      entries = readdirSync(current);
    } catch {
      return; // a workspace without src/ (tests only)
    }
    for (const entry of entries) {
      if (entry === 'node_modules' || entry === 'dist') continue;
      const path = join(current, entry);
      if (statSync(path).isDirectory()) walk(path);
      else if (/\.(ts|mts|tsx)$/.test(entry) && !/\.test\.ts$/.test(entry)) files.push(path);
    }
  };
  walk(dir);
  return files;
}

// Value imports and re-exports with a relative specifier (type-only imports vanish at run time).
function relativeImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const pattern = /^(?:import|export)\s+(?!type\s)(?:[^'";]*?\sfrom\s+)?['"](\.[^'"]+)['"]/gm;
  return [...text.matchAll(pattern)].map((match) => resolve(dirname(file), match[1] as string));
}

/** The first circle found in `graph`, as the list of its nodes, or undefined. */
export function findCycle(graph: ReadonlyMap<string, readonly string[]>): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string): string[] | undefined => {
    if (state.get(node) === 'done') return undefined;
    if (state.get(node) === 'open') return [...stack.slice(stack.indexOf(node)), node];
    state.set(node, 'open');
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    stack.pop();
    state.set(node, 'done');
    return undefined;
  };
  for (const node of graph.keys()) {
    const cycle = visit(node);
    if (cycle) return cycle;
  }
  return undefined;
}

const workspaces = readWorkspaces();
const apps = workspaces.filter((workspace) => workspace.dir.startsWith(join(root, 'apps')));

describe('the workspace structure', () => {
  it('finds its packages and apps (the checks below look at something)', () => {
    expect(workspaces.map((workspace) => workspace.name)).toEqual(
      expect.arrayContaining(['@polythene/core', '@polythene/cli', '@polythene/testkit']),
    );
    expect(apps.length).toBeGreaterThanOrEqual(2);
  });

  it('findCycle finds a circle and passes a tree', () => {
    const circle = new Map([
      ['a', ['b']],
      ['b', ['c']],
      ['c', ['a']],
    ]);
    expect(findCycle(circle)).toEqual(['a', 'b', 'c', 'a']);
    expect(
      findCycle(
        new Map([
          ['a', ['b', 'c']],
          ['b', ['c']],
          ['c', []],
        ]),
      ),
    ).toBeUndefined();
  });

  it('no library package depends on or imports an app', () => {
    const appNames = apps.map((app) => app.name);
    const offenders: string[] = [];
    for (const library of workspaces.filter((workspace) => workspace.dir.includes('/packages/'))) {
      for (const dependency of library.dependencies) {
        if (appNames.includes(dependency))
          offenders.push(`${library.name} depends on ${dependency}`);
      }
      for (const file of listSourceFiles(join(library.dir, 'src'))) {
        const text = readFileSync(file, 'utf8');
        for (const name of appNames) {
          if (text.includes(`'${name}'`) || text.includes(`'${name}/`)) {
            offenders.push(`${relative(root, file)} imports ${name}`);
          }
        }
      }
    }
    expect(offenders).toEqual([]);
  });

  it('has no circle among the packages’ runtime dependencies', () => {
    const graph = new Map(workspaces.map((workspace) => [workspace.name, workspace.dependencies]));
    expect(findCycle(graph)).toBeUndefined();
  });

  it('has no circle among the source files of any package', () => {
    const graph = new Map<string, string[]>();
    for (const workspace of workspaces) {
      for (const file of listSourceFiles(join(workspace.dir, 'src'))) {
        graph.set(file, relativeImports(file));
      }
    }
    expect(graph.size).toBeGreaterThan(100);
    const cycle = findCycle(graph);
    expect(cycle?.map((file) => relative(root, file))).toBeUndefined();
  });

  it(`has no source file over ${MAX_LINES} lines without the reason stated at its top`, () => {
    const long: string[] = [];
    for (const workspace of workspaces) {
      for (const file of listSourceFiles(join(workspace.dir, 'src'))) {
        const lines = readFileSync(file, 'utf8').split('\n');
        const statesReason = lines
          .slice(0, 5)
          .some((line) => /longer than \d+ lines because/.test(line));
        if (lines.length > MAX_LINES && !statesReason) {
          long.push(`${relative(root, file)} (${lines.length} lines)`);
        }
      }
    }
    expect(long).toEqual([]);
  });
});
