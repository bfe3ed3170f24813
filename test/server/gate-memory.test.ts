// The gate without sockets: an http.Server with enableHijack() is handed one end of an
// in-memory duplex pair (Node accepts any Duplex on 'connection'), and fast-check sends
// pipelined requests and a takeover through it, cut at random byte boundaries. Nothing here
// touches the network or a descriptor, so the gate's JS path is exercised on its own.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { Duplex } from 'node:stream';
import fc from 'fast-check';
import { enableHijack, hijack } from '../../src/index.js';
import { dechunk } from './util.js';

/** Two connected in-memory duplex ends; `end()` on one is EOF on the other. */
function duplexPair(): [Duplex, Duplex] {
  const make = (): Duplex & { peer?: Duplex } =>
    new Duplex({
      read() {},
      write(chunk: Buffer, _enc, cb) {
        const peer = (this as Duplex & { peer?: Duplex }).peer!;
        // Asynchronously, as a socket delivers.
        setImmediate(() => {
          peer.push(chunk);
          cb();
        });
      },
      final(cb) {
        const peer = (this as Duplex & { peer?: Duplex }).peer!;
        setImmediate(() => {
          peer.push(null);
          cb();
        });
      },
      allowHalfOpen: true,
    });
  const a = make();
  const b = make();
  a.peer = b;
  b.peer = a;
  return [a, b];
}

const seed = Number(process.env.HIJACK_FC_SEED) || Date.now() % 2 ** 31;

test('in memory: pipelined requests and a takeover, cut anywhere, lose and reorder nothing', async (t) => {
  let done: ((r: { bodies: string[]; taken: string }) => void) | null = null;
  const bodies: string[] = [];
  const server = enableHijack(
    http.createServer((req, res) => {
      if (req.url === '/take') {
        void hijack(req, res).then(({ socket, head }) => {
          const parts = [head];
          socket.on('data', (c: Buffer) => parts.push(c));
          socket.on('end', () => {
            done!({ bodies: bodies.splice(0), taken: Buffer.concat(parts).toString('latin1') });
            socket.end();
          });
          socket.write('TAKEN\n');
        });
        return;
      }
      const parts: Buffer[] = [];
      req.on('data', (c: Buffer) => parts.push(c));
      req.on('end', () => {
        bodies.push(Buffer.concat(parts).toString('latin1'));
        res.end('ok');
      });
    }),
  );
  const request = fc.record({
    body: fc.stringMatching(/^[a-z]{0,40}$/),
    chunked: fc.boolean(),
  });
  await fc.assert(
    fc.asyncProperty(
      fc.array(request, { maxLength: 3 }),
      fc.record({ chunked: fc.boolean(), body: fc.stringMatching(/^[A-Z]{0,40}$/) }),
      fc.constantFrom('', 'RAW', 'GET / HTTP/1.1\r\n\r\n'),
      fc.array(fc.nat(2000), { maxLength: 8 }),
      async (before, take, rest, cutSeeds) => {
        const wire =
          before
            .map((r) =>
              r.chunked
                ? `POST /b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n${r.body ? `${r.body.length.toString(16)}\r\n${r.body}\r\n` : ''}0\r\n\r\n`
                : `POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: ${r.body.length}\r\n\r\n${r.body}`,
            )
            .join('') +
          (take.chunked
            ? `POST /take HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n${take.body ? `${take.body.length.toString(16)}\r\n${take.body}\r\n` : ''}0\r\n\r\n`
            : `POST /take HTTP/1.1\r\nHost: x\r\nContent-Length: ${take.body.length}\r\n\r\n${take.body}`) +
          rest;
        const [client, serverEnd] = duplexPair();
        const result = new Promise<{ bodies: string[]; taken: string }>((r) => (done = r));
        server.emit('connection', serverEnd);
        let received = '';
        const ready = new Promise<void>((r) =>
          client.on('data', (c: Buffer) => {
            received += c.toString('latin1');
            if (received.includes('TAKEN\n')) r();
          }),
        );
        const all = Buffer.from(wire, 'latin1');
        const cuts = [...new Set(cutSeeds.map((c) => c % all.length))].sort((a, b) => a - b);
        let from = 0;
        for (const c of [...cuts, all.length]) {
          if (c > from) client.write(all.subarray(from, c));
          from = c;
          await new Promise((r) => setImmediate(r));
        }
        await ready;
        client.end();
        const { bodies: got, taken } = await result;
        assert.deepEqual(
          got,
          before.map((r) => r.body),
        );
        assert.equal((received.match(/HTTP\/1\.1 200/g) ?? []).length, before.length);
        if (take.chunked) {
          const { data, after } = dechunk(Buffer.from(taken, 'latin1'));
          assert.equal(data.toString('latin1'), take.body);
          assert.equal(after.toString('latin1'), rest);
        } else {
          assert.equal(taken, take.body + rest);
        }
      },
    ),
    { numRuns: 300, seed },
  );
  t.diagnostic(`seed ${seed}: 300 in-memory streams`);
});
