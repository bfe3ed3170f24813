/**
 * Takeover rate of dialHijack against a Go 1.19 net/http hijack server, side by side with
 * a Go 1.19 hijacking client (its own rate over N sequential takeovers) and undici's
 * upgrade(). Each takeover: connect, POST with Upgrade: tcp, read the 101, half-close,
 * wait for the server's EOF.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Client } from 'undici';
import { dialHijack } from '../dist/client/dial.js';
import { buildGoPeer } from '../test/helpers/go.js';
import { fmt, table, type BenchContext, type BenchSection } from './lib.js';

function untilEnd(s: NodeJS.ReadableStream & { resume(): unknown }): Promise<void> {
  return new Promise((resolve, reject) => {
    s.once('end', resolve);
    s.once('error', reject);
    s.resume();
  });
}

async function measure(n: number, one: () => Promise<void>) {
  for (let i = 0; i < Math.min(200, n); i++) await one(); // warm-up
  const lat: number[] = [];
  const start = performance.now();
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await one();
    lat.push(performance.now() - t0);
  }
  const total = performance.now() - start;
  lat.sort((a, b) => a - b);
  return { ops: (n * 1000) / total, p50: lat[Math.floor(n / 2)]!, p99: lat[Math.floor(n * 0.99)]! };
}

export default async function bench(ctx: BenchContext): Promise<BenchSection> {
  const n = ctx.quick ? 300 : 3000;
  const dir = mkdtempSync(join(tmpdir(), 'hjb-'));
  const sock = join(dir, 's.sock');
  const server = spawn(buildGoPeer('hijack-server'), ['-listen', `unix://${sock}`], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  await new Promise<void>((r) => server.stdout!.once('data', () => r()));
  const rows: (string | number)[][] = [];
  try {
    const target = `unix://${sock}`;
    const ours = await measure(n, async () => {
      const c = await dialHijack(target, { path: '/bench' });
      c.closeWrite();
      await untilEnd(c.socket);
      c.socket.destroy();
    });
    const client = new Client('http://localhost', { socketPath: sock });
    const undici = await measure(n, async () => {
      const { socket } = await client.upgrade({ path: '/bench', method: 'POST', protocol: 'tcp' });
      socket.end();
      await untilEnd(socket);
      socket.destroy();
    });
    await client.close();
    const go = spawnSync(
      buildGoPeer('hijack-client'),
      ['-target', target, '-path', '/bench', '-n', String(n)],
      { encoding: 'utf8' },
    );
    const goOps = Number(/ops_per_sec ([\d.]+)/.exec(go.stdout)?.[1] ?? NaN);
    rows.push(
      ['hijack dialHijack()', fmt(ours.ops), fmt(ours.p50, 3), fmt(ours.p99, 3), '1.00×', '1.00×'],
      [
        'undici upgrade()',
        fmt(undici.ops),
        fmt(undici.p50, 3),
        fmt(undici.p99, 3),
        `${fmt(ours.ops / undici.ops, 2)}×`,
        '',
      ],
      [
        'Go 1.19 client (net/http ReadResponse)',
        fmt(goOps),
        '',
        '',
        '',
        `${fmt(ours.ops / goOps, 2)}×`,
      ],
    );
  } finally {
    server.kill();
    rmSync(dir, { recursive: true, force: true });
  }
  return {
    markdown:
      '## Client: takeover rate (dialHijack)\n\n' +
      `${n} sequential takeovers over a unix socket against a Go 1.19 net/http server that ` +
      'hijacks (test/peers/go/hijack-server, route /bench): connect, POST with `Upgrade: tcp`, ' +
      'read the 101 head, half-close, wait for the server to close. Target: ours ≥ 1.0× both.\n\n' +
      table(['client', 'takeovers/s', 'p50 ms', 'p99 ms', 'ours vs undici', 'ours vs Go'], rows),
  };
}
