/**
 * Access log levels and destinations (the line kinds: access-log.test.ts), metrics and the live JSON endpoint of a real gateway in front of the demo
 * engine (unix socket), with real HTTP clients and hijacked streams.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { isHijackError } from '../../src/errors.js';
import { loadTokens } from '../../src/gateway/identity/tokens.js';
import {
  createAccessLog,
  createMetrics,
  type LiveSnapshot,
} from '../../src/gateway/observe/index.js';
import { parseRule } from '../../src/gateway/policy/rule.js';
import { createGateway } from '../../src/gateway/server.js';
import { execCat, lines, readAll, request, rig, until } from './observe-helpers.js';

test(
  'access log: level filters lines, a file destination is appended to, bad level and path are ERR_CONFIG',
  {
    timeout: 20_000,
  },
  async () => {
    const r = await rig((dir) => ({
      log: { level: 'warn', destination: join(dir, 'access.log') },
      metrics: false,
    }));
    const file = join(r.dir, 'access.log');
    try {
      assert.equal((await request({ port: r.port }, 'GET', '/_ping')).status, 200);
      // A client error is a warn line.
      await new Promise<void>((resolve) => {
        const s = net.connect(r.port, '127.0.0.1', () => s.end('BAD\r\n\r\n'));
        s.on('close', () => resolve());
        s.on('error', () => resolve());
        s.resume();
      });
      await sleep(50);
      await r.obs.log!.close();
      const all = lines(readFileSync(file, 'utf8'));
      assert.equal(all.length, 1, JSON.stringify(all));
      assert.equal(all[0]!.level, 'warn');
      assert.equal(all[0]!.msg, 'client error');
      assert.equal(all[0]!.status, 400);
    } finally {
      await r.close();
    }
    const gw = createGateway({ upstream: 'unix:///nonexistent.sock' });
    assert.throws(
      () => createAccessLog(gw, { destination: '/nonexistent-dir/x/access.log' }),
      (e) => isHijackError(e, 'ERR_CONFIG') && /cannot open the access log file/.test(e.message),
    );
    assert.throws(
      () => createAccessLog(gw, { level: 'loud' as never }),
      (e) => isHijackError(e, 'ERR_CONFIG') && /unknown log level/.test(e.message),
    );
    assert.throws(
      () => createAccessLog(gw, { destination: '' }),
      (e) => isHijackError(e, 'ERR_CONFIG'),
    );
    const silent = new PassThrough();
    let n = 0;
    silent.on('data', () => n++);
    const log = createAccessLog(gw, { level: 'silent', destination: silent });
    gw.emit('request', {
      id: 1,
      connId: 1,
      method: 'GET',
      url: '/',
      decision: 'deny',
      status: 403,
      durations: { total: 1 },
      bytes: { in: 0, out: 0 },
    });
    await log.close();
    assert.equal(n, 0);
    await gw.close();
  },
);

test(
  'metrics: per-gateway registries do not clash; requests by rule/status/decision, bounded labels',
  {
    timeout: 20_000,
  },
  async () => {
    const a = await rig(() => ({
      log: false,
      metrics: { listen: { kind: 'tcp', host: '127.0.0.1', port: 0 } },
    }));
    const b = await rig(() => ({
      log: false,
      metrics: { listen: { kind: 'tcp', host: '127.0.0.1', port: 0 } },
    }));
    try {
      assert.ok(a.urls.metrics && b.urls.metrics);
      await request({ port: a.port }, 'GET', '/_ping');
      await request({ port: a.port }, 'GET', '/_ping');
      await request({ port: a.port }, 'GET', '/containers/abc123/secret-path-1');
      await request({ port: a.port }, 'GET', '/containers/def456/secret-path-2');
      await request({ port: a.port }, 'PROPFIND', '/_ping');
      await request({ port: b.port }, 'GET', '/containers/json');
      const ma = await fetch(a.urls.metrics!);
      assert.equal(ma.status, 200);
      assert.match(ma.headers.get('content-type') ?? '', /text\/plain/);
      const ta = await ma.text();
      const tb = await (await fetch(b.urls.metrics!)).text();
      assert.match(
        ta,
        /hijack_gateway_requests_total\{method="GET",rule="allow GET,HEAD \/_ping",decision="allow",reason="",status="200"\} 2/,
      );
      assert.match(
        ta,
        /hijack_gateway_requests_total\{method="GET",rule="none",decision="deny",reason="no-rule",status="403"\} 2/,
      );
      assert.match(ta, /method="OTHER"/);
      assert.doesNotMatch(ta, /secret-path|abc123|PROPFIND/);
      assert.match(
        ta,
        /hijack_gateway_request_duration_seconds_count\{rule="allow GET,HEAD \/_ping",decision="allow"\} 2/,
      );
      // b saw only its own request.
      assert.doesNotMatch(tb, /_ping/);
      assert.match(
        tb,
        /rule="allow GET \/containers\/json",decision="allow",reason="",status="200"\} 1/,
      );
      // A second registry on the same gateway is fine too (no global registry).
      const again = createMetrics(a.gw);
      assert.match(await again.text(), /hijack_gateway_connections\{state="idle"\}/);
      again.close();
      // The metrics listener serves nothing else.
      const other = await fetch(a.urls.metrics!.replace(/metrics$/, 'connections.json'));
      assert.equal(other.status, 404);
    } finally {
      await a.close();
      await b.close();
    }
  },
);

test(
  'metrics: connections by state, takeovers open and total, spliced bytes, tcp rtt at scrape time',
  {
    timeout: 20_000,
  },
  async () => {
    const r = await rig(() => ({
      log: false,
      live: { listen: { kind: 'tcp', host: '127.0.0.1', port: 0 } },
    }));
    try {
      const conn = await execCat(r);
      const metricsUrl = r.urls.metrics!;
      assert.ok(metricsUrl.endsWith('/metrics'), metricsUrl);
      const during = await until(async () => {
        const t = await (await fetch(metricsUrl)).text();
        return /hijack_gateway_takeovers_open\{kind="upgrade"\} 1/.test(t) ? t : '';
      }, 'an open takeover');
      assert.match(during, /hijack_gateway_connections\{state="hijacked"\} 1/);
      const rtt = /hijack_gateway_tcp_rtt_seconds\{stat="max"\} ([0-9.e-]+)/.exec(during);
      assert.ok(rtt && Number(rtt[1]) > 0, 'a positive rtt over live TCP connections');
      assert.match(during, /hijack_gateway_tcp_connections [1-9]/);
      assert.match(during, /hijack_gateway_tcp_retransmitted_segments_total \d+/);
      conn.socket.end('0123456789');
      await readAll(conn.socket);
      const after = await until(async () => {
        const t = await (await fetch(metricsUrl)).text();
        return /hijack_gateway_takeovers_total\{kind="upgrade",end="half-close"\} 1/.test(t)
          ? t
          : '';
      }, 'the takeover to end');
      assert.match(after, /hijack_gateway_takeovers_open\{kind="upgrade"\} 0/);
      const up = /hijack_gateway_spliced_bytes_total\{direction="up"\} (\d+)/.exec(after);
      const down = /hijack_gateway_spliced_bytes_total\{direction="down"\} (\d+)/.exec(after);
      assert.ok(up && Number(up[1]) >= 10, `up ${up?.[1]}`);
      assert.ok(down && Number(down[1]) >= 18, `down ${down?.[1]}`);
      assert.match(after, /hijack_gateway_takeover_duration_seconds_count\{kind="upgrade"\} 1/);
    } finally {
      await r.close();
    }
  },
);

test('metrics: upstream errors by code', { timeout: 20_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'obs-'));
  const gw = createGateway({
    listen: [{ kind: 'tcp', host: '127.0.0.1', port: 0 }],
    upstream: `unix://${join(dir, 'missing.sock')}`,
    policy: { rules: [parseRule('GET /_ping', 'allow', 'test')] },
  });
  const m = createMetrics(gw);
  try {
    const [addr] = await gw.listen();
    const res = await request({ port: addr!.port! }, 'GET', '/_ping');
    assert.equal(res.status, 502);
    const t = await m.text();
    assert.match(t, /hijack_gateway_upstream_errors_total\{code="[A-Z0-9_]+"\} 1/);
    assert.match(t, /status="502"/);
  } finally {
    m.close();
    await gw.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test(
  'live JSON: a connection with identity, route, state, bytes and kernel facts; hijacked while taken over, gone after',
  {
    timeout: 20_000,
  },
  async () => {
    const udir = mkdtempSync(join(tmpdir(), 'obs-u-'));
    const r = await rig(
      () => ({
        log: false,
        live: { listen: { kind: 'tcp', host: '127.0.0.1', port: 0 }, interval: 200 },
      }),
      {
        listen: [
          { kind: 'tcp', host: '127.0.0.1', port: 0 },
          { kind: 'unix', path: join(udir, 'gw.sock') },
        ],
      },
    );
    const json = r.urls.live + 'connections.json';
    const snap = async () => (await (await fetch(json)).json()) as LiveSnapshot;
    try {
      const conn = await execCat(r);
      const local = conn.socket.localPort;
      const c = await until(async () => {
        const s = await snap();
        return s.connections.find(
          (x) => x.remote === `127.0.0.1:${local}` && x.state === 'hijacked',
        );
      }, 'the hijacked connection');
      assert.equal(c.transport, 'tcp');
      assert.equal(c.route?.method, 'POST');
      assert.match(c.route!.path, /^\/exec\/[0-9a-f]+\/start$/);
      assert.equal(c.route?.rule, 'allow POST /exec/{id}/start');
      assert.equal(c.route?.status, 101);
      assert.deepEqual(
        { kind: c.takeover?.kind, protocol: c.takeover?.protocol },
        { kind: 'upgrade', protocol: 'tcp' },
      );
      assert.equal(c.identity?.address, '127.0.0.1');
      assert.ok(c.tcp, 'kernel facts on a TCP listener');
      assert.ok(c.tcp.rtt > 0 && c.tcp.cwnd > 0, JSON.stringify(c.tcp));
      assert.equal(typeof c.tcp.retrans, 'number');
      assert.ok(c.bytes.in > 0 && c.bytes.out > 0);
      assert.ok(c.age >= 0);
      // Trend samples accumulate.
      const t = await until(async () => {
        const s = await snap();
        const x = s.connections.find((y) => y.id === c.id);
        return x && x.trend.rtt.length >= 2 ? x : undefined;
      }, 'trend samples');
      assert.ok(t.trend.throughput.every((v) => v >= 0));
      // A unix-socket client: listed, tcp null.
      const unixPath = (r.gw.options.listen[1] as { path: string }).path;
      const us = net.connect(unixPath);
      await new Promise((res) => us.once('connect', res));
      us.write('GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n');
      const u = await until(async () => {
        const s = await snap();
        return s.connections.find((x) => x.transport === 'unix' && x.requests > 0);
      }, 'the unix connection');
      assert.equal(u.tcp, null);
      assert.equal(u.remote, 'unix');
      assert.equal(u.listener, `unix://${unixPath}`);
      us.destroy();
      // The stream ends: the connection disappears.
      conn.socket.end('bye');
      await readAll(conn.socket);
      await until(async () => !(await snap()).connections.some((x) => x.id === c.id), 'it to go');
      const s = await snap();
      assert.equal(s.counts.hijacked, 0);
      assert.equal(s.takeovers, 0);
      assert.deepEqual(s.listeners.length, 2);
    } finally {
      await r.close();
      rmSync(udir, { recursive: true, force: true });
    }
  },
);

test(
  'live listener: server-sent events, page and script with CSP, 404/405, gateway tokens apply',
  {
    timeout: 20_000,
  },
  async () => {
    const r = await rig(
      () => ({
        log: false,
        live: { listen: { kind: 'tcp', host: '127.0.0.1', port: 0 }, interval: 200 },
      }),
      { auth: { tokens: loadTokens('ops:s3cret-token-0123456789', 'test') } },
    );
    const base = r.urls.live!;
    try {
      assert.equal((await fetch(base)).status, 401);
      assert.equal((await fetch(base + 'connections.json?token=wrong')).status, 401);
      const page = await fetch(base + '?token=s3cret-token-0123456789');
      assert.equal(page.status, 200);
      assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'none'/);
      assert.match(await page.text(), /<script src="live.js"><\/script>/);
      const js = await fetch(base + 'live.js', {
        headers: { Authorization: 'Bearer s3cret-token-0123456789' },
      });
      assert.equal(js.status, 200);
      assert.match(js.headers.get('content-type') ?? '', /javascript/);
      const post = await fetch(base + 'connections.json?token=s3cret-token-0123456789', {
        method: 'POST',
      });
      assert.equal(post.status, 405);
      assert.equal(post.headers.get('allow'), 'GET, HEAD');
      const missing = await fetch(base + 'nope?token=s3cret-token-0123456789');
      assert.equal(missing.status, 404);
      assert.match(await missing.text(), /connections\.json/);
      // SSE: a snapshot at once, then one per interval.
      const ac = new AbortController();
      const res = await fetch(base + 'events?token=s3cret-token-0123456789', { signal: ac.signal });
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
      const reader = res.body!.getReader();
      let buf = '';
      for (let i = 0; i < 20 && (buf.match(/event: snapshot/g) ?? []).length < 2; i++) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += Buffer.from(value).toString();
      }
      ac.abort();
      const events = buf.split('\n\n').filter((e) => e.startsWith('event: snapshot'));
      assert.ok(events.length >= 2, buf);
      const data = JSON.parse(events[0]!.split('\ndata: ')[1]!) as LiveSnapshot;
      assert.ok(Array.isArray(data.connections));
      assert.ok(data.listeners[0]!.startsWith('tcp://127.0.0.1:'));
    } finally {
      await r.close();
    }
  },
);
