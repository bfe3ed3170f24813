import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { once } from 'node:events';
import { WebSocket, WebSocketServer } from 'ws';
import { spawn } from 'node:child_process';
import { requirePeer } from '../helpers/peers.js';
import { rawUpstream, startGateway, dial, readAll, readUntil } from './forward-helpers.js';
import type { GatewayTakeoverEvent, GatewayRequestEvent } from '../../src/gateway/index.js';

const T = { timeout: 15_000 };

test('ordinary request: streamed both ways, hop-by-hop fields dropped both ways', T, async () => {
  const up = await rawUpstream((sock, req, rest) => {
    // Echo the request body (chunked in, Content-Length out) after reading it all.
    // The gateway forwards the chunked body as chunked; count the payload only.
    const len =
      req.headers['transfer-encoding'] === 'chunked'
        ? -1
        : Number(req.headers['content-length'] ?? 0);
    let body = rest;
    const answer = () =>
      sock.write(
        'HTTP/1.1 200 OK\r\nConnection: keep-alive, X-Hop\r\nX-Hop: secret\r\nKeep-Alive: timeout=5\r\n' +
          `Proxy-Authenticate: Basic\r\nX-End: yes\r\nContent-Length: ${body.length}\r\n\r\n`,
      ) && sock.write(body);
    const complete = () =>
      len < 0 ? body.subarray(-5).toString() === '0\r\n\r\n' : body.length >= len;
    const strip = () => {
      if (len >= 0) return;
      // De-chunk: sizes in hex lines.
      const parts: Buffer[] = [];
      let i = 0;
      for (;;) {
        const eol = body.indexOf('\r\n', i);
        const size = parseInt(body.subarray(i, eol).toString(), 16);
        if (!size) break;
        parts.push(body.subarray(eol + 2, eol + 2 + size));
        i = eol + 2 + size + 2;
      }
      body = Buffer.concat(parts);
    };
    if (complete()) {
      strip();
      answer();
    } else {
      sock.on('data', (c: Buffer) => {
        body = Buffer.concat([body, c]);
        if (complete()) {
          strip();
          answer();
        }
      });
      sock.resume();
    }
  });
  const { gw, port } = await startGateway(up.path, ['POST /echo']);
  try {
    const payload = Buffer.alloc(3 * 1024 * 1024, 'a');
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const r = http.request({
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/v1.41/echo',
        headers: {
          'X-Hop': 'client-secret',
          Connection: 'X-Hop',
          TE: 'trailers',
          'Proxy-Authorization': 'Basic eA==',
        },
      });
      r.on('response', resolve);
      r.on('error', reject);
      r.end(payload); // chunked: no Content-Length given
    });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['x-hop'], undefined);
    assert.equal(res.headers['proxy-authenticate'], undefined);
    assert.equal(res.headers['x-end'], 'yes');
    let n = 0;
    for await (const c of res) n += (c as Buffer).length;
    assert.equal(n, payload.length);
    const seen = up.seen[0]!;
    assert.equal(seen.target, '/v1.41/echo');
    assert.equal(seen.headers['x-hop'], undefined, 'a field named by Connection is hop-by-hop');
    assert.equal(seen.headers['te'], undefined);
    assert.equal(seen.headers['proxy-authorization'], undefined);
  } finally {
    await gw.close();
    await up.close();
  }
});

test(
  'deny by default: no rules means 403 with a JSON message, upstream never reached',
  T,
  async () => {
    const up = await rawUpstream((sock) =>
      sock.end('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'),
    );
    const { gw, port } = await startGateway(up.path, []);
    const events: GatewayRequestEvent[] = [];
    gw.on('request', (e) => events.push(e));
    try {
      const res = await fetch(`http://127.0.0.1:${port}/containers/json`);
      // 403 (no rule) or 405 (no rule names the method): both refuse, neither forwards.
      assert.ok(res.status === 403 || res.status === 405, String(res.status));
      const body = (await res.json()) as { message: string };
      assert.match(body.message, /^hijack gateway: /);
      assert.equal(up.seen.length, 0);
      assert.equal(events[0]?.decision, 'deny');
      assert.equal(events[0]?.status, res.status);
    } finally {
      await gw.close();
      await up.close();
    }
  },
);

test(
  'upgrade: early bytes both ways arrive first, body exact, half-close carried end to end',
  T,
  async () => {
    let upstreamSawEnd = false;
    const up = await rawUpstream((sock, _req, rest) => {
      // 101 and the first stream bytes in one write: they must not be lost.
      sock.write(
        'HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\nFIRST|',
      );
      let got = rest.toString();
      sock.on('data', (c: Buffer) => (got += c.toString()));
      sock.on('end', () => {
        upstreamSawEnd = true;
        // Half-close: the client already ended; our last words must still reach it.
        sock.end(`GOT[${got}]|LAST`);
      });
      sock.resume();
    });
    const { gw, port } = await startGateway(up.path, ['POST /exec/{id}/start']);
    const takeovers: GatewayTakeoverEvent[] = [];
    gw.on('takeover', (e) => takeovers.push(e));
    try {
      const s = await dial(port);
      // Head, body and early stream bytes in one segment.
      s.write(
        'POST /v1.41/exec/abc/start HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 16\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n{"Detach":false}early-stdin',
      );
      const first = await readUntil(s, (b) => b.includes('FIRST|'));
      assert.match(first.toString(), /^HTTP\/1\.1 101 UPGRADED\r\n/);
      s.end('|more');
      const all = Buffer.concat([first, await readAll(s)]).toString();
      assert.ok(all.endsWith('GOT[{"Detach":false}early-stdin|more]|LAST'), all);
      assert.ok(upstreamSawEnd);
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(takeovers.length, 1);
      assert.equal(takeovers[0]!.kind, 'upgrade');
      assert.equal(takeovers[0]!.protocol, 'tcp');
      assert.equal(takeovers[0]!.end, 'half-close');
      assert.equal(gw.takeovers, 0);
    } finally {
      await gw.close();
      await up.close();
    }
  },
);

test(
  'upgrade refused by the upstream: its answer is forwarded and bytes behind the request never reach it',
  T,
  async () => {
    let extra = '';
    const up = await rawUpstream((sock, _req, rest) => {
      extra += rest.toString();
      sock.on('data', (c: Buffer) => (extra += c.toString()));
      sock.resume();
      sock.write(
        'HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{"a":\r\n2\r\n1}\r\n0\r\n\r\n',
      );
    });
    const { gw, port } = await startGateway(up.path, ['GET /allowed']);
    try {
      const s = await dial(port);
      s.write(
        'GET /allowed HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\nDELETE /containers/x HTTP/1.1\r\nHost: x\r\n\r\n',
      );
      const out = (await readAll(s)).toString();
      assert.match(out, /^HTTP\/1\.1 404 Not Found\r\n/);
      assert.match(out, /Connection: close/);
      assert.ok(out.endsWith('5\r\n{"a":\r\n2\r\n1}\r\n0\r\n\r\n'), out);
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(extra, '', 'the smuggled request must not reach the upstream');
      // The client never closes its side: the gateway still lets the connection go.
      for (let i = 0; i < 60 && gw.tracker.size > 0; i++)
        await new Promise((r) => setTimeout(r, 50));
      assert.equal(gw.tracker.size, 0, 'a half-open client cannot pin the gateway connection');
      s.destroy();
    } finally {
      await gw.close();
      await up.close();
    }
  },
);

test('upgrade: a 101 for another protocol than asked is a 502', T, async () => {
  const up = await rawUpstream((sock) =>
    sock.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n'),
  );
  const { gw, port } = await startGateway(up.path, ['GET /x']);
  try {
    const s = await dial(port);
    s.write('GET /x HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n');
    const out = (await readAll(s)).toString();
    assert.match(out, /^HTTP\/1\.1 502 /);
    assert.match(out, /switched to \\"h2c\\"/);
  } finally {
    await gw.close();
    await up.close();
  }
});

test(
  'Docker legacy 200 raw-stream answer (no Upgrade): both sides taken over, stdin after the head delivered',
  T,
  async () => {
    const up = await rawUpstream((sock, _req, rest) => {
      sock.write(
        'HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.raw-stream\r\n\r\nhello ',
      );
      let got = rest.toString();
      sock.on('data', (c: Buffer) => (got += c.toString()));
      sock.on('end', () => sock.end(`echo:${got}`));
      sock.resume();
    });
    const { gw, port } = await startGateway(up.path, ['POST /containers/{id}/attach']);
    try {
      const s = await dial(port);
      s.write(
        'POST /v1.24/containers/c1/attach?stream=1&stdin=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\nstdin-bytes',
      );
      await readUntil(s, (b) => b.includes('hello '));
      s.end();
      const out = (await readAll(s)).toString();
      assert.ok(out.endsWith('echo:stdin-bytes'), out);
    } finally {
      await gw.close();
      await up.close();
    }
  },
);

test(
  'CONNECT tunnel in forward-proxy mode: allowlist enforced, early bytes carried',
  T,
  async () => {
    const target = http.createServer((_req, res) => res.end('from-target'));
    await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
    const tport = (target.address() as { port: number }).port;
    const up = await rawUpstream((sock) => sock.destroy());
    const { gw, port } = await startGateway(up.path, [], {
      forwardProxy: { enabled: true, connectAllow: [`127.0.0.1:${tport}`] },
    });
    try {
      const s = await dial(port);
      s.write(
        `CONNECT 127.0.0.1:${tport} HTTP/1.1\r\nHost: 127.0.0.1:${tport}\r\n\r\nGET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n`,
      );
      const out = (await readAll(s)).toString();
      assert.match(out, /^HTTP\/1\.1 200 Connection Established\r\n\r\nHTTP\/1\.1 200 OK/);
      assert.ok(out.endsWith('from-target'));
      const d = await dial(port);
      d.write(`CONNECT 127.0.0.1:1 HTTP/1.1\r\nHost: 127.0.0.1:1\r\n\r\n`);
      assert.match((await readAll(d)).toString(), /^HTTP\/1\.1 403 /);
    } finally {
      await gw.close();
      await up.close();
      target.close();
    }
  },
);

test('websocket upgrade through the gateway (ws server and client)', T, async () => {
  const wsHttp = http.createServer();
  const wss = new WebSocketServer({ server: wsHttp });
  wss.on('connection', (ws) => ws.on('message', (m) => ws.send(`echo:${m.toString()}`)));
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 'gw-ws-'));
  const path = join(dir, 'ws.sock');
  await new Promise<void>((r) => wsHttp.listen(path, r));
  const { gw, port } = await startGateway(path, ['GET /ws']);
  try {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
    await once(ws, 'open');
    ws.send('hi');
    const [msg] = (await once(ws, 'message')) as [Buffer];
    assert.equal(msg.toString(), 'echo:hi');
    ws.close();
    await once(ws, 'close');
  } finally {
    await gw.close();
    wss.close();
    wsHttp.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('stream timeout ends an idle takeover and reports idle-timeout', T, async () => {
  const up = await rawUpstream((sock) => {
    sock.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n');
    sock.resume();
  });
  const { gw, port } = await startGateway(up.path, ['POST /x'], { timeouts: { stream: 200 } });
  try {
    const ended = once(gw, 'takeover') as Promise<[GatewayTakeoverEvent]>;
    const s = await dial(port);
    s.write('POST /x HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n');
    await readAll(s);
    const [ev] = await ended;
    assert.equal(ev.end, 'idle-timeout');
  } finally {
    await gw.close();
    await up.close();
  }
});

test('shutdown half-closes taken-over streams, lets them finish, reports shutdown', T, async () => {
  const up = await rawUpstream((sock) => {
    sock.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n');
    sock.on('end', () => sock.end('upstream-bye'));
    sock.resume();
  });
  const { gw, port } = await startGateway(up.path, ['POST /x'], { shutdownGrace: 2000 });
  const s = await dial(port);
  s.write('POST /x HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n');
  await readUntil(s, (b) => b.includes('\r\n\r\n'));
  const ended = once(gw, 'takeover') as Promise<[GatewayTakeoverEvent]>;
  const closing = gw.close({ timeout: 1000 });
  // The client sees EOF (the gateway half-closed towards it) and ends too.
  const rest = await readAll(s);
  s.end();
  const [ev] = await ended;
  await closing;
  assert.equal(ev.end, 'shutdown');
  assert.ok(rest.toString().includes('upstream-bye') || rest.length === 0);
  await up.close();
});

test(
  "a streaming answer's head reaches the client before any body byte (docker wait, events)",
  T,
  async () => {
    let sendBody: () => void = () => {};
    const bodyAllowed = new Promise<void>((r) => (sendBody = r));
    const up = await rawUpstream((sock) => {
      sock.write(
        'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n',
      );
      void bodyAllowed.then(() => sock.end('7\r\n{"a":1}\r\n0\r\n\r\n'));
    });
    const { gw, port } = await startGateway(up.path, ['POST /containers/{id}/wait']);
    try {
      const s = await dial(port);
      s.write('POST /containers/c1/wait HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n');
      // The upstream sends its body only once the client has the head: no head, no pass.
      const head = await readUntil(s, (b) => b.includes('\r\n\r\n'));
      assert.match(head.toString(), /^HTTP\/1\.1 200 OK\r\n/);
      sendBody();
      const rest = await readUntil(s, (b) => b.includes('0\r\n\r\n'));
      assert.match(Buffer.concat([head, rest]).toString(), /\{"a":1\}/);
      s.destroy();
    } finally {
      await gw.close({ timeout: 500 });
      await up.close();
    }
  },
);

test('curl as a forward-proxy client over CONNECT (curl -p -x)', T, async (t) => {
  const curl = requirePeer(t, 'curl');
  if (!curl) return;
  const target = http.createServer((_req, res) => res.end('through the tunnel'));
  await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
  const tport = (target.address() as { port: number }).port;
  const up = await rawUpstream((sock) => sock.destroy());
  const { gw, port } = await startGateway(up.path, [], {
    forwardProxy: { enabled: true, connectAllow: [`127.0.0.1:${tport}`] },
  });
  const tunnels: GatewayTakeoverEvent[] = [];
  gw.on('takeover', (e) => tunnels.push(e));
  const run = (url: string) =>
    new Promise<{ code: number | null; out: string }>((resolve) => {
      const c = spawn(curl, ['-s', '-S', '-p', '-x', `http://127.0.0.1:${port}`, '-m', '5', url]);
      let out = '';
      c.stdout.on('data', (d: Buffer) => (out += d.toString()));
      c.stderr.on('data', (d: Buffer) => (out += d.toString()));
      c.on('close', (code) => resolve({ code, out }));
    });
  try {
    const ok = await run(`http://127.0.0.1:${tport}/`);
    assert.equal(ok.code, 0, ok.out);
    assert.equal(ok.out, 'through the tunnel');
    // A target not in the allowlist: curl reports the refused CONNECT.
    const refused = await run(`http://127.0.0.1:${tport + 1 === 65536 ? 1 : tport + 1}/`);
    assert.notEqual(refused.code, 0);
    assert.match(refused.out, /403|CONNECT/);
    assert.ok(await new Promise<boolean>((r) => setTimeout(() => r(tunnels.length === 1), 100)));
    assert.equal(tunnels[0]!.kind, 'connect');
  } finally {
    await gw.close({ timeout: 500 });
    await up.close();
    target.close();
  }
});
