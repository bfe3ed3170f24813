/**
 * trackConnections(): Go's ConnState sequences, ConnContext, lookups, counts, and
 * Shutdown semantics over real connections.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { Socket } from 'node:net';
import {
  enableHijack,
  hijack,
  isHijackError,
  trackConnections,
  type ConnState,
  type ConnectionTracker,
} from '../../src/index.js';
import { httpServer, httpsServer, listen, readUntil, sleep } from './util.js';

/** A server recording every connection's transitions. */
function recorded(
  handler: (req: http.IncomingMessage, res: http.ServerResponse) => void,
  opts: { enable?: boolean; enableFirst?: boolean; tls?: boolean } = {},
) {
  const server = opts.tls ? httpsServer(handler) : httpServer(handler);
  const seq = new Map<number, ConnState[]>();
  const contexts: number[] = [];
  if (opts.enable && opts.enableFirst) enableHijack(server);
  const tracker = trackConnections(server, {
    connContext: (socket) => {
      contexts.push(socket.remotePort ?? 0);
      return { tag: 'ctx' };
    },
    onState: (conn, state, prev) => {
      if (prev === null) assert.equal(conn.context?.tag, 'ctx', 'connContext runs before new');
      const list = seq.get(conn.id) ?? [];
      list.push(state);
      seq.set(conn.id, list);
    },
  });
  if (opts.enable && !opts.enableFirst) enableHijack(server);
  return { server, tracker, seq, contexts };
}

const ok = (_req: http.IncomingMessage, res: http.ServerResponse) => res.end('ok');

async function settle(tracker: ConnectionTracker<any>, pred: () => boolean) {
  for (let i = 0; i < 200 && !pred(); i++) await sleep(10);
  assert.ok(pred(), `tracker: ${tracker.size} live`);
}

test('one request: new, active, idle, closed', { timeout: 10_000 }, async () => {
  const { server, tracker, seq } = recorded(ok);
  const l = await listen(server);
  try {
    const c = l.connect();
    c.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await readUntil(c, (b) => b.includes('ok'));
    c.end();
    await settle(tracker, () => tracker.size === 0);
    assert.deepEqual([...seq.values()], [['new', 'active', 'idle', 'closed']]);
  } finally {
    await l.close();
  }
});

for (const enable of [false, true]) {
  test(
    `keep-alive reuse${enable ? ' (enableHijack)' : ''}: new, active, idle, active, idle, closed`,
    { timeout: 10_000 },
    async () => {
      const { server, tracker, seq } = recorded(ok, { enable });
      const l = await listen(server);
      try {
        const c = l.connect();
        c.write('GET /1 HTTP/1.1\r\nHost: x\r\n\r\n');
        await readUntil(c, (b) => b.includes('ok'));
        const conn = [...tracker][0]!;
        assert.equal(conn.state, 'idle');
        assert.equal(tracker.count('idle'), 1);
        c.write('GET /2 HTTP/1.1\r\nHost: x\r\n\r\n');
        await readUntil(c, (b) => b.includes('ok'));
        assert.equal(conn.requests, 2);
        c.end();
        await settle(tracker, () => tracker.size === 0);
        assert.deepEqual(
          [...seq.values()],
          [['new', 'active', 'idle', 'active', 'idle', 'closed']],
        );
      } finally {
        await l.close();
      }
    },
  );
}

test('a client that connects and says nothing: new, closed', { timeout: 10_000 }, async () => {
  const { server, tracker, seq } = recorded(ok);
  const l = await listen(server);
  try {
    const c = l.connect();
    await settle(tracker, () => tracker.count('new') === 1);
    c.end();
    await settle(tracker, () => tracker.size === 0);
    assert.deepEqual([...seq.values()], [['new', 'closed']]);
  } finally {
    await l.close();
  }
});

for (const enableFirst of [true, false]) {
  test(
    `a hijack: new, active, hijacked, never closed (enableHijack ${enableFirst ? 'before' : 'after'} the tracker)`,
    { timeout: 10_000 },
    async () => {
      let taken: Socket | null = null;
      const { server, tracker, seq } = recorded(
        (req, res) => {
          void hijack(req, res).then(({ socket }) => {
            taken = socket;
            socket.end('bye');
          });
        },
        { enable: true, enableFirst },
      );
      const l = await listen(server);
      try {
        const c = l.connect();
        c.write('GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n');
        await readUntil(c, () => false);
        await settle(tracker, () => tracker.size === 0);
        assert.ok(taken);
        assert.deepEqual([...seq.values()], [['new', 'active', 'hijacked']]);
      } finally {
        await l.close();
      }
    },
  );
}

test('an error mid-request: new, active, closed', { timeout: 10_000 }, async () => {
  const { server, tracker, seq } = recorded(ok);
  server.on('clientError', (_e, s: Socket) => s.destroy());
  const l = await listen(server);
  try {
    const c = l.connect();
    c.write('GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n');
    await readUntil(c, () => false);
    await settle(tracker, () => tracker.size === 0);
    assert.deepEqual([...seq.values()], [['new', 'active', 'closed']]);
  } finally {
    await l.close();
  }
});

for (const enable of [false, true]) {
  test(
    `pipelining${enable ? ' (enableHijack: one at a time)' : ''}`,
    { timeout: 10_000 },
    async () => {
      let concurrent = 0;
      let most = 0;
      const { server, tracker, seq } = recorded(
        (_req, res) => {
          concurrent++;
          most = Math.max(most, concurrent);
          setTimeout(() => {
            concurrent--;
            res.end('ok');
          }, 20);
        },
        { enable },
      );
      const l = await listen(server);
      try {
        const c = l.connect();
        c.write(
          'GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\nGET /3 HTTP/1.1\r\nHost: x\r\n\r\n',
        );
        await readUntil(c, (b) => b.toString().split('ok').length === 4);
        c.end();
        await settle(tracker, () => tracker.size === 0);
        const states = [...seq.values()][0]!;
        if (enable) {
          assert.equal(most, 1, 'enableHijack serves one request at a time, as Go does');
          assert.deepEqual(states, [
            'new',
            'active',
            'idle',
            'active',
            'idle',
            'active',
            'idle',
            'closed',
          ]);
        } else {
          // Node dispatches pipelined requests at once: active until the last response ends.
          assert.deepEqual(states, ['new', 'active', 'idle', 'closed']);
        }
      } finally {
        await l.close();
      }
    },
  );
}

test(
  'lookups: of(req) and of(socket), unique ids on a unix listener, transport, counts',
  { timeout: 10_000 },
  async () => {
    const seen: unknown[] = [];
    const server = httpServer((req, res) => {
      const conn = tracker.of(req);
      seen.push(conn === tracker.of(req.socket) ? conn : 'mismatch');
      res.end('ok');
    });
    const tracker = trackConnections(server);
    const l = await listen(server, { unix: true });
    try {
      const clients = [l.connect(), l.connect(), l.connect()];
      for (const c of clients) c.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      await Promise.all(clients.map((c) => readUntil(c, (b) => b.includes('ok'))));
      assert.equal(tracker.count(), 3);
      assert.equal(tracker.count('idle'), 3);
      const conns = [...tracker];
      assert.equal(
        new Set(conns.map((c) => c.id)).size,
        3,
        'ids are unique though unix remote addresses are empty',
      );
      assert.ok(conns.every((c) => c.transport === 'unix' && c.remoteAddress === undefined));
      // The tracker's Conn exposes the kernel's facts: this process is the peer here.
      const cred = conns[0]!.peerCred();
      assert.deepEqual(
        [cred.pid, cred.uid, cred.gid],
        [process.pid, process.getuid!(), process.getgid!()],
      );
      assert.throws(
        () => conns[0]!.tcpInfo(),
        (e) => isHijackError(e, 'ERR_NOT_TCP'),
      );
      assert.deepEqual(new Set(seen), new Set(conns));
      for (const c of clients) c.destroy();
      await settle(tracker, () => tracker.size === 0);
    } finally {
      await l.close();
    }
  },
);

test(
  'tls: the connection is tracked from accept through the handshake',
  { timeout: 10_000 },
  async () => {
    const { server, tracker, seq } = recorded(ok, { tls: true });
    const l = await listen(server, { tls: true });
    try {
      const c = l.connect();
      c.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      await readUntil(c, (b) => b.includes('ok'));
      const conn = [...tracker][0]!;
      assert.equal(conn.transport, 'tls');
      const info = conn.tcpInfo();
      assert.ok(
        info.sndMss! > 0 && info.bytesReceived! > 0,
        'tcpInfo() of a tracked TLS connection',
      );
      assert.equal(conn.socket.constructor.name, 'TLSSocket');
      c.end();
      await settle(tracker, () => tracker.size === 0);
      assert.deepEqual([...seq.values()], [['new', 'active', 'idle', 'closed']]);
    } finally {
      await l.close();
    }
  },
);

test(
  'shutdown: every started request gets its whole response; hijacked ones are neither closed nor waited for',
  { timeout: 20_000 },
  async () => {
    const body = 'x'.repeat(50_000);
    let started = 0;
    let hookAt = -1;
    const server = enableHijack(
      httpServer((req, res) => {
        if (req.url === '/hijack') {
          void hijack(req, res).then(({ socket }) =>
            socket.on('data', (d: Buffer) => socket.write(d)),
          );
          return;
        }
        started++;
        setTimeout(() => res.end(body), 50 + Math.random() * 150);
      }),
    );
    const tracker = trackConnections(server);
    tracker.onShutdown(() => (hookAt = tracker.count('active')));
    const l = await listen(server);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 20 });
    const port = (server.address() as { port: number }).port;
    try {
      const taken = l.connect();
      taken.write('GET /hijack HTTP/1.1\r\nHost: x\r\n\r\n');
      await settle(tracker, () => tracker.count('hijacked') === 1);
      const results: Promise<number>[] = [];
      for (let i = 0; i < 60; i++) {
        results.push(
          new Promise<number>((resolve) => {
            const req = http.get({ host: '127.0.0.1', port, path: `/${i}`, agent }, (res) => {
              let n = 0;
              res.on('data', (d: Buffer) => (n += d.length));
              res.on('end', () => resolve(n));
              res.on('error', () => resolve(-1));
            });
            req.on('error', () => resolve(-2));
          }),
        );
        if (i === 30) await sleep(40);
      }
      await settle(tracker, () => started > 0);
      const shut = tracker.shutdown({ timeout: 10_000 });
      assert.ok(hookAt >= 0, 'onShutdown hooks run when shutdown starts');
      await shut;
      const sizes = await Promise.all(results);
      const served = sizes.filter((n) => n === body.length).length;
      const refused = sizes.filter((n) => n < 0).length;
      assert.equal(served + refused, sizes.length, `no truncated response: ${sizes.join(',')}`);
      assert.equal(served, started, 'every request that reached a handler got its whole response');
      assert.equal(taken.destroyed, false, 'the hijacked connection stays open');
      const echo = readUntil(taken, (b) => b.includes('after-shutdown'));
      taken.write('after-shutdown');
      assert.ok((await echo).includes('after-shutdown'));
      taken.destroy();
    } finally {
      agent.destroy();
      await l.close().catch(() => {});
    }
  },
);

test(
  'shutdown: at the timeout the rest are destroyed and it rejects with ERR_SHUTDOWN_TIMEOUT; abort gives ERR_SHUTDOWN_ABORTED',
  { timeout: 10_000 },
  async () => {
    for (const how of ['timeout', 'abort'] as const) {
      const server = httpServer(() => {
        /* never answers */
      });
      const tracker = trackConnections(server);
      const l = await listen(server);
      const c = l.connect();
      const ended = readUntil(c, () => false);
      c.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      await settle(tracker, () => tracker.count('active') === 1);
      const ac = new AbortController();
      const p = tracker.shutdown(how === 'timeout' ? { timeout: 100 } : { signal: ac.signal });
      if (how === 'abort') setTimeout(() => ac.abort(), 50);
      const err = await p.catch((e) => e);
      assert.ok(
        isHijackError(err, how === 'timeout' ? 'ERR_SHUTDOWN_TIMEOUT' : 'ERR_SHUTDOWN_ABORTED'),
        String(err),
      );
      await ended;
      assert.equal(tracker.size, 0);
      await l.close().catch(() => {});
    }
  },
);

test(
  'shutdown closes idle connections at once, and new ones after the grace period',
  { timeout: 10_000 },
  async () => {
    const { server, tracker } = recorded(ok);
    const l = await listen(server);
    const idle = l.connect();
    idle.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await readUntil(idle, (b) => b.includes('ok'));
    const quiet = l.connect();
    await settle(tracker, () => tracker.count('new') === 1 && tracker.count('idle') === 1);
    const t0 = Date.now();
    await tracker.shutdown({ newConnGrace: 200 });
    assert.ok(Date.now() - t0 >= 150, 'a quiet new connection gets its grace period');
    assert.equal(tracker.size, 0);
    quiet.destroy();
    await l.close().catch(() => {});
  },
);

for (const enable of [false, true]) {
  for (const when of ['after the answer', 'pipelined behind the first request'] as const) {
    test(
      `shutdown keeps an idle connection whose next request is partly in (${when}), and serves it${enable ? ' (enableHijack)' : ''}`,
      { timeout: 10_000 },
      async () => {
        // The first answer waits a little, so a pipelined half head is read before it ends.
        const { server, tracker, seq } = recorded(
          (req, res) => void setTimeout(() => res.end('ok'), req.url === '/1' ? 30 : 0),
          { enable },
        );
        const l = await listen(server);
        try {
          const c = l.connect();
          const first = readUntil(c, (b) => b.includes('ok'));
          if (when === 'after the answer') {
            c.write('GET /1 HTTP/1.1\r\nHost: x\r\n\r\n');
            await first;
            await settle(tracker, () => tracker.count('idle') === 1);
            c.write('GET /2 HTTP/1.1\r\nHo');
          } else {
            c.write('GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHo');
            await first;
          }
          // Half a head: still idle in Go's terms (no head read yet), but a request began.
          await sleep(50);
          assert.equal(tracker.count('idle'), 1);
          const answer = readUntil(c, (b) => b.includes('ok'));
          const shut = tracker.shutdown({ timeout: 5000 });
          await sleep(50);
          assert.equal(c.destroyed, false);
          c.write('st: x\r\n\r\n');
          const got = (await answer).toString();
          assert.match(got, /^HTTP\/1\.1 200 OK\r\n/);
          assert.match(got, /Connection: close/i, 'answered during shutdown: keep-alive off');
          await shut;
          assert.deepEqual(
            [...seq.values()],
            [['new', 'active', 'idle', 'active', 'idle', 'closed']],
          );
        } finally {
          await l.close().catch(() => {});
        }
      },
    );
  }
}

test('a keep-alive client that sends half a head and leaves: idle, active, closed (Go)', async () => {
  const { server, tracker, seq } = recorded(ok);
  const l = await listen(server);
  try {
    const c = l.connect();
    c.write('GET /1 HTTP/1.1\r\nHost: x\r\n\r\n');
    await readUntil(c, (b) => b.includes('ok'));
    await settle(tracker, () => tracker.count('idle') === 1);
    c.end('GET /2 HTT');
    await settle(tracker, () => tracker.size === 0);
    assert.deepEqual([...seq.values()], [['new', 'active', 'idle', 'active', 'closed']]);
  } finally {
    await l.close().catch(() => {});
  }
});
