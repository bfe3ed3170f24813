/**
 * The gateway hardening regressions: each flaw found by trying the gateway as an attacker
 * would, over real sockets, against a raw upstream that records every byte it receives.
 * Nothing the policy did not admit may reach the upstream; every resource stays bounded.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGateway, parseRule } from '../../src/gateway/index.js';
import type {
  CreateGatewayOptions,
  Gateway,
  GatewayRequestEvent,
} from '../../src/gateway/index.js';
import { dial, readAll, readUntil } from './forward-helpers.js';

const T = { timeout: 30_000 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** An upstream that keeps every byte of every connection; `answer` scripts the replies. */
async function recorder(
  answer: (sock: net.Socket, head: string, conn: { bytes: Buffer; reads: Buffer[] }) => void,
) {
  const dir = mkdtempSync(join(tmpdir(), 'gwh-'));
  const path = join(dir, 'up.sock');
  const conns: { bytes: Buffer; reads: Buffer[] }[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (sock) => {
    const conn = { bytes: Buffer.alloc(0), reads: [] as Buffer[] };
    conns.push(conn);
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => {});
    let scanned = 0;
    sock.on('data', (c: Buffer) => {
      conn.reads.push(c);
      conn.bytes = Buffer.concat([conn.bytes, c]);
      // One answer per request head (pooled connections carry several; bodies here are
      // short and never hold CRLFCRLF).
      for (;;) {
        const end = conn.bytes.indexOf('\r\n\r\n', scanned);
        if (end < 0) break;
        const head = conn.bytes.subarray(scanned, end).toString('latin1');
        scanned = end + 4;
        answer(sock, head, conn);
      }
    });
  });
  await new Promise<void>((r) => server.listen(path, r));
  return {
    path,
    conns,
    /** Every byte the upstream received, all connections. */
    all: () => Buffer.concat(conns.map((c) => c.bytes)).toString('latin1'),
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => {
          rmSync(dir, { recursive: true, force: true });
          r();
        });
      }),
  };
}

const ok = (sock: net.Socket) =>
  sock.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok');

async function gateway(
  upstream: string,
  allow: string[],
  deny: string[] = [],
  extra: CreateGatewayOptions = {},
): Promise<{ gw: Gateway; port: number; events: GatewayRequestEvent[] }> {
  const gw = createGateway({
    listen: [{ kind: 'tcp', host: '127.0.0.1', port: 0 }],
    upstream: `unix://${upstream}`,
    policy: {
      rules: [
        ...allow.map((r) => parseRule(r, 'allow', 'test')),
        ...deny.map((r) => parseRule(r, 'deny', 'test')),
      ],
    },
    timeouts: { head: 2000, body: 2000, queue: 2000 },
    ...extra,
  });
  const events: GatewayRequestEvent[] = [];
  gw.on('request', (e) => events.push(e));
  const [a] = await gw.listen();
  return { gw, port: a!.port!, events };
}

/** True once `b` holds one whole answer (head, and a Content-Length body if any). */
function answered(b: Buffer): boolean {
  const end = b.indexOf('\r\n\r\n');
  if (end < 0) return false;
  const head = b.subarray(0, end).toString('latin1');
  if (/^HTTP\/1\.1 1\d\d /.test(head) && !head.startsWith('HTTP/1.1 101')) {
    return answered(b.subarray(end + 4));
  }
  const m = /\r\ncontent-length: *(\d+)/i.exec(head);
  return !m || b.length - end - 4 >= Number(m[1]);
}

/** Sends `bytes` on a new connection and returns the first whole answer (or all until close). */
async function exchange(port: number, bytes: string | Buffer, ms = 4000): Promise<string> {
  const c = await dial(port);
  c.write(bytes);
  const out = await readUntil(c, answered, ms);
  c.destroy();
  return out.toString('latin1');
}

const SMUGGLED = 'DELETE /v1.41/containers/victim?force=1 HTTP/1.1\r\nHost: d\r\n\r\n';

test(
  'a Connection header naming Content-Length is refused (upgrade and raw-stream paths); nothing reaches the upstream',
  T,
  async () => {
    const up = await recorder((s) => ok(s));
    const { gw, port } = await gateway(up.path, [
      'GET,HEAD /_ping',
      'POST /exec/{id}/start',
      'GET /containers/json',
    ]);
    try {
      for (const connection of [
        'Upgrade, Content-Length',
        'content-length',
        'Keep-Alive, Transfer-Encoding',
        'upgrade, host',
        'Authorization',
      ]) {
        const a = await exchange(
          port,
          `GET /_ping HTTP/1.1\r\nHost: d\r\nConnection: ${connection}\r\nUpgrade: tcp\r\nContent-Length: ${SMUGGLED.length}\r\n\r\n${SMUGGLED}`,
        );
        assert.match(a, /^HTTP\/1\.1 400 /, connection);
        assert.match(a, /Connection names/);
      }
      const b = await exchange(
        port,
        `POST /v1.41/exec/abc/start HTTP/1.1\r\nHost: d\r\nConnection: Content-Length\r\nContent-Type: application/json\r\nContent-Length: ${SMUGGLED.length}\r\n\r\n${SMUGGLED}`,
      );
      assert.match(b, /^HTTP\/1\.1 400 /);
      // A pipelined ordinary request with the same trick.
      const c = await exchange(
        port,
        `GET /containers/json HTTP/1.1\r\nHost: d\r\nConnection: Content-Length\r\nContent-Length: ${SMUGGLED.length}\r\n\r\n${SMUGGLED}`,
      );
      assert.match(c, /^HTTP\/1\.1 400 /);
      assert.equal(up.all(), '', 'the upstream received nothing');
    } finally {
      await gw.close({ timeout: 500, grace: 100 });
      await up.close();
    }
  },
);

test(
  "the forwarded head is the gateway's own: admitted line, its framing, no token, no Expect, no hop-by-hop fields",
  T,
  async () => {
    const up = await recorder((s) => ok(s));
    const { gw, port } = await gateway(up.path, ['POST /containers/create'], [], {
      auth: {
        tokens: [
          {
            name: 'ci',
            sha256: (await import('node:crypto')).createHash('sha256').update('sekrit').digest(),
          },
        ],
      },
    });
    try {
      const a = await exchange(
        port,
        'POST /v1.41/containers/create HTTP/1.1\r\nHost: d\r\nAuthorization: Bearer sekrit\r\n' +
          'Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nX-Keep: 1\r\nConnection: X-Drop\r\nX-Drop: 1\r\n\r\n' +
          '2;ext=1\r\n{}\r\n0\r\nX-Trailer: 1\r\n\r\n',
      );
      assert.match(a, /^HTTP\/1\.1 200 /);
      const got = up.all();
      assert.match(got, /^POST \/v1\.41\/containers\/create HTTP\/1\.1\r\n/);
      assert.doesNotMatch(got, /authorization|sekrit/i, 'the bearer token stays at the gateway');
      assert.doesNotMatch(got, /x-drop|ext=1|x-trailer|transfer-encoding/i);
      assert.match(got, /x-keep: 1/i);
      assert.match(got, /content-length: 2\r\n/i, 'a short body is re-framed with its length');
      assert.ok(got.endsWith('\r\n\r\n{}'), JSON.stringify(got));
    } finally {
      await gw.close({ timeout: 500, grace: 100 });
      await up.close();
    }
  },
);

test('100 Continue is sent only after admission', T, async () => {
  const up = await recorder((s) => ok(s));
  const { gw, port } = await gateway(up.path, ['POST /containers/create']);
  try {
    const denied = await dial(port);
    denied.write(
      'POST /containers/x/kill HTTP/1.1\r\nHost: d\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n',
    );
    const d = (await readAll(denied)).toString('latin1');
    assert.match(d, /^HTTP\/1\.1 403 /, 'a refusal, without a 100 first');
    denied.destroy();

    const allowed = await dial(port);
    allowed.write(
      'POST /containers/create HTTP/1.1\r\nHost: d\r\nExpect: 100-continue\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n',
    );
    const first = await readUntil(allowed, (b) => b.includes('\r\n\r\n'));
    assert.match(first.toString('latin1'), /^HTTP\/1\.1 100 Continue\r\n\r\n/);
    allowed.write('{}');
    const rest = await readUntil(allowed, (b) => b.includes('ok'));
    assert.match(rest.toString('latin1'), /200 OK/);
    allowed.destroy();
    assert.doesNotMatch(up.all(), /expect/i);
    assert.doesNotMatch(up.all(), /kill/);
  } finally {
    await gw.close({ timeout: 500, grace: 100 });
    await up.close();
  }
});

test(
  'attach with a JSON body: head and body reach the upstream in one write, even when the client sent them apart',
  T,
  async () => {
    const up = await recorder((s) => {
      s.write(
        'HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n',
      );
    });
    const { gw, port } = await gateway(up.path, ['POST /containers/{id}/attach']);
    try {
      for (let i = 0; i < 10; i++) {
        const c = await dial(port);
        const body = '{"Detach":false,"Tty":false}';
        c.write(
          `POST /v1.41/containers/c${i}/attach?stream=1&stdin=1 HTTP/1.1\r\nHost: d\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`,
        );
        await sleep(30);
        c.write(body.slice(0, 5));
        await sleep(30);
        c.write(body.slice(5));
        await readUntil(c, (b) => b.includes('\r\n\r\n'));
        const conn = up.conns[up.conns.length - 1]!;
        assert.equal(
          conn.reads.length,
          1,
          'one write: dockerd drops it at its hijack, never reads it as stdin',
        );
        assert.ok(conn.bytes.toString('latin1').endsWith(`\r\n\r\n${body}`));
        c.destroy();
      }
    } finally {
      await gw.close({ timeout: 500, grace: 100 });
      await up.close();
    }
  },
);

test(
  'takeover chunked bodies are read as Go reads them, re-framed, and malformed ones answered 400 at once',
  T,
  async () => {
    const up = await recorder((s) =>
      s.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n'),
    );
    const { gw, port, events } = await gateway(up.path, ['POST /exec/{id}/start']);
    const head =
      'POST /exec/e1/start HTTP/1.1\r\nHost: d\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nTransfer-Encoding: chunked\r\n\r\n';
    try {
      for (const bad of [
        '5 5\r\nhello\r\n0\r\n\r\n',
        ' 5\r\nhello\r\n0\r\n\r\n',
        '0x5\r\nhello\r\n0\r\n\r\n',
        '5\r\nhello\n0\r\n\r\n',
        '5\r\nhello\r\n0\r\nX: 1\n\n',
        '00000000000000005\r\nhello\r\n0\r\n\r\n',
      ]) {
        const t0 = performance.now();
        const a = await exchange(port, head + bad);
        assert.match(a, /^HTTP\/1\.1 400 /, JSON.stringify(bad));
        assert.ok(performance.now() - t0 < 1500, 'answered at once, not after a timeout');
        assert.equal(events.at(-1)!.error?.code, 'ERR_MALFORMED_BODY');
      }
      assert.equal(up.all(), '', 'a malformed short body sends nothing upstream');
      // What Go accepts: trailing white space, extensions, an empty size line as the end.
      const a = await exchange(
        port,
        head + '5\t \r\nhello\r\n3;x=y\r\nabc\r\n0\r\nX-T: 1\r\n\r\nSTREAM',
      );
      assert.match(a, /^HTTP\/1\.1 101 /);
      await sleep(100);
      const got = up.all();
      assert.ok(
        got.endsWith('\r\n\r\n5\r\nhello\r\n3\r\nabc\r\n0\r\n\r\nSTREAM'),
        JSON.stringify(got),
      );
    } finally {
      await gw.close({ timeout: 500, grace: 100 });
      await up.close();
    }
  },
);

test(
  'streaming answers never take the pooled connections; a full pool answers 503 after the queue timeout',
  T,
  async () => {
    // Like dockerd, one request at a time per connection: behind an answer that never
    // ends (events) or never comes (the held list), nothing more is answered there.
    const endless = new WeakSet<net.Socket>();
    const up = await recorder((s, head) => {
      if (endless.has(s)) return;
      if (/^GET (\/v[0-9.]+)?\/events /.test(head)) {
        endless.add(s);
        s.write(
          'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n',
        );
      } else if (head.startsWith('GET /containers/json')) {
        endless.add(s); // never answers: holds its pooled connection
      } else ok(s);
    });
    const { gw, port } = await gateway(
      up.path,
      ['GET /_ping', 'GET /events', 'GET /containers/json'],
      [],
      {
        upstreamConnections: 4,
        timeouts: { head: 5000, queue: 300 },
      },
    );
    const held: net.Socket[] = [];
    try {
      for (let i = 0; i < 200; i++) {
        const c = await dial(port);
        c.write('GET /v1.41/events HTTP/1.1\r\nHost: d\r\n\r\n');
        held.push(c);
      }
      // Every stream got its own upstream connection and its answer head.
      for (const c of held) await readUntil(c, (b) => b.includes('\r\n\r\n'));
      assert.equal(up.conns.length, 200);
      let t0 = performance.now();
      assert.match(await exchange(port, 'GET /_ping HTTP/1.1\r\nHost: d\r\n\r\n'), /200 OK/);
      assert.ok(performance.now() - t0 < 1000, '/_ping answers under a second beside 200 streams');
      for (let i = 0; i < 4; i++) {
        const c = await dial(port);
        c.write('GET /containers/json HTTP/1.1\r\nHost: d\r\n\r\n');
        held.push(c);
      }
      await sleep(100);
      t0 = performance.now();
      const a = await exchange(port, 'GET /_ping HTTP/1.1\r\nHost: d\r\n\r\n');
      assert.match(a, /^HTTP\/1\.1 503 /);
      assert.match(a, /Retry-After: 1/i);
      assert.ok(performance.now() - t0 >= 250);
    } finally {
      for (const c of held) c.destroy();
      await gw.close({ timeout: 500, grace: 100 });
      await up.close();
    }
  },
);

test('stream and connection limits per identity and in total answer 429', T, async () => {
  const up = await recorder((s) =>
    s.write(
      'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n',
    ),
  );
  const { createHash } = await import('node:crypto');
  const tok = (name: string) => ({
    name,
    sha256: createHash('sha256')
      .update(name + '-t')
      .digest(),
  });
  const { gw, port } = await gateway(up.path, ['GET /events', 'GET /_ping'], [], {
    auth: { tokens: [tok('a'), tok('b')] },
    limits: { streamsPerIdentity: 2, streams: 3, connectionsPerIdentity: 3 },
  });
  const held: net.Socket[] = [];
  const events = async (who: string) => {
    const c = await dial(port);
    held.push(c);
    c.write(`GET /events HTTP/1.1\r\nHost: d\r\nAuthorization: Bearer ${who}-t\r\n\r\n`);
    return (await readUntil(c, (b) => b.includes('\r\n\r\n'))).toString('latin1');
  };
  try {
    assert.match(await events('a'), /200 OK/);
    assert.match(await events('a'), /200 OK/);
    const third = await events('a');
    assert.match(third, /^HTTP\/1\.1 429 /);
    assert.match(third, /per client/);
    assert.match(await events('b'), /200 OK/);
    const total = await events('b');
    assert.match(total, /^HTTP\/1\.1 429 /, 'the total of 3 is reached');
    assert.match(total, /its limit/);
    // Connections: a holds 2 (streams; the refused ones closed); 1 more is allowed.
    const c1 = await dial(port);
    held.push(c1);
    c1.write('GET /_ping HTTP/1.1\r\nHost: d\r\nAuthorization: Bearer a-t\r\n\r\n');
    await readUntil(c1, (b) => b.includes('\r\n\r\n'));
    const c2 = await dial(port);
    held.push(c2);
    c2.write('GET /_ping HTTP/1.1\r\nHost: d\r\nAuthorization: Bearer a-t\r\n\r\n');
    assert.match(
      (await readUntil(c2, (b) => b.includes('\r\n\r\n'))).toString('latin1'),
      /^HTTP\/1\.1 429 /,
    );
  } finally {
    for (const c of held) c.destroy();
    await gw.close({ timeout: 500, grace: 100 });
    await up.close();
  }
});

test(
  'bodies: over --max-body is 413 (declared or chunked, ordinary or takeover); a stalled body is 408',
  T,
  async () => {
    const up = await recorder((s) => ok(s));
    const { gw, port, events } = await gateway(
      up.path,
      ['POST /containers/create', 'POST /exec/{id}/start'],
      [],
      { limits: { maxBody: 100 }, timeouts: { body: 300 } },
    );
    try {
      const big = 'x'.repeat(200);
      assert.match(
        await exchange(
          port,
          `POST /containers/create HTTP/1.1\r\nHost: d\r\nContent-Length: 200\r\n\r\n${big}`,
        ),
        /^HTTP\/1\.1 413 /,
      );
      assert.match(
        await exchange(
          port,
          `POST /containers/create HTTP/1.1\r\nHost: d\r\nTransfer-Encoding: chunked\r\n\r\nc8\r\n${big}\r\n0\r\n\r\n`,
        ),
        /^HTTP\/1\.1 413 /,
      );
      assert.equal(events.at(-1)!.error?.code, 'ERR_BODY_TOO_LARGE');
      assert.match(
        await exchange(
          port,
          `POST /exec/e/start HTTP/1.1\r\nHost: d\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nTransfer-Encoding: chunked\r\n\r\nc8\r\n${big}\r\n0\r\n\r\n`,
        ),
        /^HTTP\/1\.1 413 /,
      );
      assert.equal(up.all(), '');
      const c = await dial(port);
      c.write('POST /containers/create HTTP/1.1\r\nHost: d\r\nContent-Length: 10\r\n\r\nabc');
      const t0 = performance.now();
      const a = (await readAll(c)).toString('latin1');
      assert.match(a, /^HTTP\/1\.1 408 /);
      assert.ok(performance.now() - t0 < 2000);
      assert.equal(events.at(-1)!.error?.code, 'ERR_BODY_TIMEOUT');
      c.destroy();
      assert.equal(up.all(), '', 'a short body is read whole before anything goes upstream');
    } finally {
      await gw.close({ timeout: 500, grace: 100 });
      await up.close();
    }
  },
);

test(
  'a takeover body honours backpressure: pushing at a non-reading upstream keeps memory bounded',
  { timeout: 60_000 },
  async () => {
    const up = await recorder((s) => s.pause());
    const { gw, port } = await gateway(up.path, ['POST /exec/{id}/start']);
    try {
      const base = process.memoryUsage().rss;
      const c = await dial(port);
      const size = 2 * 1024 ** 3;
      c.write(
        `POST /exec/e/start HTTP/1.1\r\nHost: d\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: ${size}\r\n\r\n`,
      );
      const block = Buffer.alloc(1024 * 1024, 0x61);
      let sent = 0;
      const until = Date.now() + 4000;
      while (sent < size && Date.now() < until) {
        if (!c.write(block)) {
          await Promise.race([new Promise((r) => c.once('drain', r)), sleep(200)]);
        }
        sent += block.length;
      }
      const grown = (process.memoryUsage().rss - base) / 1024 ** 2;
      assert.ok(
        grown < 150,
        `RSS grew ${grown.toFixed(0)} MiB while ${(sent / 1024 ** 2).toFixed(0)} MiB were offered`,
      );
      c.destroy();
    } finally {
      await gw.close({ timeout: 500, grace: 100 });
      await up.close();
    }
  },
);

test('a client that leaves mid-answer is ERR_SOCKET_CLOSED, not an upstream error', T, async () => {
  const up = await recorder((s) => {
    s.write('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n');
    s.write('x'.repeat(10));
  });
  const { gw, port, events } = await gateway(up.path, ['GET /containers/json']);
  try {
    const c = await dial(port);
    c.write('GET /containers/json HTTP/1.1\r\nHost: d\r\n\r\n');
    await readUntil(c, (b) => b.includes('xxxxxxxxxx'));
    c.destroy();
    for (let i = 0; i < 50 && events.length === 0; i++) await sleep(20);
    assert.equal(events[0]!.error?.code, 'ERR_SOCKET_CLOSED');
  } finally {
    await gw.close({ timeout: 500, grace: 100 });
    await up.close();
  }
});

test(
  'a malformed body on an ordinary request is a 400 client error, not an upstream one',
  T,
  async () => {
    const up = await recorder((s) => ok(s));
    const { gw, port, events } = await gateway(up.path, ['POST /volumes/create']);
    try {
      const c = await dial(port);
      c.write(
        'POST /volumes/create HTTP/1.1\r\nHost: d\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel',
      );
      await sleep(100);
      c.write('lo\r\nzz\r\n');
      const a = (await readAll(c)).toString('latin1');
      c.destroy();
      assert.match(a, /^HTTP\/1\.1 400 /);
      for (let i = 0; i < 50 && events.length === 0; i++) await sleep(20);
      assert.equal(events[0]!.status, 400);
      assert.equal(events[0]!.error?.code, 'ERR_MALFORMED_BODY');
      assert.equal(up.all(), '', 'nothing of it went upstream');
    } finally {
      await gw.close({ timeout: 500, grace: 100 });
      await up.close();
    }
  },
);

test(
  "query booleans are read as dockerd reads them (Go white space, not JavaScript's)",
  T,
  async () => {
    const up = await recorder((s) => ok(s));
    const { gw, port } = await gateway(
      up.path,
      ['DELETE /containers/{id}', 'POST /containers/{id}/kill'],
      ['DELETE /containers/{id}?force', 'POST /containers/{id}/kill?!signal'],
    );
    try {
      // U+FEFF: JavaScript's trim() strips it, Go's TrimSpace does not: dockerd reads true.
      const feff = await exchange(
        port,
        'DELETE /v1.41/containers/victim?force=%EF%BB%BF HTTP/1.1\r\nHost: d\r\n\r\n',
      );
      assert.match(feff, /^HTTP\/1\.1 403 /);
      // U+0085 and U+3000: Go strips them, so `force` reads false: allowed, as dockerd reads it.
      for (const ws of ['%C2%85', '%E3%80%80', '%20no%09']) {
        const a = await exchange(
          port,
          `DELETE /containers/c?force=${ws} HTTP/1.1\r\nHost: d\r\n\r\n`,
        );
        assert.match(a, /^HTTP\/1\.1 200 /, ws);
      }
      // Invalid UTF-8 could read differently: refused.
      assert.match(
        await exchange(port, 'DELETE /containers/c?force=%FF HTTP/1.1\r\nHost: d\r\n\r\n'),
        /^HTTP\/1\.1 400 /,
      );
      assert.doesNotMatch(up.all(), /victim|%FF/);
    } finally {
      await gw.close({ timeout: 500, grace: 100 });
      await up.close();
    }
  },
);

test(
  'a {name} placeholder covers every name dockerd routes there, slashes included',
  T,
  async () => {
    const up = await recorder((s) => ok(s));
    const { gw, port } = await gateway(
      up.path,
      ['* /images/**', '* /containers/**'],
      ['DELETE /images/{name}', 'POST /containers/{id}/exec'],
    );
    try {
      for (const line of [
        'DELETE /v1.41/images/reg.local/ns/bb:latest',
        'DELETE /images/reg.local:5000/a/b/c@sha256:abcd',
        'POST /v1.41/containers/web/db/exec',
        'POST /containers/a/b/c/exec',
      ]) {
        assert.match(
          await exchange(port, `${line} HTTP/1.1\r\nHost: d\r\nContent-Length: 0\r\n\r\n`),
          /^HTTP\/1\.1 403 /,
          line,
        );
      }
      // What dockerd routes elsewhere stays allowed: the list and the inspect routes.
      assert.match(
        await exchange(port, 'GET /images/reg.local/ns/bb:latest/json HTTP/1.1\r\nHost: d\r\n\r\n'),
        /^HTTP\/1\.1 200 /,
      );
      assert.match(
        await exchange(port, 'GET /containers/json HTTP/1.1\r\nHost: d\r\n\r\n'),
        /^HTTP\/1\.1 200 /,
      );
      assert.doesNotMatch(up.all(), /DELETE|exec/);
    } finally {
      await gw.close({ timeout: 500, grace: 100 });
      await up.close();
    }
  },
);
