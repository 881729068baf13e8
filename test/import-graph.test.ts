/**
 * The layering of src/ (docs ARCHITECTURE "Layers"): imports run one way, fronts → services → domain. Read from
 * the source with the TypeScript compiler, so `import type` and re-exports count as much as value imports.
 */
import path from 'node:path';
import { importCycles, readImportGraph, type ImportGraph } from './helpers/import-graph';

const graph = readImportGraph(path.resolve(__dirname, '..', 'src'));

/** The three ways in: the command line, the HTTP server, the web console. */
const FRONTS = ['cli', 'http', 'console'] as const;
/**
 * Composition roots: they wire the fronts to the services, so only fronts and roots may sit above them. `serve`'s
 * root is split by side (bridge-intake.ts receives, bridge-delivery.ts delivers; `serve --role` runs either or both;
 * on SQLite the delivering side runs in a thread: bridge-delivery-thread.ts starts delivery-thread-main.ts).
 */
const ROOTS = ['bridge.ts', 'bridge-intake.ts', 'bridge-delivery.ts', 'bridge-live.ts', 'bridge-delivery-thread.ts', 'delivery-thread-main.ts', 'main.ts'];

const frontOf = (file: string) => FRONTS.find((front) => file.startsWith(`${front}/`));
const isRoot = (file: string) => ROOTS.includes(file);

/** Every edge `from → to` for which `forbidden(from, to)` holds, as readable lines. */
function violations(g: ImportGraph, forbidden: (from: string, to: string) => boolean): string[] {
  return [...g].flatMap(([from, targets]) => targets.filter((to) => forbidden(from, to)).map((to) => `${from} → ${to}`));
}

describe('import graph of src/', () => {
  it('reads the graph (sanity: known edges are found, type-only ones included)', () => {
    expect(graph.get('main.ts')).toContain('cli/index.ts');
    expect(graph.size).toBeGreaterThan(50);
    // A type-only import must be an edge, or a type cycle would go unseen.
    expect(graph.get('destinations/types.ts')).toContain('domain/alert.ts');
  });

  it('has no import cycles', () => {
    expect(importCycles(graph)).toEqual([]);
  });

  it('no front imports another front', () => {
    expect(violations(graph, (from, to) => frontOf(from) !== undefined && frontOf(to) !== undefined && frontOf(from) !== frontOf(to))).toEqual([]);
  });

  it('no sender (destinations/) imports the outbox (delivery/)', () => {
    expect(violations(graph, (from, to) => from.startsWith('destinations/') && to.startsWith('delivery/'))).toEqual([]);
  });

  it('nothing below the fronts imports a front or a composition root', () => {
    const below = (file: string) => frontOf(file) === undefined && !isRoot(file);
    expect(violations(graph, (from, to) => below(from) && (frontOf(to) !== undefined || isRoot(to)))).toEqual([]);
  });
});

describe('importCycles', () => {
  it('finds each loop once, and none in a tree', () => {
    const g: ImportGraph = new Map([
      ['a.ts', ['b.ts']],
      ['b.ts', ['c.ts']],
      ['c.ts', ['a.ts', 'd.ts']],
      ['d.ts', []],
      ['e.ts', ['e.ts']],
    ]);
    expect(importCycles(g)).toEqual(['a.ts → b.ts → c.ts → a.ts', 'e.ts → e.ts']);
    expect(importCycles(new Map([['a.ts', ['b.ts']], ['b.ts', []]]))).toEqual([]);
  });
});
