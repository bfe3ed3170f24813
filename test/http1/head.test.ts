/**
 * HTTP/1.x response heads: reading them off a socket byte by byte and in any split,
 * joining repeated headers, and the errors for malformed, oversized and unfinished heads.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  formatRequestHead,
  parseResponseHead,
  readResponseHead,
  type RequestHead,
} from '../../src/http1/head.js';
import { isHijackError } from '../../src/errors.js';

const T = { timeout: 10_000 };

/** A loopback pair: `server` writes what the test says; returns the client socket. */
async function pair(): Promise<{ client: net.Socket; server: net.Socket; close(): void }> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as net.AddressInfo;
  const accepted = new Promise<net.Socket>((r) => srv.once('connection', r));
  const client = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  await new Promise((r) => client.once('connect', r));
  const server = await accepted;
  srv.close();
  return {
    client,
    server,
    close() {
      client.destroy();
      server.destroy();
    },
  };
}

const DOCKER_101 =
  'HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nApi-Version: 1.41\r\n\r\n';

test('reads a head split at every byte position and hands back the rest', T, async () => {
  const tail = Buffer.from('stream-bytes');
  const whole = Buffer.concat([Buffer.from(DOCKER_101), tail]);
  for (let cut = 1; cut < whole.length; cut += 7) {
    const p = await pair();
    try {
      p.server.write(whole.subarray(0, cut));
      const headP = readResponseHead(p.client, { timeout: 2000 });
      await sleep(1);
      p.server.write(whole.subarray(cut));
      const head = await headP;
      assert.equal(head.statusCode, 101);
      assert.equal(head.statusMessage, 'UPGRADED');
      assert.equal(head.headers['api-version'], '1.41');
      assert.equal(head.headLength, DOCKER_101.length);
      // Whatever came with the head is in rest; the remainder is still on the socket.
      const more: Buffer[] = [head.rest];
      let got = head.rest.length;
      p.client.on('data', (c: Buffer) => {
        more.push(c);
        got += c.length;
      });
      for (let i = 0; i < 200 && got < tail.length; i++) await sleep(2);
      assert.deepEqual(Buffer.concat(more), tail, `cut at ${cut}`);
      assert.equal(p.client.listenerCount('readable'), 0);
    } finally {
      p.close();
    }
  }
});

test('one byte per write, CRLFCRLF split across writes', T, async () => {
  const p = await pair();
  try {
    const headP = readResponseHead(p.client);
    for (const ch of DOCKER_101) {
      p.server.write(ch);
      await sleep(0);
    }
    const head = await headP;
    assert.equal(head.headers['upgrade'], 'tcp');
    assert.equal(head.rest.length, 0);
  } finally {
    p.close();
  }
});

test('repeated headers are joined with ", ", set-cookie is an array', () => {
  const h = parseResponseHead(
    Buffer.from(
      'HTTP/1.1 200 OK\r\nVia: a\r\nvia: b\r\nSet-Cookie: x=1\r\nSet-Cookie: y=2\r\nEmpty:',
    ),
  );
  assert.equal(h.headers['via'], 'a, b');
  assert.deepEqual(h.headers['set-cookie'], ['x=1', 'y=2']);
  assert.equal(h.headers['empty'], '');
  assert.deepEqual(h.rawHeaders.slice(0, 4), ['Via', 'a', 'via', 'b']);
  const noReason = parseResponseHead(Buffer.from('HTTP/1.0 204'));
  assert.equal(noReason.statusMessage, '');
  assert.equal(noReason.httpVersion, '1.0');
});

test('malformed status lines and header lines are ERR_MALFORMED_HEAD', () => {
  for (const bad of [
    'SSH-2.0-OpenSSH_9.2',
    'HTTP/2 200 OK',
    'HTTP/1.1 20 OK',
    'HTTP/1.1 200 OK\r\nno colon here',
    'HTTP/1.1 200 OK\r\nbad name: x',
    'HTTP/1.1 200 OK\r\n folded: x',
    'HTTP/1.1 200 OK\r\nX: a\nb',
    'HTTP/1.1 200 OK\r\nX: a\0b',
  ]) {
    assert.throws(
      () => parseResponseHead(Buffer.from(bad)),
      (e) => isHijackError(e, 'ERR_MALFORMED_HEAD'),
      bad,
    );
  }
});

test('a head over maxHeaderSize is ERR_HEAD_TOO_LARGE, even without CRLFCRLF', T, async () => {
  const p = await pair();
  try {
    const headP = readResponseHead(p.client, { maxHeaderSize: 1024 });
    p.server.write('HTTP/1.1 101 X\r\n');
    for (let i = 0; i < 100; i++) p.server.write(`X-Filler-${i}: ${'y'.repeat(20)}\r\n`);
    await assert.rejects(headP, (e) => isHijackError(e, 'ERR_HEAD_TOO_LARGE'));
  } finally {
    p.close();
  }
});

test('a close before the head ends is ERR_CLOSED_BEFORE_HEAD', T, async () => {
  const p = await pair();
  try {
    const headP = readResponseHead(p.client);
    p.server.end('HTTP/1.1 101 Switching\r\nUpgrade: tcp\r\n');
    await assert.rejects(headP, (e) => isHijackError(e, 'ERR_CLOSED_BEFORE_HEAD'));
  } finally {
    p.close();
  }
});

test('timeout and abort', T, async () => {
  const p = await pair();
  try {
    const ends = p.client.listenerCount('end');
    await assert.rejects(readResponseHead(p.client, { timeout: 50 }), (e) =>
      isHijackError(e, 'ERR_HEAD_TIMEOUT'),
    );
    const ac = new AbortController();
    const r = readResponseHead(p.client, { signal: ac.signal });
    ac.abort();
    await assert.rejects(r, (e) => isHijackError(e, 'ERR_ABORTED'));
    assert.equal(p.client.listenerCount('readable'), 0);
    assert.equal(p.client.listenerCount('end'), ends);
  } finally {
    p.close();
  }
});

test('formatRequestHead writes a head and refuses injection', () => {
  const h = formatRequestHead({
    method: 'POST',
    path: '/v1.41/exec/x/start',
    headers: { Host: 'd', 'X-A': ['1', '2'], 'Content-Length': 0 },
  }).toString();
  assert.equal(
    h,
    'POST /v1.41/exec/x/start HTTP/1.1\r\nHost: d\r\nX-A: 1\r\nX-A: 2\r\nContent-Length: 0\r\n\r\n',
  );
  const bads: RequestHead[] = [
    { method: 'GE T', path: '/', headers: {} },
    { method: 'GET', path: '/a b', headers: {} },
    { method: 'GET', path: '/', headers: { 'X: y': '1' } },
    { method: 'GET', path: '/', headers: { X: 'a\r\nInjected: 1' } },
  ];
  for (const bad of bads) {
    assert.throws(
      () => formatRequestHead(bad),
      (e) => isHijackError(e, 'ERR_INVALID_ARGUMENT'),
    );
  }
});
