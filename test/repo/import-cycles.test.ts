/**
 * Dependencies point one way (docs/architecture.md, "The dependency rule"). The program's
 * TypeScript sources are read as a graph of folders: a file in agent/inputs/serial/ belongs to
 * agent/inputs, lib/schema/schema.ts to lib/schema, agent/agent.ts to agent. An import from one
 * folder into another is an edge. The test fails on any cycle between folders, and on any import
 * from lib/ out of lib/: lib/ is the bottom layer every program (agent, aggregator, CLI,
 * toolchain) may use.
 *
 * Tests and benchmarks are consumers: nothing imports them, so they cannot close a cycle of the
 * program; they are left out.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { ROOT } from '../helpers/agent.ts';

/**
 * Edges that still close a cycle, each removed by work in progress. The test ignores exactly
 * these folder edges and fails when one is no longer in the code (then delete its line here),
 * so the list only shrinks. Never add to it: cut the new cycle instead (move the shared piece
 * down into lib/ or into the lower folder, or pass the value in from the composing layer).
 */
const KNOWN_CYCLE_EDGES: Record<string, string> = {
};

/** Folders holding the program's sources; test/ and bench/ only consume them. */
const SKIP = new Set(['node_modules', '.git', 'dist', 'build', 'test', 'bench']);

function sources(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (SKIP.has(e.name) && dir === ROOT) continue;
    if (e.name === 'node_modules' || e.name === 'build') continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) sources(p, out);
    else if (/\.m?ts$/.test(e.name) && !e.name.endsWith('.d.ts')) out.push(relative(ROOT, p));
  }
  return out;
}

/** Relative import specifiers of a file: static imports and re-exports, `import('./x.ts')`. */
function importsOf(text: string): string[] {
  // Drop comments that start a line: module comments show example imports.
  const code = text.replace(/^\s*\/\*[\s\S]*?\*\//gm, '').replace(/^\s*\/\/.*$/gm, '');
  const specs: string[] = [];
  const re = /\b(?:import|export)\b[^'";]*?\bfrom\s*['"](\.{1,2}\/[^'"]+)['"]|\bimport\s*\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)|^\s*import\s+['"](\.{1,2}\/[^'"]+)['"]/gm;
  for (const m of code.matchAll(re)) specs.push((m[1] ?? m[2] ?? m[3])!);
  return specs;
}

/** A file's folder for the graph: its first two path parts (agent/inputs/serial/port.ts -> agent/inputs). */
const folderOf = (file: string) => dirname(file).split('/').slice(0, 2).join('/');

interface Graph {
  /** folder -> folder -> one example `file -> file` import, for the message. */
  edges: Map<string, Map<string, string>>;
  libLeaks: string[];
}

function buildGraph(): Graph {
  const edges = new Map<string, Map<string, string>>();
  const libLeaks: string[] = [];
  for (const file of sources(ROOT)) {
    for (const spec of importsOf(readFileSync(join(ROOT, file), 'utf8'))) {
      const target = relative(ROOT, resolve(ROOT, dirname(file), spec));
      if (file.startsWith('lib/') && !target.startsWith('lib/')) libLeaks.push(`${file} imports ${target}`);
      const from = folderOf(file);
      const to = folderOf(target);
      if (from === to) continue;
      if (!edges.has(from)) edges.set(from, new Map());
      if (!edges.get(from)!.has(to)) edges.get(from)!.set(to, `${file} -> ${target}`);
    }
  }
  return { edges, libLeaks };
}

/** Strongly connected components with more than one folder (Tarjan), each as a cycle path. */
function cycles(edges: Map<string, Map<string, string>>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v)?.keys() ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1) found.push(scc.sort());
    }
  };
  for (const v of [...edges.keys()].sort()) if (!index.has(v)) visit(v);
  return found;
}

test('folders import one another in one direction only: no import cycle between folders, and lib/ imports nothing outside lib/', () => {
  const { edges, libLeaks } = buildGraph();
  assert.deepEqual(libLeaks, [], 'lib/ is the bottom layer: move what it needs into lib/, or pass it in');

  const stale = Object.keys(KNOWN_CYCLE_EDGES).filter((k) => {
    const [from, to] = k.split(' -> ');
    return !edges.get(from!)?.has(to!);
  });
  assert.deepEqual(stale, [], 'these allowed edges are gone from the code: delete them from KNOWN_CYCLE_EDGES');

  const pruned = new Map([...edges].map(([from, tos]) => [from, new Map([...tos].filter(([to]) => !(`${from} -> ${to}` in KNOWN_CYCLE_EDGES)))]));
  const report = cycles(pruned).map((scc) =>
    scc.flatMap((from) => [...pruned.get(from)!].filter(([to]) => scc.includes(to)).map(([to, example]) => `${from} -> ${to} (e.g. ${example})`)));
  assert.deepEqual(report, [], 'folders that import one another: cut the cycle (see docs/architecture.md, "The dependency rule")');
});

test('the import scan sees the forms the sources use, and the cycle finder finds a cycle', () => {
  const text = [
    "/**\n * import { nope } from '../in-a-comment.ts';\n */",
    "import { a } from './a.ts';",
    "import type {\n  B,\n  C,\n} from '../b/c.ts';",
    "export { d } from '../d.ts';",
    "const e = await import('../e/e.ts');",
    "import './side-effect.ts';",
    "import { readFileSync } from 'node:fs';",
  ].join('\n');
  assert.deepEqual(importsOf(text), ['./a.ts', '../b/c.ts', '../d.ts', '../e/e.ts', './side-effect.ts']);
  const g = new Map([
    ['x', new Map([['y', '']])],
    ['y', new Map([['z', '']])],
    ['z', new Map([['x', '']])],
    ['w', new Map([['x', '']])],
  ]);
  assert.deepEqual(cycles(g), [['x', 'y', 'z']]);
  g.get('z')!.delete('x');
  assert.deepEqual(cycles(g), []);
});
