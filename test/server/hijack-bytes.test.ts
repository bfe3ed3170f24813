/**
 * No byte lost, none doubled: for every request kind, payload in one write and in tiny
 * writes, takeover at once and after an await, over TCP, TLS and unix sockets.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { enableHijack, hijack } from '../../src/index.js';
import { collect, dechunk, httpServer, httpsServer, listen, readAll, send, sleep } from './util.js';

interface Kind {
  name: string;
  /** The request head (and body, when it has one). */
  request: string;
  /** The body bytes as the handler sees them (decoded), if any. */
  body?: string;
  chunked?: boolean;
  /** How many body bytes the handler reads before taking over (0: none). */
  read?: number | 'all';
  /** Response head the handler sets before hijack(). */
  answer?: 'writeHead101';
}

const after = 'PAYLOAD\u0000\u00ff-GET /pipelined HTTP/1.1\r\nHost: x\r\n\r\n';
const kinds: Kind[] = [
  { name: 'GET', request: 'GET /t HTTP/1.1\r\nHost: x\r\n\r\n' },
  {
    name: 'POST, body unread',
    request: 'POST /t HTTP/1.1\r\nHost: x\r\nContent-Length: 16\r\n\r\n0123456789abcdef',
    body: '0123456789abcdef',
  },
  {
    name: 'POST, body partly read',
    request: 'POST /t HTTP/1.1\r\nHost: x\r\nContent-Length: 16\r\n\r\n0123456789abcdef',
    body: '0123456789abcdef',
    read: 5,
  },
  {
    name: 'POST chunked, body unread',
    request:
      'POST /t HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n6;ext=1\r\nefghij\r\n3\r\nklm\r\n0\r\nX-Trailer: 1\r\n\r\n',
    body: 'abcdefghijklm',
    chunked: true,
  },
  {
    name: 'POST chunked, body partly read',
    request:
      'POST /t HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n6;ext=1\r\nefghij\r\n3\r\nklm\r\n0\r\nX-Trailer: 1\r\n\r\n',
    body: 'abcdefghijklm',
    chunked: true,
    read: 5,
  },
  {
    name: 'Upgrade',
    request: 'GET /t HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n',
    answer: 'writeHead101',
  },
  {
    name: 'POST + Upgrade, body read whole (Docker exec start)',
    request:
      'POST /exec/1/start HTTP/1.1\r\nHost: x\r\nContent-Length: 29\r\nConnection: Upgrade\r\nContent-Type: application/json\r\nUpgrade: tcp\r\n\r\n{"Detach":false,"Tty":false}\n',
    body: '{"Detach":false,"Tty":false}\n',
    read: 'all',
    answer: 'writeHead101',
  },
  {
    name: 'CONNECT',
    request: 'CONNECT example.test:443 HTTP/1.1\r\nHost: example.test:443\r\n\r\n',
  },
];

/** Reads `n` body bytes (or all) from req, then stops reading; returns what it read. */
function readSome(req: IncomingMessage, n: number | 'all'): Promise<Buffer> {
  return new Promise((resolve) => {
    const got: Buffer[] = [];
    let size = 0;
    const onData = (c: Buffer) => {
      got.push(c);
      size += c.length;
      if (n !== 'all' && size >= n) done();
    };
    const done = () => {
      req.pause();
      req.removeListener('data', onData);
      req.removeListener('end', done);
      resolve(Buffer.concat(got));
    };
    req.on('data', onData);
    req.on('end', done);
  });
}

async function run(kind: Kind, piece: number, wait: boolean, transport: 'tcp' | 'tls' | 'unix') {
  let handlerCalls = 0;
  let read: Buffer = Buffer.alloc(0);
  // The client ends only once the takeover happened: an EOF before it is another case.
  let taken!: () => void;
  const takenOver = new Promise<void>((r) => (taken = r));
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    handlerCalls++;
    void (async () => {
      if (kind.read) read = await readSome(req, kind.read);
      if (wait) await sleep(15);
      if (kind.answer === 'writeHead101')
        res.writeHead(101, { Connection: 'Upgrade', Upgrade: 'tcp' });
      const { socket, head } = await hijack(req, res);
      taken();
      const got = await collect(head, socket);
      socket.end(Buffer.concat([Buffer.from(`ECHO ${got.length}:`), got]));
    })().catch((err) => {
      console.error(err);
      res.socket?.destroy();
    });
  };
  const server = enableHijack(transport === 'tls' ? httpsServer(handler) : httpServer(handler));
  const l = await listen(server, { unix: transport === 'unix', tls: transport === 'tls' });
  try {
    const client = l.connect();
    const all = readAll(client);
    await send(client, Buffer.from(kind.request + after, 'latin1'), piece);
    await Promise.race([takenOver, sleep(5000)]);
    await sleep(10);
    client.end('LATER');
    const out = await all;
    const at = out.indexOf('ECHO ');
    assert.ok(at >= 0, `no echo in ${JSON.stringify(out.toString('latin1'))}`);
    if (kind.answer === 'writeHead101')
      assert.match(out.subarray(0, at).toString(), /^HTTP\/1\.1 101 /);
    else assert.equal(at, 0, 'nothing but the taker writes on the connection');
    const colon = out.indexOf(':', at);
    const got = out.subarray(colon + 1);
    assert.equal(Number(out.subarray(at + 5, colon).toString()), got.length);
    const expectedAfter = Buffer.from(after + 'LATER', 'latin1');
    if (kind.chunked) {
      const { data, after: rest } = dechunk(got);
      assert.equal(Buffer.concat([read, data]).toString('latin1'), kind.body);
      assert.deepEqual(rest, expectedAfter);
    } else {
      const body = Buffer.from(kind.body ?? '', 'latin1');
      assert.deepEqual(Buffer.concat([read, got]), Buffer.concat([body, expectedAfter]));
    }
    assert.equal(
      handlerCalls,
      1,
      'a request pipelined behind the taken-over one never reaches a handler',
    );
  } finally {
    await l.close();
  }
}

for (const kind of kinds) {
  for (const piece of [0, 3]) {
    for (const wait of [false, true]) {
      const label = `${kind.name}: ${piece ? 'tiny writes' : 'one write'}, hijack ${wait ? 'after an await' : 'at once'}`;
      test(label, { timeout: 15_000 }, () => run(kind, piece, wait, 'tcp'));
    }
  }
}

for (const transport of ['tls', 'unix'] as const) {
  for (const kind of kinds.filter((k) =>
    [
      'GET',
      'POST, body partly read',
      'POST chunked, body partly read',
      'Upgrade',
      'CONNECT',
    ].includes(k.name),
  )) {
    test(`${transport}: ${kind.name}, tiny writes, after an await`, { timeout: 15_000 }, () =>
      run(kind, 3, true, transport),
    );
    test(`${transport}: ${kind.name}, one write, at once`, { timeout: 15_000 }, () =>
      run(kind, 0, false, transport),
    );
  }
}
