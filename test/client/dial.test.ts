/**
 * dialHijack against real peers (our own server, Go's net/http, scripted sockets):
 * takeovers over unix, tcp and TLS, half-close, the legacy 200 raw-stream mode, refusals
 * and bad peers, timeouts and abort, and the target forms.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { dialHijack } from '../../src/client/dial.js';
import { resolveTarget } from '../../src/client/target.js';
import { isHijackError } from '../../src/errors.js';
import { enableHijack, hijack } from '../../src/server/index.js';
import { buildGoPeer } from '../helpers/go.js';
import { requirePeer } from '../helpers/peers.js';

const T = { timeout: 15_000 };
let dir: string;
const children: ChildProcess[] = [];

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'hjd-'));
});
after(() => {
  for (const c of children) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

/** Starts the Go hijack server; resolves with its address line. */
async function goServer(t: TestContext, args: string[]): Promise<string | null> {
  if (!requirePeer(t, 'go', 'builds the Go hijack-server peer')) return null;
  const bin = buildGoPeer('hijack-server');
  const child = spawn(bin, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /listening (\S+)\n/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`hijack-server exited ${code}`)));
  });
}

function readAll(s: net.Socket): Promise<string> {
  const parts: Buffer[] = [];
  return new Promise((resolve, reject) => {
    s.on('data', (c: Buffer) => parts.push(c));
    s.once('end', () => resolve(Buffer.concat(parts).toString()));
    s.once('error', reject);
  });
}

/** A bad peer: a net.Server whose connections get `behave(socket)`. */
async function badPeer(behave: (s: net.Socket) => void): Promise<{ port: number; close(): void }> {
  const socks = new Set<net.Socket>();
  const srv = net.createServer((s) => {
    socks.add(s);
    s.on('error', () => {});
    behave(s);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return {
    port: (srv.address() as net.AddressInfo).port,
    close() {
      for (const s of socks) s.destroy();
      srv.close();
    },
  };
}

let goUnix: string | null = null;
async function unixTarget(t: TestContext): Promise<string | null> {
  if (goUnix) return goUnix;
  const path = join(dir, 'go.sock');
  if (!(await goServer(t, ['-listen', `unix://${path}`]))) return null;
  goUnix = `unix://${path}`;
  return goUnix;
}

test('unix: 101, echo, closeWrite delivers the server’s last bytes (half-close)', T, async (t) => {
  const target = await unixTarget(t);
  if (!target) return;
  const c = await dialHijack(target, { path: '/echo', body: '{"Detach":false}' });
  assert.equal(c.statusCode, 101);
  assert.equal(c.statusMessage, 'UPGRADED');
  assert.equal(c.mediaType, 'application/vnd.docker.raw-stream');
  const got = readAll(c.socket);
  c.socket.write('hello ');
  c.socket.write('go');
  c.closeWrite();
  assert.equal(await got, 'hello gobye\n');
  c.socket.destroy();
});

test(
  'a head split inside a header and bytes in the same write as its end: none lost',
  T,
  async (t) => {
    const target = await unixTarget(t);
    if (!target) return;
    const c = await dialHijack(target, { path: '/split' });
    assert.equal(c.headers['content-type'], 'application/vnd.docker.raw-stream');
    const got = readAll(c.socket);
    c.closeWrite();
    assert.equal(await got, 'earlybye\n');
    c.socket.destroy();
  },
);

test(
  'legacy mode: upgrade false sends no Upgrade and takes a 200 raw stream over',
  T,
  async (t) => {
    const target = await unixTarget(t);
    if (!target) return;
    const c = await dialHijack(target, { path: '/echo', upgrade: false });
    assert.equal(c.statusCode, 200);
    const got = readAll(c.socket);
    c.socket.end('legacy');
    assert.equal(await got, 'legacybye\n');
    c.socket.destroy();
  },
);

test('a stream body is sent chunked before the takeover', T, async (t) => {
  const target = await unixTarget(t);
  if (!target) return;
  const c = await dialHijack(target, {
    path: '/echo',
    body: Readable.from([Buffer.from('part1'), Buffer.from('part2')]),
  });
  const got = readAll(c.socket);
  c.closeWrite();
  assert.equal(await got, 'bye\n');
  c.socket.destroy();
});

test('refused: status and Docker’s JSON message; mismatch: its own code', T, async (t) => {
  const target = await unixTarget(t);
  if (!target) return;
  await assert.rejects(dialHijack(target, { path: '/refuse' }), (e: any) => {
    assert.equal(e.code, 'ERR_UPGRADE_REFUSED');
    assert.equal(e.statusCode, 500);
    assert.equal(e.serverMessage, 'No such exec instance: abc');
    assert.match(e.message, /500.*No such exec instance: abc/);
    return true;
  });
  await assert.rejects(dialHijack(target, { path: '/proto' }), (e) =>
    isHijackError(e, 'ERR_UPGRADE_MISMATCH'),
  );
  // Another token is sent and checked.
  const c = await dialHijack(target, { path: '/echo', upgrade: 'my-proto' });
  assert.equal(c.headers['upgrade'], 'my-proto');
  c.socket.destroy();
});

test('https with a client certificate; without it the dial fails', T, async (t) => {
  const tlsDir = mkdtempSync(join(dir, 'tls-'));
  const addr = await goServer(t, ['-listen', 'tcp://127.0.0.1:0', '-tls', tlsDir]);
  if (!addr) return;
  const port = Number(addr.split(':').pop());
  const tlsOpts = {
    ca: readFileSync(join(tlsDir, 'ca.pem')),
    cert: readFileSync(join(tlsDir, 'client.pem')),
    key: readFileSync(join(tlsDir, 'client-key.pem')),
  };
  const c = await dialHijack(`https://localhost:${port}`, { path: '/echo', tls: tlsOpts });
  assert.equal(c.statusCode, 101);
  const got = readAll(c.socket);
  c.socket.write('over tls');
  c.closeWrite();
  assert.equal(await got, 'over tlsbye\n');
  c.socket.destroy();
  await assert.rejects(
    dialHijack(`https://127.0.0.1:${port}`, { path: '/echo', tls: { ca: tlsOpts.ca } }),
    (e) => isHijackError(e),
  );
});

test('TCP keepalive is on by default (seen by ss)', T, async (t) => {
  if (!requirePeer(t, 'ss', 'iproute2 shows socket timers')) return;
  const peer = await badPeer((s) => s.write('HTTP/1.1 101 UPGRADED\r\nUpgrade: tcp\r\n\r\n'));
  try {
    const c = await dialHijack(`tcp://127.0.0.1:${peer.port}`, { keepAlive: 7000 });
    const out = spawnSync('ss', ['-tnoH', 'dst', `127.0.0.1:${peer.port}`], { encoding: 'utf8' });
    assert.match(out.stdout, /keepalive/);
    c.socket.destroy();
    const off = await dialHijack(`tcp://127.0.0.1:${peer.port}`, { keepAlive: false });
    const out2 = spawnSync('ss', ['-tnoH', 'dst', `127.0.0.1:${peer.port}`], { encoding: 'utf8' });
    const line = out2.stdout.split('\n').find((l) => l.includes(`:${off.socket.localPort} `));
    assert.ok(line && !/keepalive/.test(line), line);
    off.socket.destroy();
  } finally {
    peer.close();
  }
});

test('bad peers: garbage, endless head, close before head, silence, 500 JSON', T, async () => {
  const cases: [string, (s: net.Socket) => void, string, Record<string, unknown>?][] = [
    ['garbage', (s) => s.write('SSH-2.0-OpenSSH_9.2\r\n\r\n'), 'ERR_MALFORMED_HEAD'],
    [
      'endless head',
      (s) => {
        s.write('HTTP/1.1 101 X\r\n');
        const iv = setInterval(
          () => (s.destroyed ? clearInterval(iv) : s.write(`X-A: ${'b'.repeat(500)}\r\n`)),
          1,
        );
      },
      'ERR_HEAD_TOO_LARGE',
    ],
    ['close before head', (s) => s.end('HTTP/1.1 101 UPGRADED\r\nUpgr'), 'ERR_CLOSED_BEFORE_HEAD'],
    ['silence', () => {}, 'ERR_HEAD_TIMEOUT'],
    [
      '500 json',
      (s) =>
        s.end(
          'HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\nContent-Length: 28\r\n\r\n{"message":"daemon is sad"}\n',
        ),
      'ERR_UPGRADE_REFUSED',
      { statusCode: 500, serverMessage: 'daemon is sad' },
    ],
    ['reset', (s) => setTimeout(() => s.resetAndDestroy(), 30), 'ERR_CLOSED_BEFORE_HEAD'],
  ];
  for (const [name, behave, code, extra] of cases) {
    const peer = await badPeer(behave);
    try {
      await assert.rejects(
        dialHijack(`tcp://127.0.0.1:${peer.port}`, { headTimeout: 300, maxHeaderSize: 4096 }),
        (e: any) => {
          assert.equal(e.code, code, `${name}: ${e.message}`);
          for (const [k, v] of Object.entries(extra ?? {})) assert.equal(e[k], v, name);
          return true;
        },
      );
    } finally {
      peer.close();
    }
  }
});

test('a 101 then close: the takeover succeeds and the stream just ends', T, async () => {
  const peer = await badPeer((s) => s.end('HTTP/1.1 101 UPGRADED\r\nUpgrade: tcp\r\n\r\n'));
  try {
    const c = await dialHijack(`tcp://127.0.0.1:${peer.port}`);
    assert.equal(await readAll(c.socket), '');
    c.socket.destroy();
  } finally {
    peer.close();
  }
});

test(
  '1xx answers: the head timeout and size limit hold across them, at most 5 are taken',
  T,
  async () => {
    const cases: [string, (s: net.Socket) => void, string][] = [
      [
        '100 Continue every 100 ms',
        (s) => {
          const iv = setInterval(
            () => (s.destroyed ? clearInterval(iv) : s.write('HTTP/1.1 100 Continue\r\n\r\n')),
            100,
          );
        },
        'ERR_HEAD_TIMEOUT',
      ],
      [
        'six 103s at once',
        (s) => s.write('HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n'.repeat(6)),
        'ERR_MALFORMED_HEAD',
      ],
      [
        '1xx heads that add up past the limit',
        (s) => s.write(`HTTP/1.1 103 Early Hints\r\nLink: ${'x'.repeat(900)}\r\n\r\n`.repeat(5)),
        'ERR_HEAD_TOO_LARGE',
      ],
    ];
    for (const [name, behave, code] of cases) {
      const peer = await badPeer(behave);
      try {
        await assert.rejects(
          dialHijack(`tcp://127.0.0.1:${peer.port}`, { headTimeout: 500, maxHeaderSize: 4096 }),
          (e: any) => {
            assert.equal(e.code, code, `${name}: ${e.message}`);
            return true;
          },
        );
      } finally {
        peer.close();
      }
    }
  },
);

test(
  'a 101 naming the protocol twice, a bare-LF head, and 1xx before the 101 are taken over',
  T,
  async () => {
    for (const answer of [
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: tcp\r\nUpgrade: tcp\r\nConnection: Upgrade\r\n\r\nhi',
      'HTTP/1.1 101 Switching Protocols\nUpgrade: tcp\nConnection: Upgrade\n\nhi',
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: tcp\r\nConnection: Upgrade\n\r\nhi',
      'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\nLink: </a>\n\nHTTP/1.1 101 X\r\nUpgrade: tcp\r\n\r\nhi',
    ]) {
      const peer = await badPeer((s) => s.end(answer));
      try {
        const c = await dialHijack(`tcp://127.0.0.1:${peer.port}`, { headTimeout: 2000 });
        assert.equal(await readAll(c.socket), 'hi', JSON.stringify(answer));
        c.socket.destroy();
      } finally {
        peer.close();
      }
    }
  },
);

test('missing and refused endpoints name the target and ask about the daemon', T, async () => {
  const missing = join(dir, 'nope.sock');
  await assert.rejects(dialHijack(`unix://${missing}`), (e: any) => {
    assert.ok(isHijackError(e, 'ERR_CONNECT'));
    assert.ok(e.message.includes(missing));
    assert.match(e.message, /daemon running/);
    return true;
  });
  const peer = await badPeer(() => {});
  peer.close();
  await sleep(20);
  await assert.rejects(dialHijack({ host: '127.0.0.1', port: peer.port }), (e: any) => {
    assert.ok(isHijackError(e, 'ERR_CONNECT'));
    assert.match(
      e.message,
      new RegExp(`127\\.0\\.0\\.1:${peer.port}.*ECONNREFUSED.*daemon running`),
    );
    return true;
  });
});

test('connect timeout (TLS handshake never answered) and abort', T, async () => {
  const peer = await badPeer(() => {});
  try {
    await assert.rejects(
      dialHijack(`https://127.0.0.1:${peer.port}`, { connectTimeout: 200 }),
      (e) => isHijackError(e, 'ERR_CONNECT_TIMEOUT'),
    );
    const ac = new AbortController();
    const p = dialHijack(`tcp://127.0.0.1:${peer.port}`, { signal: ac.signal });
    setTimeout(() => ac.abort(), 50);
    await assert.rejects(p, (e) => isHijackError(e, 'ERR_ABORTED'));
    await assert.rejects(
      dialHijack(`tcp://127.0.0.1:${peer.port}`, { signal: AbortSignal.abort() }),
      (e) => isHijackError(e, 'ERR_ABORTED'),
    );
  } finally {
    peer.close();
  }
});

test('targets: every form parses, bad ones are ERR_INVALID_TARGET', () => {
  assert.equal(resolveTarget('unix:///var/run/docker.sock').socketPath, '/var/run/docker.sock');
  assert.deepEqual(
    [resolveTarget('tcp://127.0.0.1:2375').port, resolveTarget('tcp://[::1]:2375').host],
    [2375, '::1'],
  );
  const h = resolveTarget('https://example.test/base/');
  assert.deepEqual(
    [h.transport, h.port, h.prefix, h.hostHeader],
    ['tls', 443, '/base', 'example.test'],
  );
  assert.equal(resolveTarget({ socketPath: '/x' }).transport, 'unix');
  for (const bad of ['unix://rel', 'ftp://x', 'tcp://host', 'http://u:p@h', 'nonsense', '']) {
    assert.throws(
      () => resolveTarget(bad),
      (e) => isHijackError(e, 'ERR_INVALID_TARGET'),
      bad,
    );
  }
  assert.throws(
    () => resolveTarget({ host: 'h', port: 0 }),
    (e) => isHijackError(e, 'ERR_INVALID_TARGET'),
  );
});

test('against our own server: hijack() inside a handler, early bytes kept', T, async () => {
  const srv = enableHijack(
    http.createServer(async (req, res) => {
      if (req.url !== '/attach') {
        res.writeHead(404).end('{"message":"page not found"}');
        return;
      }
      const { socket, head } = await hijack(req, res);
      socket.write('HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\nhello ');
      const parts: Buffer[] = [head];
      socket.on('data', (c: Buffer) => parts.push(c));
      socket.on('end', () => {
        socket.end(`you said ${Buffer.concat(parts).toString()}`);
      });
    }),
  );
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as net.AddressInfo;
  try {
    const c = await dialHijack(`http://127.0.0.1:${port}`, { path: '/attach' });
    const got = readAll(c.socket);
    c.socket.write('abc');
    c.closeWrite();
    assert.equal(await got, 'hello you said abc');
    c.socket.destroy();
    await assert.rejects(dialHijack(`http://127.0.0.1:${port}`, { path: '/x' }), (e: any) => {
      assert.equal(e.code, 'ERR_UPGRADE_REFUSED');
      assert.equal(e.statusCode, 404);
      assert.equal(e.serverMessage, 'page not found');
      return true;
    });
  } finally {
    srv.closeAllConnections();
    srv.close();
  }
});
