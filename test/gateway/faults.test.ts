/**
 * Faults: the upstream missing at start, the upstream dying mid-stream, the client
 * vanishing mid-splice. The gateway stays up, frees every descriptor and connection,
 * and reports what happened through its events.
 */
import { test } from 'node:test';
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
import assert from 'node:assert/strict';
import { readdirSync, mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { rawUpstream, startGateway, dial, readAll, readUntil } from './forward-helpers.js';
import type {
  Gateway,
  GatewayRequestEvent,
  GatewayTakeoverEvent,
} from '../../src/gateway/index.js';

const T = { timeout: 20_000 };
const fds = () => readdirSync('/proc/self/fd').length;
const fdDump = () => {
  if (!process.env.FD_DEBUG) return '';
  const { readlinkSync } = require('node:fs') as typeof import('node:fs');
  const { execSync } = require('node:child_process') as typeof import('node:child_process');
  const links = readdirSync('/proc/self/fd').map((f) => {
    try {
      return readlinkSync(`/proc/self/fd/${f}`);
    } catch {
      return '?';
    }
  });
  return (
    links.join(' ') + '\n' + execSync(`ss -tanpx | grep pid=${process.pid}, || true`).toString()
  );
};

/** Polls (bounded) until `pred` holds; returns whether it did. */
async function eventually(pred: () => boolean, ms = 3000): Promise<boolean> {
  for (let i = 0; i < ms / 25; i++) {
    if (pred()) return true;
    await sleep(25);
  }
  return pred();
}

/** Every connection of every listener gone from the tracker (hijacked ones included). */
const trackerEmpty = (gw: Gateway) => gw.trackers.every((t) => t.size === 0);

test(
  'upstream missing at start: 502 naming it, gateway stays up and recovers when it appears',
  T,
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gwf-'));
    const path = join(dir, 'later.sock');
    const { gw, port } = await startGateway(path, ['GET /_ping', 'POST /exec/{id}/start']);
    const events: GatewayRequestEvent[] = [];
    gw.on('request', (e) => events.push(e));
    try {
      for (let i = 0; i < 3; i++) {
        const r = await fetch(`http://127.0.0.1:${port}/_ping`);
        assert.equal(r.status, 502);
        const body = (await r.json()) as { message: string };
        assert.ok(body.message.includes(`unix://${path}`), body.message);
        assert.match(body.message, /Is the .* running\?/);
      }
      // A takeover request gets the same answer.
      const s = await dial(port);
      s.write(
        'POST /exec/e/start HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n',
      );
      assert.match((await readAll(s)).toString(), /^HTTP\/1\.1 502 [\s\S]*Is the .* running\?/);
      assert.equal(events.filter((e) => e.error?.code === 'ERR_UPSTREAM').length, 4);
      // The upstream appears: the same gateway now forwards.
      const up = http.createServer((_req, res) => res.end('OK'));
      await new Promise<void>((r) => up.listen(path, r));
      const r = await fetch(`http://127.0.0.1:${port}/_ping`);
      assert.equal(r.status, 200);
      assert.equal(await r.text(), 'OK');
      await gw.close({ timeout: 500 });
      up.close();
    } finally {
      await gw.close({ timeout: 500 });
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

test(
  'upstream killed mid-stream (streamed answer and splice): client cut, events say so, nothing leaks',
  T,
  async () => {
    const up = await rawUpstream((sock, req) => {
      if (req.headers['upgrade']) {
        sock.write(
          'HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\nstream-start',
        );
      } else {
        sock.write(
          'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nlog-1\r\n',
        );
      }
    });
    const { gw, port } = await startGateway(up.path, [
      'GET /containers/{id}/logs',
      'POST /exec/{id}/start',
    ]);
    const requests: GatewayRequestEvent[] = [];
    const takeovers: GatewayTakeoverEvent[] = [];
    gw.on('request', (e) => requests.push(e));
    gw.on('takeover', (e) => takeovers.push(e));
    try {
      const baseline = fds();
      // Streamed answer: the upstream dies after the first chunk.
      const a = await dial(port);
      a.write('GET /containers/c/logs?follow=1 HTTP/1.1\r\nHost: x\r\n\r\n');
      await readUntil(a, (b) => b.includes('log-1'));
      // Splice: the upstream dies after the first stream bytes.
      const b = await dial(port);
      b.write(
        'POST /exec/e/start HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n',
      );
      await readUntil(b, (x) => x.includes('stream-start'));
      for (const s of up.sockets) s.destroy();
      const [restA] = await Promise.all([readAll(a), readAll(b)]);
      assert.ok(!restA.toString().includes('0\r\n\r\n'), 'a cut answer must not look complete');
      // The splice saw EOF from the dead upstream and carried it to the client (a dead
      // unix peer looks like a half-close); the client's next bytes hit the dead socket.
      b.on('error', () => {});
      b.write('stdin after the upstream died');
      await eventually(() => takeovers.length === 1, 3000);
      assert.ok(await eventually(() => takeovers.length === 1 && requests.length === 2));
      assert.ok(['closed', 'error'].includes(takeovers[0]!.end!), takeovers[0]!.end);
      const logs = requests.find((e) => e.url.includes('/logs'))!;
      assert.equal(logs.error?.code, 'ERR_UPSTREAM');
      a.destroy();
      b.destroy();
      assert.ok(await eventually(() => trackerEmpty(gw)), 'tracker empty');
      assert.ok(
        await eventually(() => fds() <= baseline),
        `fds ${fds()} > baseline ${baseline} ${fdDump()}`,
      );
      assert.equal(gw.takeovers, 0);
      // Still serving.
      const c = await dial(port);
      c.write('GET /containers/c/logs HTTP/1.1\r\nHost: x\r\n\r\n');
      assert.match((await readUntil(c, (x) => x.includes('log-1'))).toString(), /^HTTP\/1\.1 200/);
      c.destroy();
    } finally {
      await gw.close({ timeout: 500, grace: 100 });
      await up.close();
    }
  },
);

test(
  'client vanishing mid-splice and mid-answer: upstream side closed, events report it, nothing leaks',
  T,
  async () => {
    const upstreamClosed: string[] = [];
    const up = await rawUpstream((sock, req) => {
      sock.on('close', () => upstreamClosed.push(req.target));
      sock.on('end', () => sock.end());
      sock.resume();
      if (req.headers['upgrade'])
        sock.write('HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\nhi');
      else sock.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n');
    });
    const baseline = fds();
    const { gw, port } = await startGateway(up.path, [
      'GET /events',
      'POST /containers/{id}/attach',
    ]);
    const takeovers: GatewayTakeoverEvent[] = [];
    const requests: GatewayRequestEvent[] = [];
    gw.on('takeover', (e) => takeovers.push(e));
    gw.on('request', (e) => requests.push(e));
    const round = async (n: number) => {
      const socks: net.Socket[] = [];
      for (let i = 0; i < n; i++) {
        const s = await dial(port);
        s.write(
          `POST /containers/c${i}/attach?stream=1 HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n`,
        );
        await readUntil(s, (x) => x.includes('hi'));
        socks.push(s);
        const e = await dial(port);
        e.write('GET /events HTTP/1.1\r\nHost: x\r\n\r\n');
        await readUntil(e, (x) => x.includes('hi'));
        socks.push(e);
      }
      assert.equal(gw.takeovers, n);
      for (const s of socks) s.resetAndDestroy();
    };
    try {
      await round(5);
      assert.ok(
        await eventually(() => takeovers.length === 5 && requests.length === 10),
        `${takeovers.length} takeovers, ${requests.length} requests`,
      );
      assert.ok(takeovers.every((e) => e.end === 'closed' || e.end === 'error'));
      assert.ok(requests.filter((e) => e.url === '/events').every((e) => e.error !== undefined));
      assert.ok(
        await eventually(() => upstreamClosed.length === 10),
        `upstream closed ${upstreamClosed.length}/10`,
      );
      assert.ok(await eventually(() => trackerEmpty(gw)), 'tracker empty');
      assert.equal(gw.takeovers, 0);
      // undici keeps a spare pooled connection after an aborted answer (reused later): the
      // count must not grow from one round to the next, and closing frees everything.
      await sleep(100);
      const afterFirst = fds();
      await round(5);
      assert.ok(await eventually(() => takeovers.length === 10 && trackerEmpty(gw)));
      assert.ok(
        await eventually(() => fds() <= afterFirst),
        `fds ${fds()} > ${afterFirst} after the first round ${fdDump()}`,
      );
    } finally {
      await gw.close({ timeout: 500, grace: 100 });
      await up.close();
    }
    assert.ok(
      await eventually(() => fds() <= baseline),
      `fds ${fds()} > baseline ${baseline} ${fdDump()}`,
    );
  },
);
