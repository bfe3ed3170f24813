/**
 * enableHijack(server): Upgrade and CONNECT reach the ordinary handler, where answering
 * normally closes the connection, taking over gets the bytes, and doing neither leaves the
 * server's timeouts in charge; ordinary traffic (bodies, keep-alive) is unchanged.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { createHash } from 'node:crypto';
import { enableHijack, hijack } from '../../src/index.js';
import { httpServer, httpsServer, listen, readAll, readUntil, sleep } from './util.js';

for (const kind of ['Upgrade', 'CONNECT'] as const) {
  const head =
    kind === 'Upgrade'
      ? 'GET /x HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n'
      : 'CONNECT db.internal:5432 HTTP/1.1\r\nHost: db.internal:5432\r\n\r\n';

  test(
    `${kind}: middleware answers 401, the answer is sent and the connection closes; nothing behind it is parsed`,
    { timeout: 10_000 },
    async () => {
      const seen: string[] = [];
      const server = enableHijack(
        httpServer((req, res) => {
          seen.push(`${req.method} ${req.url}`);
          res.writeHead(401, { 'Content-Type': 'text/plain' });
          res.end('no token');
        }),
      );
      const l = await listen(server);
      try {
        const c = l.connect();
        const out = readAll(c);
        c.write(head + 'GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n');
        const text = (await out).toString();
        assert.match(text, /^HTTP\/1\.1 401 /);
        assert.match(text, /Connection: close/i);
        assert.ok(text.includes('no token'));
        assert.equal(
          seen.length,
          1,
          `only the first request reached the handler: ${seen.join(' | ')}`,
        );
        assert.equal(seen[0], kind === 'Upgrade' ? 'GET /x' : 'CONNECT db.internal:5432');
      } finally {
        await l.close();
      }
    },
  );

  test(
    `${kind}: a handler that neither answers nor takes over leaves server.timeout in charge`,
    { timeout: 10_000 },
    async () => {
      const server = enableHijack(
        httpServer(() => {
          /* neither */
        }),
      );
      server.setTimeout(200);
      const l = await listen(server);
      try {
        const c = l.connect();
        const t0 = Date.now();
        const out = readAll(c);
        c.write(head);
        await out;
        const waited = Date.now() - t0;
        assert.ok(waited >= 150, `closed by the server's timeout, after ${waited} ms`);
      } finally {
        await l.close();
      }
    },
  );
}

test(
  'a CONNECT tunnel taken over in a route carries bytes both ways',
  { timeout: 10_000 },
  async () => {
    const server = enableHijack(
      httpServer((req, res) => {
        if (req.method !== 'CONNECT') return void res.writeHead(405).end();
        void hijack(req, res).then(({ socket, head }) => {
          socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
          socket.write(Buffer.concat([Buffer.from('early='), head, Buffer.from(';')]));
          socket.on('data', (d: Buffer) => socket.write(d.toString().toUpperCase()));
          socket.on('end', () => socket.end());
        });
      }),
    );
    const l = await listen(server);
    try {
      const c = l.connect();
      const out = readAll(c);
      c.write('CONNECT a.test:1 HTTP/1.1\r\nHost: a.test:1\r\n\r\nhello');
      await sleep(30);
      c.end('world');
      const text = (await out).toString();
      assert.equal(text, 'HTTP/1.1 200 Connection Established\r\n\r\nearly=hello;WORLD');
    } finally {
      await l.close();
    }
  },
);

test(
  'ordinary traffic is unchanged: large bodies with backpressure, keep-alive, 100-continue',
  { timeout: 20_000 },
  async () => {
    const server = enableHijack(
      httpServer((req, res) => {
        const hash = createHash('sha256');
        let n = 0;
        req.on('data', (d: Buffer) => {
          hash.update(d);
          n += d.length;
        });
        req.on('end', () => res.end(JSON.stringify({ n, sha: hash.digest('hex') })));
      }),
    );
    const l = await listen(server);
    const port = (server.address() as { port: number }).port;
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      for (const size of [0, 1, 65_536, 5_000_000]) {
        const body = Buffer.alloc(size, 7);
        for (const chunked of [false, true]) {
          const got = await new Promise<string>((resolve, reject) => {
            const req = http.request(
              {
                host: '127.0.0.1',
                port,
                method: 'POST',
                path: '/',
                agent,
                headers: chunked ? { 'Transfer-Encoding': 'chunked' } : { 'Content-Length': size },
              },
              (res) => {
                let s = '';
                res.on('data', (d) => (s += d));
                res.on('end', () => resolve(s));
              },
            );
            req.on('error', reject);
            // write in pieces to exercise the gate's body feeding
            for (let i = 0; i < body.length; i += 100_000) req.write(body.subarray(i, i + 100_000));
            req.end();
          });
          assert.deepEqual(JSON.parse(got), {
            n: size,
            sha: createHash('sha256').update(body).digest('hex'),
          });
        }
      }
      const cont = await new Promise<number>((resolve) => {
        const req = http.request({
          host: '127.0.0.1',
          port,
          method: 'POST',
          agent,
          headers: { Expect: '100-continue', 'Content-Length': 3 },
        });
        req.on('continue', () => req.end('abc'));
        req.on('response', (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
      });
      assert.equal(cont, 200);
    } finally {
      agent.destroy();
      await l.close();
    }
  },
);

test(
  'a GET handler waiting for the request end gets it without a next request (https)',
  { timeout: 10_000 },
  async () => {
    const server = enableHijack(
      httpsServer((req, res) => {
        req.resume();
        req.on('end', () => res.end('ended'));
      }),
    );
    const l = await listen(server, { tls: true });
    try {
      const c = l.connect();
      c.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      assert.ok((await readUntil(c, (b) => b.includes('ended'))).includes('ended'));
      c.destroy();
    } finally {
      await l.close();
    }
  },
);

test(
  "a malformed head after a served request gets Node's 400, as without the gate",
  { timeout: 10_000 },
  async () => {
    const server = enableHijack(httpServer((_req, res) => res.end('ok')));
    const l = await listen(server);
    try {
      const c = l.connect();
      const out = readAll(c);
      c.write('GET / HTTP/1.1\r\nHost: x\r\n\r\nBROKEN\r\n\r\n');
      const text = (await out).toString();
      assert.match(text, /^HTTP\/1\.1 200 OK[\s\S]*ok[\s\S]*HTTP\/1\.1 400 Bad Request/);
    } finally {
      await l.close();
    }
  },
);

test('oversized headers still get 431', { timeout: 10_000 }, async () => {
  const server = enableHijack(
    http.createServer({ maxHeaderSize: 1024 }, (_req, res) => res.end('ok')),
  );
  const l = await listen(server);
  try {
    const c = l.connect();
    const out = readAll(c);
    c.write(`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(4000)}\r\n\r\n`);
    assert.match((await out).toString(), /^HTTP\/1\.1 431 /);
  } finally {
    await l.close();
  }
});
