/**
 * Live byte counts of taken-over streams, for both splice engines: 3 MB pushed each way
 * through a gateway's takeover stream show up in /connections.json (connection bytes and
 * the takeover's own bytes) and in `hijack_gateway_spliced_bytes_total` while the stream
 * is still open, not only when it ends. Real sockets: a raw upstream on a unix socket that
 * answers 101 and counts, a raw TCP client, the gateway's live listener over HTTP.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { observeGateway, type LiveSnapshot } from '../../src/gateway/observe/index.js';
import type { GatewayTakeoverEvent } from '../../src/gateway/forward/events.js';
import { parseRule } from '../../src/gateway/policy/rule.js';
import { createGateway } from '../../src/gateway/server.js';
import { socketBytes, spliceBytes, splice } from '../../src/stream/splice.js';
import { relayable } from '../../src/stream/splice-native.js';
import { Pairs } from '../stream/helpers.js';

const MB3 = 3 * 1024 * 1024;
const CHUNK = Buffer.alloc(64 * 1024, 0x61);

/** Writes `n` bytes to `s` honouring backpressure. */
async function push(s: net.Socket, n: number): Promise<void> {
  for (let sent = 0; sent < n; sent += CHUNK.length) {
    if (!s.write(CHUNK.subarray(0, Math.min(CHUNK.length, n - sent))))
      await new Promise((r) => s.once('drain', r));
  }
}

/** Polls `f` (bounded: 100 tries, 50 ms apart) until it returns true; returns the last value seen. */
async function until<T>(f: () => Promise<T> | T, ok: (v: T) => boolean, what: string): Promise<T> {
  let v: T = await f();
  for (let i = 0; i < 100 && !ok(v); i++) {
    await sleep(50);
    v = await f();
  }
  assert.ok(ok(v), `${what}: ${JSON.stringify(v)}`);
  return v;
}

/** A raw upstream: answers the first head with 101, then counts what arrives. */
function rawUpstream(path: string) {
  const state = { received: 0, socket: undefined as net.Socket | undefined };
  const server = net.createServer((s) => {
    let head = '';
    const onData = (c: Buffer) => {
      if (state.socket) {
        state.received += c.length;
        return;
      }
      head += c.toString('latin1');
      const at = head.indexOf('\r\n\r\n');
      if (at < 0) return;
      state.socket = s;
      state.received += Buffer.byteLength(head.slice(at + 4), 'latin1');
      s.write('HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n');
    };
    s.on('data', onData);
    s.on('end', () => s.end());
    s.on('error', () => {});
  });
  return {
    state,
    listen: () => new Promise<void>((r) => server.listen(path, () => r())),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

function metric(text: string, direction: 'up' | 'down'): number {
  const m = new RegExp(
    `^hijack_gateway_spliced_bytes_total\\{direction="${direction}"\\} (\\d+)`,
    'm',
  ).exec(text);
  return m ? Number(m[1]) : NaN;
}

for (const engine of ['native', 'stream'] as const) {
  test(
    `live stream bytes (${engine} engine): connections.json and spliced_bytes_total rise while 3 MB flow each way`,
    { timeout: 30_000 },
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'sb-'));
      const upstream = rawUpstream(join(dir, 'up.sock'));
      await upstream.listen();
      const gw = createGateway({
        listen: [{ kind: 'tcp', host: '127.0.0.1', port: 0 }],
        upstream: { kind: 'unix', path: join(dir, 'up.sock') },
        policy: { rules: [parseRule('POST /exec/{id}/start', 'allow', 'test')] },
        nativeRelay: engine === 'native',
      });
      const obs = observeGateway(gw, {
        log: false,
        // The raw upstream answers 101 to anything: no name look-ups.
        live: { listen: { kind: 'tcp', host: '127.0.0.1', port: 0 }, interval: 100, names: false },
      });
      const [addr] = await gw.listen();
      const { live } = await obs.listen();
      const ended = new Promise<GatewayTakeoverEvent>((r) => gw.once('takeover', r));
      const client = net.connect(addr!.port!, '127.0.0.1');
      try {
        await new Promise((r) => client.once('connect', r));
        let got = 0;
        let head = '';
        client.on('data', (c: Buffer) => {
          if (!head.includes('\r\n\r\n')) {
            head += c.toString('latin1');
            const at = head.indexOf('\r\n\r\n');
            if (at >= 0) got += Buffer.byteLength(head.slice(at + 4), 'latin1');
          } else got += c.length;
        });
        client.write(
          'POST /exec/abc/start HTTP/1.1\r\nHost: gw\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n',
        );
        await until(
          () => head,
          (h) => h.includes('\r\n\r\n'),
          'the 101 head',
        );
        assert.match(head, /^HTTP\/1\.1 101/);

        const snap = async () => {
          const s = (await (await fetch(live + 'connections.json')).json()) as LiveSnapshot;
          return s.connections.find((c) => c.remote === `127.0.0.1:${client.localPort}`);
        };
        const up = async () => metric(await (await fetch(live + 'metrics')).text(), 'up');
        const down = async () => metric(await (await fetch(live + 'metrics')).text(), 'down');

        // Up: 3 MB from the client, all received upstream, the stream still open.
        const before = (await snap())!;
        assert.equal(before.state, 'hijacked');
        await push(client, MB3);
        await until(
          () => upstream.state.received,
          (n) => n >= MB3,
          'upstream received 3 MB',
        );
        const c1 = await until(
          snap,
          (c) => !!c && c.bytes.in - before.bytes.in >= MB3,
          'bytes.in rose by 3 MB',
        );
        assert.ok(
          c1!.takeover?.bytes && c1!.takeover.bytes.up >= MB3,
          JSON.stringify(c1!.takeover),
        );
        await until(up, (n) => n >= MB3, 'spliced_bytes_total{up} rose by 3 MB while open');
        assert.equal(gw.takeovers, 1, 'the stream is still open');
        // Which engine carried it: Node's own count of the gateway's client socket stays
        // behind on the native relay (what the page showed before), moves on the stream one.
        const conn = [...gw.tracker].find((c) => c.remotePort === client.localPort)!;
        if (engine === 'native') assert.ok(conn.socket.bytesRead < MB3, `${conn.socket.bytesRead}`);
        else assert.ok(conn.socket.bytesRead >= MB3, `${conn.socket.bytesRead}`);
        // The trend's throughput moved too (at the next sample).
        await until(
          snap,
          (c) => !!c && c.trend.throughput.some((x) => x > 0),
          'a throughput sample above 0',
        );

        // Down: 3 MB from the upstream, all received by the client.
        await push(upstream.state.socket!, MB3);
        await until(
          () => got,
          (n) => n >= MB3,
          'client received 3 MB',
        );
        const c2 = await until(
          snap,
          (c) => !!c && c.bytes.out - before.bytes.out >= MB3,
          'bytes.out rose by 3 MB',
        );
        assert.ok(c2!.takeover!.bytes!.down >= MB3);
        await until(down, (n) => n >= MB3, 'spliced_bytes_total{down} rose by 3 MB while open');
        assert.equal(gw.takeovers, 1, 'the stream is still open');

        // The end: the report's bytes are exact and the counter equals them.
        client.end();
        const report = await ended;
        assert.deepEqual(report.bytes, { up: MB3, down: MB3 });
        assert.equal(await up(), MB3);
        assert.equal(await down(), MB3);
      } finally {
        client.destroy();
        await gw.close({ timeout: 1000, grace: 200 });
        await obs.close();
        await upstream.close();
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
}

for (const native of [true, false]) {
  test(
    `spliceBytes / socketBytes move while a splice runs (${native ? 'native' : 'stream'} engine)`,
    { timeout: 20_000 },
    async () => {
      const pairs = await Pairs.listen();
      const [a, a2] = await pairs.pair();
      const [b2, b] = await pairs.pair();
      try {
        if (native) assert.ok(relayable(a2, b2), 'the native relay is built and takes the pair');
        const done = splice(a2, b2, { native });
        let atB = 0;
        b.on('data', (c: Buffer) => (atB += c.length));
        assert.deepEqual(spliceBytes(a2), { aToB: 0, bToA: 0, side: 'a' });
        await push(a, 1024 * 1024);
        await until(
          () => atB,
          (n) => n >= 1024 * 1024,
          'b received 1 MiB',
        );
        const live = spliceBytes(b2)!;
        assert.equal(live.side, 'b');
        assert.equal(live.aToB, 1024 * 1024);
        assert.equal(socketBytes(a2).read, 1024 * 1024);
        assert.equal(socketBytes(b2).written, 1024 * 1024);
        if (native)
          assert.ok(a2.bytesRead < 1024 * 1024, 'Node did not read these bytes: the relay did');
        a.end();
        b.end();
        const r = await done;
        assert.equal(r.aToB, 1024 * 1024);
        assert.equal(r.relay, native ? 'native' : 'stream');
        assert.equal(spliceBytes(a2), undefined, 'no counts once the splice ended');
      } finally {
        for (const s of [a, a2, b, b2]) s.destroy();
        await pairs.close();
      }
    },
  );
}
