/**
 * Server benchmarks, every row measured side by side in one run:
 *
 * 1. Takeover rate: connect, `Upgrade` request, 101, one-byte echo, close. Our hijack()
 *    in a 'request' handler (enableHijack server) against Node's bare 'upgrade' event and
 *    Go 1.19 net/http Hijack at GOMAXPROCS=1. One load client for all three: a Go program
 *    (test/peers/go/takeover-load) with fixed concurrency and duration.
 * 2. Keep-alive GET requests per second with trackConnections() on and off (wrk).
 * 3. Ordinary traffic on servers that can take over: keep-alive GET and 512-byte POST on
 *    node:http and Express, each with and without enableHijack (and with the tracker, and
 *    with a takeover filter that leaves every benchmarked request out).
 *
 * Servers run in their own processes pinned to CPU 0, load clients pinned to CPU 1 (when
 * taskset and two CPUs exist). Rounds alternate the servers; the best round counts.
 *
 * The same file is also the Node server process: with HIJACK_BENCH_SERVER set it serves
 * that variant and prints its port.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { enableHijack, hijack, trackConnections } from '../dist/server/index.js';
import { buildGoPeer } from '../test/helpers/go.js';
import {
  fmt,
  pin,
  pinnable,
  runCommand,
  startProcess,
  stopProcess,
  table,
  type BenchContext,
  type BenchSection,
} from './lib.js';

const SWITCH = 'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n';

/** Echoes every byte until the client ends, then ends. */
function echo(socket: Socket, head: Buffer): void {
  socket.write(SWITCH);
  if (head.length) socket.write(head);
  socket.on('data', (d: Buffer) => socket.write(d));
  socket.on('end', () => socket.end());
  socket.on('error', () => socket.destroy());
}

/** Worker mode: one server variant in this process. */
function serve(kind: string): void {
  const server = createServer();
  if (kind === 'hijack') {
    enableHijack(server);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      hijack(req, res).then(
        ({ socket, head }) => echo(socket, head),
        () => res.destroy(),
      );
    });
  } else if (kind === 'upgrade') {
    server.on('upgrade', (_req: IncomingMessage, socket: Socket, head: Buffer) =>
      echo(socket, head),
    );
  } else if (kind === 'tracked' || kind === 'untracked') {
    if (kind === 'tracked') trackConnections(server);
    server.on('request', (_req: IncomingMessage, res: ServerResponse) => {
      res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': 3 });
      res.end('ok\n');
    });
  } else if (GATED_KINDS.includes(kind)) {
    // Ordinary traffic on a server that may take connections over: GET, and POST whose
    // body the handler reads; plain node:http or an Express app.
    const answer = (req: IncomingMessage, res: ServerResponse) => {
      let n = 0;
      req.on('data', (c: Buffer) => (n += c.length));
      req.on('end', () => {
        res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': 3 });
        res.end(n > 0 ? 'ok\n' : 'ok.');
      });
    };
    if (kind.startsWith('express')) {
      const app = express();
      app.get('/', answer);
      app.post('/', answer);
      server.on('request', app);
    } else {
      server.on('request', answer);
    }
    // "filter": the app takes connections over on /attach only, and says so (takeover).
    if (kind.includes('filter')) {
      enableHijack(server, { takeover: (req) => req.url!.startsWith('/attach') });
    } else if (kind.includes('enable')) enableHijack(server);
    if (kind.includes('track')) trackConnections(server);
  } else {
    throw new Error(`unknown HIJACK_BENCH_SERVER ${kind}`);
  }
  server.listen(0, '127.0.0.1', () => {
    process.stdout.write(`listening 127.0.0.1:${(server.address() as AddressInfo).port}\n`);
  });
  process.on('SIGTERM', () => process.exit(0));
}

interface Variant {
  name: string;
  argv: string[];
  env: NodeJS.ProcessEnv;
}

const self = fileURLToPath(import.meta.url);
const nodeServer = (kind: string): Variant => ({
  name: kind,
  argv: pin(0, [process.execPath, '--import', 'tsx', self]),
  env: { ...process.env, HIJACK_BENCH_SERVER: kind },
});

/**
 * Runs `measure` against each variant, alternating, `rounds` times; best per variant.
 * Each fresh server process is warmed up first with `warm` (JIT, lazy state), unmeasured.
 */
async function alternate(
  variants: Variant[],
  rounds: number,
  measure: (addr: string, warmup: boolean) => Promise<number>,
): Promise<Map<string, number[]>> {
  const results = new Map<string, number[]>(variants.map((v) => [v.name, []]));
  for (let r = 0; r < rounds; r++) {
    for (const v of variants) {
      const { addr, proc } = await startProcess(v.argv, v.env);
      try {
        await measure(addr, true);
        results.get(v.name)!.push(await measure(addr, false));
      } finally {
        await stopProcess(proc);
      }
    }
  }
  return results;
}

const best = (xs: number[]) => Math.max(...xs);

async function takeovers(ctx: BenchContext) {
  const load = buildGoPeer('takeover-load');
  const goServer = buildGoPeer('hijack-echo-server');
  const seconds = ctx.quick ? 1.5 : 5;
  const concurrency = 16;
  const rounds = ctx.quick ? 1 : 4;
  const variants: Variant[] = [
    nodeServer('hijack'),
    nodeServer('upgrade'),
    { name: 'go', argv: pin(0, [goServer]), env: { ...process.env, GOMAXPROCS: '1' } },
  ];
  const errors = new Map<string, number>();
  const res = await alternate(variants, rounds, async (addr, warmup) => {
    const d = warmup ? 1 : seconds;
    const out = await runCommand(
      pin(1, [load, '-addr', addr, '-c', String(concurrency), '-d', `${d}s`]),
    );
    const r = JSON.parse(out) as { rate: number; errors: number; firstError: string };
    if (r.errors)
      console.error(`takeover-load ${addr}: ${r.errors} errors, first: ${r.firstError}`);
    if (!warmup) errors.set(addr, r.errors);
    return r.rate;
  });
  return {
    res,
    seconds,
    concurrency,
    rounds,
    errors: [...errors.values()].reduce((a, b) => a + b, 0),
  };
}

async function keepAlive(ctx: BenchContext) {
  const seconds = ctx.quick ? 2 : 5;
  const conns = 32;
  const threads = 1;
  const rounds = ctx.quick ? 1 : 5;
  const res = await alternate(
    [nodeServer('untracked'), nodeServer('tracked')],
    rounds,
    async (addr, warmup) => {
      const d = warmup ? 1 : seconds;
      const out = await runCommand(
        pin(1, ['wrk', `-t${threads}`, `-c${conns}`, `-d${d}s`, `http://${addr}/`]),
      );
      const m = /Requests\/sec:\s+([\d.]+)/.exec(out);
      if (!m) throw new Error(`wrk gave no Requests/sec:\n${out}`);
      return Number(m[1]);
    },
  );
  return { res, seconds, conns, threads, rounds };
}

/** Server variants of the ordinary-traffic rows (plain node:http or Express, gated or not). */
const GATED_KINDS = [
  'plain',
  'enable',
  'enable-filter',
  'enable+track',
  'express',
  'express+enable',
  'express+enable-filter',
];
const GATED_NAMES: Record<string, string> = {
  plain: 'node:http',
  enable: 'node:http + enableHijack()',
  'enable-filter': 'node:http + enableHijack({ takeover: /attach only })',
  'enable+track': 'node:http + enableHijack() + trackConnections()',
  express: 'Express',
  'express+enable': 'Express + enableHijack()',
  'express+enable-filter': 'Express + enableHijack({ takeover: /attach only })',
};

/** Keep-alive GET and 512-byte POST on each variant, alternated, best run each. */
async function gated(ctx: BenchContext) {
  const seconds = ctx.quick ? 2 : 4;
  const rounds = ctx.quick ? 1 : 3;
  const post = join(tmpdir(), 'hijack-bench-post.lua');
  writeFileSync(
    post,
    `wrk.method = "POST"\nwrk.body = string.rep("x", 512)\nwrk.headers["Content-Type"] = "text/plain"\n`,
  );
  const out: Record<string, Map<string, number[]>> = {};
  for (const [method, extra] of [
    ['GET', [] as string[]],
    ['POST', ['-s', post]],
  ] as const) {
    out[method] = await alternate(GATED_KINDS.map(nodeServer), rounds, async (addr, warmup) => {
      const d = warmup ? 1 : seconds;
      const text = await runCommand(
        pin(1, ['wrk', '-t1', '-c32', `-d${d}s`, ...extra, `http://${addr}/`]),
      );
      const m = /Requests\/sec:\s+([\d.]+)/.exec(text);
      if (!m) throw new Error(`wrk gave no Requests/sec:\n${text}`);
      return Number(m[1]);
    });
  }
  return { out, seconds, rounds };
}

export default async function bench(ctx: BenchContext): Promise<BenchSection> {
  const g = await gated(ctx);
  const t = await takeovers(ctx);
  const k = await keepAlive(ctx);
  const hj = best(t.res.get('hijack')!);
  const up = best(t.res.get('upgrade')!);
  const go = best(t.res.get('go')!);
  const on = best(k.res.get('tracked')!);
  const off = best(k.res.get('untracked')!);
  const all = (xs: number[]) => xs.map((x) => fmt(x)).join(' / ');
  const verdict = (ratio: number, target: number) =>
    ratio >= target ? `meets ≥ ${target.toFixed(2)}×` : `below the ${target.toFixed(2)}× target`;
  const markdown = [
    '## Server: takeovers and tracked keep-alive',
    '',
    `Takeover = connect, \`Upgrade: echo\` request, 101, one-byte echo, close. Load client:`,
    `test/peers/go/takeover-load (Go 1.19), ${t.concurrency} connections at a time, ${t.seconds} s`,
    `per run after a 1 s unmeasured warm-up of each fresh server process, ${t.rounds} alternating
round(s), best run counts${pinnable ? '; servers pinned to CPU 0, clients to CPU 1 with taskset' : ''}.`,
    `Each server is one process with one thread of JavaScript (Go: GOMAXPROCS=1). Load-client errors: ${t.errors}.`,
    '',
    table(
      ['server', 'takeovers/s (best)', 'all runs', 'vs Node upgrade', 'vs Go'],
      [
        [
          'hijack() in a request handler (enableHijack)',
          fmt(hj),
          all(t.res.get('hijack')!),
          `${(hj / up).toFixed(3)}× (${verdict(hj / up, 0.95)})`,
          `${(hj / go).toFixed(3)}× (${verdict(hj / go, 1.0)})`,
        ],
        [
          "Node's bare 'upgrade' event",
          fmt(up),
          all(t.res.get('upgrade')!),
          '1.000×',
          `${(up / go).toFixed(3)}×`,
        ],
        [
          'Go 1.19 net/http Hijack, GOMAXPROCS=1',
          fmt(go),
          all(t.res.get('go')!),
          `${(go / up).toFixed(3)}×`,
          '1.000×',
        ],
      ],
    ),
    `Keep-alive \`GET /\` (3-byte body), \`wrk -t${k.threads} -c${k.conns} -d${k.seconds}s\`, each fresh server warmed up for 1 s unmeasured, servers alternated ${k.rounds} times each, best run counts.`,
    '',
    table(
      ['server', 'requests/s (best)', 'all runs', 'ratio'],
      [
        ['node:http, no tracking', fmt(off), all(k.res.get('untracked')!), '1.000×'],
        [
          'node:http + trackConnections()',
          fmt(on),
          all(k.res.get('tracked')!),
          `${(on / off).toFixed(3)}× (${verdict(on / off, 0.97)})`,
        ],
      ],
    ),
    '',
    `Ordinary traffic on a server that can take connections over: keep-alive \`GET /\` and \`POST /\` with a 512-byte body the handler reads, \`wrk -t1 -c32 -d${g.seconds}s\` (POST through a wrk script), each fresh server warmed up for 1 s unmeasured, the ${GATED_KINDS.length} servers alternated ${g.rounds} times, best run counts. Ratios against the same server without enableHijack (target ≥ 0.95×). \`takeover: /attach only\` is \`enableHijack(server, { takeover: (req) => req.url.startsWith('/attach') })\`: every request of the benchmark is one the filter leaves out.`,
    '',
    table(
      ['server', 'GET requests/s', 'GET ratio', 'POST requests/s', 'POST ratio'],
      GATED_KINDS.map((kind) => {
        const base = kind.startsWith('express') ? 'express' : 'plain';
        const cell = (m: string) => {
          const v = best(g.out[m]!.get(kind)!);
          const r = v / best(g.out[m]!.get(base)!);
          return [fmt(v), kind === base ? '1.000×' : `${r.toFixed(3)}× (${verdict(r, 0.95)})`];
        };
        return [GATED_NAMES[kind]!, ...cell('GET'), ...cell('POST')];
      }),
    ),
  ].join('\n');
  return { markdown };
}

if (process.env.HIJACK_BENCH_SERVER) serve(process.env.HIJACK_BENCH_SERVER);
