// enableHijack and hijack() under hostile input: each case found by the differential runner
// (test/server/differential.test.ts), over real sockets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type net from 'node:net';
import { PassThrough } from 'node:stream';
import { enableHijack, hijack, type Hijacked } from '../../src/index.js';
import { collect, dechunk, httpServer, listen, readUntil, sleep, type Handler } from './util.js';

const T = { timeout: 10_000 };

/** A gated server whose handler is `h`, listening on loopback. */
async function gated(h: Handler, opts: http.ServerOptions = {}) {
  return listen(enableHijack(http.createServer(opts, h)));
}

/** Resolves with what the handler's takeover got: head, then the socket's bytes until EOF. */
function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((a, b) => {
    resolve = a;
    reject = b;
  });
  return { promise, resolve, reject };
}

/** What a takeover got (head, then the socket's bytes until EOF) into `got`; then closes. */
function handOver(got: ReturnType<typeof deferred<Buffer>>) {
  return ({ socket, head }: Hijacked) => {
    void collect(head, socket).then((b) => {
      socket.destroy();
      got.resolve(b);
    }, got.reject);
  };
}

for (const [how, read] of [
  ['resume()', (req: http.IncomingMessage) => req.resume()],
  ["on('data')", (req: http.IncomingMessage) => req.on('data', () => {})],
  ['read()', (req: http.IncomingMessage) => req.read()],
  ['pipe()', (req: http.IncomingMessage) => req.pipe(new PassThrough())],
] as const) {
  test(`a read of req after hijack() (${how}) gives nothing and crashes nothing`, T, async () => {
    const errors: unknown[] = [];
    const got = deferred<Buffer>();
    const l = await gated((req, res) => {
      req.on('error', (e) => errors.push(e));
      void hijack(req, res).then(({ socket, head }) => {
        read(req);
        // The body bytes belong to the taker: none is lost to the late read.
        void collect(head, socket).then(got.resolve, got.reject);
        setTimeout(() => socket.end(), 100);
      });
    });
    try {
      const c = l.connect();
      c.write('POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello');
      await sleep(30);
      c.write('world');
      const taken = await got.promise;
      assert.equal(taken.toString(), 'helloworld');
      await sleep(50);
      assert.deepEqual(errors, []);
      c.destroy();
    } finally {
      await l.close();
    }
  });
}

test("a logging middleware's req.on('data') then hijack() in the same tick", T, async () => {
  const errors: unknown[] = [];
  const got = deferred<Buffer>();
  let seen = 0;
  const l = await gated((req, res) => {
    req.on('error', (e) => errors.push(e));
    req.on('data', (c: Buffer) => (seen += c.length)); // the middleware
    void hijack(req, res).then(({ socket, head }) => {
      void collect(head, socket).then(got.resolve, got.reject);
      setTimeout(() => socket.end(), 100);
    });
  });
  try {
    const c = l.connect();
    c.write('POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello');
    const taken = await got.promise;
    // Each byte went exactly one way: to the middleware before the takeover, or to the taker.
    assert.equal(seen + taken.length, 5);
    assert.equal(taken.toString(), 'hello'.slice(seen));
    assert.deepEqual(errors, []);
    c.destroy();
  } finally {
    await l.close();
  }
});

/**
 * Sends `raw`, answering each request (after a pause) with its body read whole; returns the
 * bodies seen. Requests are handled one at a time, as in Go.
 */
async function bodiesOf(raw: string, opts: http.ServerOptions = {}): Promise<string[]> {
  const bodies: string[] = [];
  const order: string[] = [];
  const l = await gated((req, res) => {
    order.push(`start ${req.url}`);
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      bodies.push(Buffer.concat(parts).toString());
      setTimeout(() => {
        order.push(`answer ${req.url}`);
        res.end('ok');
      }, 30);
    });
  }, opts);
  try {
    const c = l.connect();
    c.write(raw);
    await readUntil(c, (all) => all.toString().split('HTTP/1.1 200').length - 1 >= 2);
    c.destroy();
  } finally {
    await l.close();
  }
  assert.deepEqual(order, ['start /a', 'answer /a', 'start /b', 'answer /b']);
  return bodies;
}

test(
  'Content-Length with 16 and more digits (leading zeros) is read as llhttp reads it',
  T,
  async () => {
    const bodies = await bodiesOf(
      'POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 0000000000000005\r\n\r\nhello' +
        'POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 000000000000000000003\r\n\r\nabc',
    );
    assert.deepEqual(bodies, ['hello', 'abc']);
  },
);

test(
  'chunk sizes with 16 and more hex digits (leading zeros) are read as llhttp reads them',
  T,
  async () => {
    const bodies = await bodiesOf(
      'POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n' +
        '00000000000000005\r\nhello\r\n0\r\n\r\n' +
        'POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc',
    );
    assert.deepEqual(bodies, ['hello', 'abc']);
  },
);

test(
  'one request at a time where the gate and llhttp could disagree on a body end (empty Transfer-Encoding, then an Upgrade)',
  T,
  async () => {
    // Node 20's llhttp reads an empty Transfer-Encoding as no body; later lines refuse it (400).
    // Either way the second request must not be taken over while the first is in flight.
    const order: string[] = [];
    const l = await gated((req, res) => {
      order.push(`start ${req.url}`);
      if (req.url === '/up') {
        void hijack(req, res).then(({ socket }) => {
          order.push('taken');
          socket.end(
            'HTTP/1.1 101 Switching Protocols\r\nUpgrade: tcp\r\nConnection: Upgrade\r\n\r\nTUNNEL',
          );
        });
        return;
      }
      req.resume(); // the handler reads the body it believes it has
      setTimeout(() => {
        order.push(`answer ${req.url}`);
        res.end('first');
      }, 50);
    });
    try {
      const c = l.connect();
      c.write(
        'POST /first HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: \r\n\r\n' +
          'GET /up HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n',
      );
      const all = (await readUntil(c, (b) => b.includes('TUNNEL') || b.includes('400'))).toString();
      await sleep(20);
      if (all.includes('TUNNEL')) {
        assert.ok(all.indexOf('first') < all.indexOf('101'), all);
        assert.ok(!all.slice(all.indexOf('101')).includes('HTTP/1.1 200'), all);
        assert.deepEqual(order, ['start /first', 'answer /first', 'start /up', 'taken']);
      } else {
        assert.match(all, /^HTTP\/1\.1 400/);
        assert.ok(!order.includes('start /up'), String(order));
      }
      c.destroy();
    } finally {
      await l.close();
    }
  },
);

test(
  'a partly read chunked body continues as valid chunked encoding when the CRLF comes after the takeover',
  T,
  async () => {
    const got = deferred<Buffer>();
    const l = await gated((req, res) => {
      req.once('data', (c: Buffer) => {
        assert.equal(c.toString(), 'hello');
        req.pause();
        void hijack(req, res).then(handOver(got));
      });
    });
    try {
      const c = l.connect();
      c.write('POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello');
      await sleep(100);
      c.write('\r\n3\r\nabc\r\n0\r\n\r\nAFTER');
      await sleep(50);
      c.end();
      const taken = await got.promise;
      const { data, after } = dechunk(taken);
      assert.equal(data.toString(), 'abc');
      assert.equal(after.toString(), 'AFTER');
    } finally {
      await l.close();
    }
  },
);

test(
  'a takeover waiting for a chunk CRLF completes when the client resets instead',
  T,
  async () => {
    const got = deferred<Hijacked>();
    const l = await gated((req, res) => {
      req.once('data', () => {
        req.pause();
        hijack(req, res).then(got.resolve, got.reject);
      });
    });
    try {
      const c = l.connect();
      c.write('POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello');
      await sleep(100);
      c.resetAndDestroy();
      const { socket } = await got.promise;
      socket.destroy();
    } finally {
      await l.close();
    }
  },
);

test(
  'a chunked body read to its end is not replayed: the taker gets only what follows',
  T,
  async () => {
    const got = deferred<Buffer>();
    const l = await gated((req, res) => {
      req.resume();
      req.on('end', () => {
        void hijack(req, res).then(handOver(got));
      });
    });
    try {
      const c = l.connect();
      c.write(
        'POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-T: 1\r\n\r\nNEXT',
      );
      await sleep(100);
      c.end();
      assert.equal((await got.promise).toString(), 'NEXT');
    } finally {
      await l.close();
    }
  },
);

for (const connect of [false, true]) {
  const kind = connect ? 'CONNECT' : 'Upgrade';
  test(
    `${kind}, data and FIN at once, a handler that awaits then takes over: the data and an answer`,
    T,
    async () => {
      const got = deferred<Hijacked>();
      const l = await gated((req, res) => {
        void (async () => {
          await sleep(80); // an auth check
          got.resolve(await hijack(req, res));
        })().catch(got.reject);
      });
      try {
        const c = l.connect();
        const head = connect
          ? 'CONNECT db:5432 HTTP/1.1\r\nHost: db:5432\r\n\r\n'
          : 'GET /x HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n';
        c.end(head + 'early data');
        const answer = readUntil(c, (b) => b.includes('bye'));
        const { socket, head: rest } = await got.promise;
        const taken = await collect(rest, socket);
        assert.equal(taken.toString(), 'early data');
        socket.end('HTTP/1.1 101 Switching Protocols\r\n\r\nbye');
        assert.match((await answer).toString(), /101[^]*bye$/);
      } finally {
        await l.close();
      }
    },
  );
}

test(
  'an Upgrade with FIN answered normally still gets its answer and the connection closes',
  T,
  async () => {
    const l = await gated((req, res) => {
      setTimeout(() => res.writeHead(401).end('no'), 50);
    });
    try {
      const c = l.connect();
      c.end('GET /x HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\nearly');
      const all = await new Promise<Buffer>((resolve) => {
        const parts: Buffer[] = [];
        c.on('data', (b: Buffer) => parts.push(b));
        c.on('close', () => resolve(Buffer.concat(parts)));
      });
      assert.match(all.toString(), /^HTTP\/1\.1 401[^]*\r\nno\r\n/);
    } finally {
      await l.close();
    }
  },
);

test('a client closing mid-body gets 400 from a gated server, as from plain Node', T, async () => {
  const answers: string[] = [];
  for (const gate of [false, true]) {
    const h: Handler = (req, res) => {
      setTimeout(() => {
        req.resume();
        req.on('end', () => res.end('ok'));
      }, 30);
    };
    const server = httpServer(h);
    const l = await listen(gate ? enableHijack(server) : server);
    try {
      const c: net.Socket = l.connect();
      c.end('POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nhalf');
      const all = await new Promise<Buffer>((resolve) => {
        const parts: Buffer[] = [];
        c.on('data', (b: Buffer) => parts.push(b));
        c.on('close', () => resolve(Buffer.concat(parts)));
      });
      answers.push(all.toString().split('\r\n')[0] ?? '');
    } finally {
      await l.close();
    }
  }
  assert.equal(answers[1], answers[0]);
  assert.match(answers[0]!, /400/);
});

test(
  'insecureHTTPParser: a body framed by a lenient field is found where llhttp finds it',
  T,
  async () => {
    const bodies = await bodiesOf(
      'POST /a HTTP/1.1\r\nHost: x\r\nContent-Length : 5\r\n\r\nhello' +
        'POST /b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
      { insecureHTTPParser: true },
    );
    assert.deepEqual(bodies, ['hello', 'abc']);
  },
);
