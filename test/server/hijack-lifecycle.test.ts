/**
 * After a takeover Node's HTTP machinery never touches the socket again: no timeouts, no
 * close calls, the old response refuses writes. Plus the error codes of hijack().
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import type { Socket } from 'node:net';
import { enableHijack, hijack, isHijackError } from '../../src/index.js';
import { httpServer, listen, readUntil, sleep } from './util.js';

const upgradeReq = 'GET /t HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n';

/** A server whose handler takes every request over and echoes; the test gets the socket. */
async function echoServer(enabled: boolean, opts: http.ServerOptions = {}) {
  const taken: Socket[] = [];
  const server = http.createServer(opts, (req, res) => {
    res.writeHead(101, { Connection: 'Upgrade', Upgrade: 'tcp' });
    hijack(req, res).then(({ socket, head }) => {
      taken.push(socket);
      if (head.length) socket.write(head);
      socket.on('data', (d: Buffer) => socket.write(d));
      socket.on('end', () => socket.end());
    }, console.error);
  });
  if (enabled) enableHijack(server);
  const l = await listen(server);
  return { l, server, taken };
}

async function exchange(client: Socket, msg: string): Promise<void> {
  const got = readUntil(client, (b) => b.includes(msg));
  client.write(msg);
  assert.ok((await got).includes(msg), 'the taken-over connection still carries data');
}

for (const enabled of [true, false]) {
  const mode = enabled ? 'with enableHijack' : 'without enableHijack';

  test(
    `${mode}: no server timeout touches a hijacked connection`,
    { timeout: 10_000 },
    async () => {
      const { l, server } = await echoServer(enabled, {
        requestTimeout: 300,
        headersTimeout: 200,
        keepAliveTimeout: 100,
        connectionsCheckingInterval: 30,
      });
      server.setTimeout(150);
      try {
        const client = l.connect();
        client.write(upgradeReq);
        await readUntil(client, (b) => b.includes('\r\n\r\n'));
        await sleep(900); // past every timeout above, several checking intervals
        assert.equal(client.destroyed, false);
        await exchange(client, 'still-here');
        client.destroy();
      } finally {
        await l.close();
      }
    },
  );

  test(
    `${mode}: server.close(), closeIdleConnections(), closeAllConnections() leave it alone`,
    { timeout: 10_000 },
    async () => {
      const { l, server, taken } = await echoServer(enabled);
      const client = l.connect();
      client.write(upgradeReq);
      await readUntil(client, (b) => b.includes('\r\n\r\n'));
      await exchange(client, 'one');
      server.closeIdleConnections();
      server.closeAllConnections();
      // Go: Close/Shutdown neither close nor wait for hijacked connections.
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await exchange(client, 'two');
      assert.equal(taken.length, 1);
      client.destroy();
      await l.close().catch(() => {});
    },
  );
}

test(
  'res refuses writes after the takeover and puts no byte on the wire',
  { timeout: 10_000 },
  async () => {
    const codes: string[] = [];
    const server = enableHijack(
      httpServer((req, res) => {
        res.setHeader('X-Not-Sent', 'because writeHead was never called');
        void hijack(req, res).then(({ socket }) => {
          for (const f of [
            () => res.write('x'),
            () => res.end('y'),
            () => res.writeHead(200),
            () => res.flushHeaders(),
          ]) {
            try {
              f();
            } catch (err) {
              if (isHijackError(err)) codes.push(err.code);
            }
          }
          socket.end('only-this');
        });
      }),
    );
    const l = await listen(server);
    try {
      const client = l.connect();
      const out = readUntil(client, () => false);
      client.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      assert.equal((await out).toString(), 'only-this');
      assert.deepEqual(codes, ['ERR_HIJACKED', 'ERR_HIJACKED', 'ERR_HIJACKED', 'ERR_HIJACKED']);
    } finally {
      await l.close();
    }
  },
);

test('a second hijack rejects with ERR_HIJACKED', { timeout: 10_000 }, async () => {
  let second: unknown;
  const server = enableHijack(
    httpServer((req, res) => {
      const first = hijack(req, res);
      second = hijack(req, res).catch((e) => e);
      void first.then(({ socket }) => socket.end('ok'));
    }),
  );
  const l = await listen(server);
  try {
    const client = l.connect();
    const out = readUntil(client, () => false);
    client.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await out;
    const err = await second;
    assert.ok(isHijackError(err, 'ERR_HIJACKED'), String(err));
  } finally {
    await l.close();
  }
});

test(
  'a closed socket gives ERR_SOCKET_CLOSED; a finished response ERR_RESPONSE_FINISHED',
  { timeout: 10_000 },
  async () => {
    const results: unknown[] = [];
    const server = enableHijack(
      httpServer((req, res) => {
        if (req.url === '/finished') {
          res.end('done');
          results.push(hijack(req, res).catch((e) => e));
          return;
        }
        req.socket.once('close', () => results.push(hijack(req, res).catch((e) => e)));
      }),
    );
    const l = await listen(server);
    try {
      const a = l.connect();
      a.write('GET /closed HTTP/1.1\r\nHost: x\r\n\r\n');
      await sleep(50);
      a.destroy();
      const b = l.connect();
      b.write('GET /finished HTTP/1.1\r\nHost: x\r\n\r\n');
      await readUntil(b, (x) => x.includes('done'));
      b.destroy();
      for (let i = 0; i < 100 && results.length < 2; i++) await sleep(10);
      const errs = await Promise.all(results);
      const codes = errs.map((e) => (isHijackError(e) ? e.code : String(e))).sort();
      assert.deepEqual(codes, ['ERR_RESPONSE_FINISHED', 'ERR_SOCKET_CLOSED']);
    } finally {
      await l.close();
    }
  },
);

test('bad arguments give ERR_INVALID_ARGUMENT', async () => {
  const err = await hijack(null as never, null as never).catch((e) => e);
  assert.ok(isHijackError(err, 'ERR_INVALID_ARGUMENT'));
  assert.throws(
    () => enableHijack({} as never),
    (e) => isHijackError(e, 'ERR_INVALID_ARGUMENT'),
  );
});

test('an HTTP/2 request gives ERR_NOT_SUPPORTED', { timeout: 10_000 }, async () => {
  let got: unknown;
  const server = http2.createServer((req, res) => {
    got = hijack(req as never, res as never).catch((e) => e);
    res.end('h2');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const session = http2.connect(`http://127.0.0.1:${port}`);
  try {
    const req = session.request({ ':path': '/' });
    req.resume();
    await new Promise((r) => req.on('end', r));
    assert.ok(isHijackError(await got, 'ERR_NOT_SUPPORTED'), String(await got));
  } finally {
    session.close();
    await new Promise((r) => server.close(r));
  }
});

test(
  'without enableHijack: a request pipelined behind a synchronous takeover gives ERR_BYTES_LOST',
  { timeout: 10_000 },
  async () => {
    let result: unknown;
    let calls = 0;
    const server = httpServer((req, res) => {
      calls++;
      if (calls === 1) result = hijack(req, res).catch((e) => e);
      else res.end();
    });
    const l = await listen(server);
    try {
      const client = l.connect();
      client.write('GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n');
      for (let i = 0; i < 100 && !result; i++) await sleep(10);
      const err = await result;
      assert.ok(isHijackError(err, 'ERR_BYTES_LOST'), String(err));
      assert.match((err as Error).message, /enableHijack/);
      client.destroy();
    } finally {
      await l.close();
    }
  },
);

test(
  'without enableHijack: a synchronous takeover of an Upgrade request keeps the bytes sent with the head',
  { timeout: 10_000 },
  async () => {
    const server = httpServer((req, res) => {
      void hijack(req, res).then(({ socket, head }) =>
        socket.end(Buffer.concat([Buffer.from('head='), head])),
      );
    });
    const l = await listen(server);
    try {
      const client = l.connect();
      const out = readUntil(client, () => false);
      client.write(upgradeReq + 'EARLY-BYTES');
      assert.equal((await out).toString(), 'head=EARLY-BYTES');
    } finally {
      await l.close();
    }
  },
);

test(
  'without enableHijack: an unread Content-Length body comes back after an await',
  { timeout: 10_000 },
  async () => {
    const server = httpServer((req, res) => {
      void (async () => {
        await sleep(20);
        const { socket, head } = await hijack(req, res);
        const chunks = [head];
        socket.on('data', (d: Buffer) => chunks.push(d));
        socket.on('end', () => socket.end(Buffer.concat(chunks)));
      })();
    });
    const l = await listen(server);
    try {
      const client = l.connect();
      const out = readUntil(client, () => false);
      client.write('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n01234');
      await sleep(60);
      client.end('56789');
      assert.equal((await out).toString(), '0123456789');
    } finally {
      await l.close();
    }
  },
);
