/**
 * Cost of one tcpInfo() and one peerCred() call, side by side with one `ss -tin` run for one
 * connection (iproute2 through netlink: the way to get these facts without this package).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { peerCred, tcpInfo } from '../dist/socket/index.js';
import { fmt, table, type BenchContext, type BenchSection } from './lib.js';

async function pair(
  listenArg: number | string,
): Promise<{ client: net.Socket; close: () => Promise<void> }> {
  const srv = net.createServer();
  await new Promise<void>((r) =>
    typeof listenArg === 'string'
      ? srv.listen(listenArg, r)
      : srv.listen(listenArg, '127.0.0.1', r),
  );
  const accepted = new Promise<net.Socket>((r) => srv.once('connection', r));
  const addr = srv.address();
  const client =
    typeof addr === 'string'
      ? net.connect(addr)
      : net.connect((addr as net.AddressInfo).port, '127.0.0.1');
  await new Promise<void>((r) => client.once('connect', r));
  const server = await accepted;
  return {
    client,
    close: async () => {
      client.destroy();
      server.destroy();
      await new Promise<void>((r) => srv.close(() => r()));
    },
  };
}

/** Calls per second of a synchronous fn, best of `rounds` runs of `n` calls. */
function rate(fn: () => unknown, n: number, rounds: number): number {
  let best = 0;
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) fn();
    best = Math.max(best, (n * 1000) / (performance.now() - t0));
  }
  return best;
}

export default async function run(ctx: BenchContext): Promise<BenchSection> {
  const calls = ctx.quick ? 100_000 : 1_000_000;
  const rounds = ctx.quick ? 2 : 5;
  const ssRuns = ctx.quick ? 10 : 50;

  const tcp = await pair(0);
  const dir = mkdtempSync(join(tmpdir(), 'hj-bench-'));
  const unix = await pair(join(dir, 's.sock'));
  try {
    const infoRate = rate(() => tcpInfo(tcp.client), calls, rounds);
    const credRate = rate(() => peerCred(unix.client), calls, rounds);
    const args = [
      '-tinH',
      'src',
      `127.0.0.1:${tcp.client.localPort}`,
      'dst',
      `127.0.0.1:${tcp.client.remotePort}`,
    ];
    let ssMs = Infinity;
    const ssOk = spawnSync('ss', args).status === 0;
    if (ssOk) {
      const t0 = performance.now();
      for (let i = 0; i < ssRuns; i++) spawnSync('ss', args);
      ssMs = (performance.now() - t0) / ssRuns;
    }
    const us = (r: number) => 1e6 / r;
    const rows: (string | number)[][] = [
      [
        '`tcpInfo(socket)` (getsockopt TCP_INFO + decode, 69 fields)',
        fmt(us(infoRate) * 1000),
        fmt(infoRate),
        '1',
      ],
      ['`peerCred(socket)` (getsockopt SO_PEERCRED)', fmt(us(credRate) * 1000), fmt(credRate), '—'],
      ssOk
        ? [
            '`ss -tinH src … dst …` (one process, netlink dump)',
            fmt(ssMs * 1e6),
            fmt(1000 / ssMs, 1),
            `${fmt((ssMs * 1000) / us(infoRate))}× slower`,
          ]
        : ['`ss -tin`', 'not installed', '—', '—'],
    ];
    const markdown = [
      '## socket: tcpInfo and peerCred vs `ss -tin`',
      '',
      `One established loopback connection (and one unix-socket connection for peerCred). Each call is timed as the best of ${rounds} runs of ${fmt(calls)} calls on one core; \`ss\` as the mean of ${ssRuns} runs of \`ss -tinH\` filtered to that connection (spawn, netlink query, print). Target: under 1 µs per call.`,
      '',
      table(['operation', 'ns per call', 'calls per second', 'ratio to tcpInfo'], rows),
    ].join('\n');
    return { markdown };
  } finally {
    await tcp.close();
    await unix.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
