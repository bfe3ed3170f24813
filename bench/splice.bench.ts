/**
 * Throughput through a spliced pair of loopback connections versus a plain
 * `a.pipe(b); b.pipe(a)`: L → a ═ b → R, one direction loaded, measured at R.
 */
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { splice } from '../dist/stream/splice.js';
import { fmt, table, type BenchContext, type BenchSection } from './lib.js';

async function pair(srv: net.Server, port: number): Promise<[net.Socket, net.Socket]> {
  const accepted = new Promise<net.Socket>((r) => srv.once('connection', r));
  const c = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  await new Promise((r) => c.once('connect', r));
  return [c, await accepted];
}

async function once(
  srv: net.Server,
  port: number,
  bytes: number,
  join: (a: net.Socket, b: net.Socket) => void,
): Promise<number> {
  const [L, a] = await pair(srv, port);
  const [b, R] = await pair(srv, port);
  join(a, b);
  const chunk = Buffer.alloc(256 * 1024, 1);
  let got = 0;
  const t0 = performance.now();
  const done = new Promise<void>((r) =>
    R.on('data', (c: Buffer) => {
      got += c.length;
      if (got >= bytes) r();
    }),
  );
  for (let sent = 0; sent < bytes; sent += chunk.length) {
    if (!L.write(chunk)) await new Promise((r) => L.once('drain', r));
  }
  await done;
  const ms = performance.now() - t0;
  for (const s of [L, a, b, R]) s.destroy();
  return bytes / (ms / 1000) / 2 ** 20;
}

export default async function bench(ctx: BenchContext): Promise<BenchSection> {
  const srv = net.createServer({ allowHalfOpen: true });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as net.AddressInfo;
  const bytes = (ctx.quick ? 256 : 1024) * 2 ** 20;
  const rounds = ctx.quick ? 2 : 5;
  const res = { splice: [] as number[], stream: [] as number[], pipe: [] as number[] };
  try {
    for (let i = 0; i < rounds; i++) {
      // Interleaved so both see the same machine state.
      res.splice.push(await once(srv, port, bytes, (a, b) => void splice(a, b)));
      res.stream.push(await once(srv, port, bytes, (a, b) => void splice(a, b, { native: false })));
      res.pipe.push(
        await once(srv, port, bytes, (a, b) => {
          a.pipe(b);
          b.pipe(a);
        }),
      );
    }
  } finally {
    srv.close();
  }
  const med = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
  const s = med(res.splice);
  const st = med(res.stream);
  const p = med(res.pipe);
  return {
    markdown:
      '## Streams: splice() throughput\n\n' +
      `${bytes / 2 ** 20} MiB one way through L → a ═ b → R (four loopback TCP sockets in one ` +
      `process; the load generator and the reader share the core with the join), median of ` +
      `${rounds} interleaved rounds. Target: splice ≥ 0.95× pipe. splice() uses its native ` +
      'relay for plain sockets; the second row forces its stream engine.\n\n' +
      table(
        ['join', 'MiB/s (median)', 'ratio'],
        [
          ['splice(a, b), native relay', fmt(s), `${fmt(s / p, 2)}×`],
          ['splice(a, b, { native: false }), stream engine', fmt(st), `${fmt(st / p, 2)}×`],
          ['a.pipe(b); b.pipe(a)', fmt(p), '1.00×'],
        ],
      ),
  };
}
