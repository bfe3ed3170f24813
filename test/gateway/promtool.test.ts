/**
 * Prometheus' own linter over the gateway's metrics: `promtool check metrics` (Debian
 * `prometheus`) on the library's endpoint (observeGateway, with and without process
 * metrics) and on the CLI gateway's (`hijack gateway --metrics-listen`, a child process),
 * each after real traffic: allowed and denied requests, a takeover that ran and ended,
 * a client refused by the parser.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { requirePeer } from '../helpers/peers.js';
import { execCat, readAll, request, rig, startCliGateway, until } from './observe-helpers.js';

/** What promtool says of `text` (exit status and output); empty output means clean. */
function promtool(bin: string, text: string): { status: number | null; out: string } {
  const r = spawnSync(bin, ['check', 'metrics'], {
    input: text,
    encoding: 'utf8',
    timeout: 10_000,
  });
  return { status: r.status, out: `${r.stdout}${r.stderr}`.trim() };
}

/** Allowed and denied requests, one exec `cat` taken over and ended, one malformed head. */
async function traffic(port: number, base: string): Promise<void> {
  assert.equal((await request({ port }, 'GET', '/_ping')).status, 200);
  assert.equal((await request({ port }, 'GET', '/images/json')).status, 403);
  const conn = await execCat({ port, base } as Parameters<typeof execCat>[0]);
  conn.socket.write('hello\n');
  conn.closeWrite();
  await readAll(conn.socket);
  const bad = net.connect(port, '127.0.0.1');
  bad.on('error', () => {});
  bad.resume();
  bad.end('NOT HTTP\r\n\r\n');
  await once(bad, 'close');
}

function checkClean(t: TestContext, bin: string, text: string) {
  const r = promtool(bin, text);
  assert.equal(r.out, '', `promtool check metrics:\n${r.out}`);
  assert.equal(r.status, 0);
  // The names that carry units and kinds right.
  assert.match(text, /^# TYPE hijack_gateway_tcp_retransmitted_segments_total counter$/m);
  assert.match(text, /^# TYPE hijack_gateway_tcp_delivery_rate_bytes_per_second gauge$/m);
  assert.match(text, /^hijack_gateway_takeovers_total\{kind="upgrade",end="half-close"\} 1$/m);
  assert.match(text, /^hijack_gateway_client_errors_total\{code="HPE_[A-Z_]+"\} 1$/m);
  t.diagnostic(`${text.split('\n').filter((l) => l.startsWith('# TYPE')).length} metrics clean`);
}

for (const processMetrics of [false, true]) {
  test(
    `promtool check metrics: the library's endpoint${processMetrics ? ' with process metrics' : ''}`,
    { timeout: 30_000 },
    async (t) => {
      const bin = requirePeer(t, 'promtool', 'Debian prometheus');
      if (!bin) return;
      const r = await rig(() => ({
        log: false,
        metrics: { listen: { kind: 'tcp', host: '127.0.0.1', port: 0 }, processMetrics },
      }));
      try {
        await traffic(r.port, r.base);
        await until(() => r.gw.takeovers === 0, 'the takeover ended');
        const text = await (await fetch(r.urls.metrics!)).text();
        checkClean(t, bin, text);
        if (processMetrics) assert.match(text, /^# TYPE nodejs_active_handles gauge$/m);
      } finally {
        await r.close();
      }
    },
  );
}

test(
  'promtool check metrics: the CLI gateway (hijack gateway --metrics-listen)',
  { timeout: 30_000 },
  async (t) => {
    const bin = requirePeer(t, 'promtool', 'Debian prometheus');
    if (!bin) return;
    const cli = await startCliGateway(
      ['--metrics-listen', 'tcp://127.0.0.1:0', '--log-level', 'silent'],
      [/metrics on (http:\/\/\S+)/],
    );
    try {
      const urls = { port: cli.port, metrics: /metrics on (http:\/\/\S+)/.exec(cli.stderr())![1]! };
      await traffic(urls.port, `tcp://127.0.0.1:${urls.port}`);
      const text = await until(async () => {
        const s = await (await fetch(urls.metrics)).text();
        return /^hijack_gateway_takeovers_open\{kind="upgrade"\} 0$/m.test(s) ? s : undefined;
      }, 'the takeover ended');
      checkClean(t, bin, text);
      assert.match(text, /^# TYPE process_cpu_seconds_total counter$/m, 'process metrics are on');
      assert.doesNotMatch(text, /nodejs_active_handles_total/);
    } finally {
      await cli.stop();
    }
  },
);
