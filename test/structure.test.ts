/**
 * The import graph of src/, read from the sources with the TypeScript compiler's own
 * pre-processor (import, export-from, dynamic import and type-only imports alike; comments
 * and strings are not imports): no cycle anywhere, the layers import downward only
 * (cli → demo → gateway → stream / server → client → http1 / endpoint / socket → errors;
 * the exact edges are {@link ALLOWED}), and the few folders whose files are ordered by role
 * keep that order (the CLI's main → subcommands → shared; the splice entry → engines → base).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

const root = new URL('../src/', import.meta.url).pathname;

/** Every .ts file under `dir`, as a path relative to src/. */
function sources(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) sources(p, out);
    else if (name.endsWith('.ts')) out.push(relative(root, p));
  }
  return out;
}

/** The import graph: file → the src/ files it imports (relative specifiers only). */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sources(root)) {
    const text = readFileSync(join(root, file), 'utf8');
    const { importedFiles } = ts.preProcessFile(text, true, true);
    const targets: string[] = [];
    for (const { fileName } of importedFiles) {
      if (!fileName.startsWith('.')) continue;
      const target = relative(root, resolve(dirname(join(root, file)), fileName)).replace(
        /\.js$/,
        '.ts',
      );
      assert.ok(existsSync(join(root, target)), `${file} imports ${fileName}: no such file`);
      targets.push(target);
    }
    graph.set(file, [...new Set(targets)]);
  }
  return graph;
}

/** The import cycles of `graph` (its strongly connected components of more than one file, or a file importing itself). */
export function cyclesOf(graph: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) out.push(scc.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return out;
}

/** A file's layer: its top folder under src/, or the file's name for src/index.ts and src/errors.ts. */
const layerOf = (file: string): string => file.split('/')[0]!.replace(/\.ts$/, '');

/**
 * The layers each layer may import (besides its own). `index` is the package's entry: the
 * library surface, never the CLI or the demo. Peers on one level (stream and server; the
 * bottom row) do not import each other, except where listed: a client request head is
 * http1's, the native splice engine loads its addon through socket/.
 */
const ALLOWED: Record<string, string[]> = {
  cli: ['demo', 'gateway', 'stream', 'server', 'client', 'http1', 'endpoint', 'socket', 'errors'],
  index: ['gateway', 'stream', 'server', 'client', 'http1', 'endpoint', 'socket', 'errors'],
  demo: ['gateway', 'stream', 'server', 'client', 'http1', 'endpoint', 'socket', 'errors'],
  gateway: ['stream', 'server', 'client', 'http1', 'endpoint', 'socket', 'errors'],
  stream: ['socket', 'errors'],
  server: ['http1', 'socket', 'errors'],
  client: ['http1', 'endpoint', 'socket', 'errors'],
  http1: ['errors'],
  endpoint: ['socket', 'errors'],
  socket: ['errors'],
  errors: [],
};

/**
 * Files ordered by role inside one folder: a file may import only files of a higher rank
 * (the entry sits at 0). Files of the folder not listed take `rest`.
 */
const ROLE_ORDER: { folder: string; ranks: Record<string, number>; rest: number }[] = [
  // main.ts registers the subcommands; they share shared.ts.
  { folder: 'cli', ranks: { 'cli/main.ts': 0, 'cli/shared.ts': 3 }, rest: 1 },
  // splice.ts is the entry, the engines build on the base.
  {
    folder: 'stream',
    ranks: {
      'stream/index.ts': 0,
      'stream/splice.ts': 1,
      'stream/splice-stream.ts': 2,
      'stream/splice-native.ts': 2,
      'stream/splice-base.ts': 3,
    },
    rest: 3,
  },
];

/** What breaks the rules in `graph`: one line per forbidden edge. */
export function violationsOf(graph: Map<string, string[]>): string[] {
  const out: string[] = [];
  for (const [from, targets] of graph) {
    for (const to of targets) {
      const a = layerOf(from);
      const b = layerOf(to);
      if (a !== b) {
        const allowed = ALLOWED[a];
        if (!allowed) out.push(`${from}: layer '${a}' is not in the table`);
        else if (!allowed.includes(b)) out.push(`${from} → ${to}: '${a}' may not import '${b}'`);
        continue;
      }
      for (const { folder, ranks, rest } of ROLE_ORDER) {
        if (a !== folder) continue;
        const ra = ranks[from] ?? rest;
        const rb = ranks[to] ?? rest;
        // Two files outside the ranks (e.g. attach.ts → attach-tty.ts) are siblings.
        if (rb <= ra && (from in ranks || to in ranks)) {
          out.push(`${from} → ${to}: within ${folder}/, imports run from the entry down`);
        }
      }
    }
  }
  return out;
}

test('src/ has no import cycle (type-only imports included)', () => {
  const graph = importGraph();
  assert.ok(graph.size > 50, `scanned ${graph.size} files`);
  assert.deepEqual(cyclesOf(graph), []);
});

test('layers import downward only; the CLI and the splice engines in role order', () => {
  assert.deepEqual(violationsOf(importGraph()), []);
});

test('the checks catch what they are for', () => {
  const g = new Map<string, string[]>([
    ['a/x.ts', ['a/y.ts']],
    ['a/y.ts', ['a/z.ts']],
    ['a/z.ts', ['a/x.ts']],
    ['b.ts', ['b.ts']],
  ]);
  assert.deepEqual(cyclesOf(g), [['a/x.ts', 'a/y.ts', 'a/z.ts'], ['b.ts']]);
  const v = violationsOf(
    new Map([
      ['socket/fd.ts', ['stream/splice.ts']],
      ['cli/attach.ts', ['cli/main.ts', 'cli/shared.ts', 'cli/attach-tty.ts']],
      ['stream/splice-base.ts', ['stream/splice-native.ts']],
      ['stream/splice-stream.ts', ['stream/splice-native.ts', 'stream/splice-base.ts']],
      ['gateway/server.ts', ['stream/splice.ts']],
      ['cli/main.ts', ['cli/shared.ts', 'cli/gateway.ts']],
    ]),
  );
  assert.equal(v.length, 4, v.join('\n'));
  assert.match(v[0]!, /'socket' may not import 'stream'/);
  assert.match(v[1]!, /cli\/attach.ts → cli\/main.ts/);
  assert.match(v[2]!, /stream\/splice-base.ts → stream\/splice-native.ts/);
  assert.match(v[3]!, /stream\/splice-stream.ts → stream\/splice-native.ts/);
});
