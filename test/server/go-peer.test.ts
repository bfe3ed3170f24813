/**
 * A real Go 1.19 client (test/peers/go/upgrade-client, standard library only) takes
 * connections over from our server: `Upgrade: tcp` answered from an ordinary 'request'
 * handler with hijack(), bytes sent in the same write as the request head, data both ways
 * and a half-close in each direction.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { enableHijack, hijack } from '../../src/server/index.js';
import { buildGoPeer } from '../helpers/go.js';
import { requirePeer } from '../helpers/peers.js';

interface Report {
  status: number;
  upgrade: string;
  received: string;
  sent: number;
  error: string;
}

const SWITCH = 'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n';

/** The Go peer's pattern: byte i is (i*7+3) mod 251. */
function pattern(n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 7 + 3) % 251;
  return b;
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function runPeer(bin: string, args: string[]): Promise<{ code: number | null; report: Report }> {
  return new Promise((resolve, reject) => {
    execFile(bin, args, { timeout: 15_000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const line = stdout.trim().split('\n').pop() ?? '';
      try {
        resolve({
          code: err ? ((err as { code?: number }).code ?? null) : 0,
          report: JSON.parse(line),
        });
      } catch {
        reject(new Error(`upgrade-client gave no report: ${String(err)}\n${stdout}\n${stderr}`));
      }
    });
  });
}

/** Reads a socket until EOF, resolving with everything (head first). */
function readToEnd(socket: Socket, head: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks = [head];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.once('end', () => resolve(Buffer.concat(chunks)));
    socket.once('error', reject);
  });
}

type Handler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

async function withServer(
  handler: Handler,
  listen: { port: 0 } | { path: string },
  fn: (server: Server) => Promise<void>,
): Promise<void> {
  const server = createServer();
  enableHijack(server);
  const failures: unknown[] = [];
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    handler(req, res).catch((err: unknown) => failures.push(err));
  });
  await new Promise<void>((r) =>
    'path' in listen ? server.listen(listen.path, r) : server.listen(0, '127.0.0.1', r),
  );
  try {
    await fn(server);
    assert.deepEqual(failures, []);
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
}

const addr = (s: Server) => `127.0.0.1:${(s.address() as AddressInfo).port}`;

test(
  'go peer: early bytes, 1 MiB up, client half-close, server answers after EOF',
  { timeout: 60_000 },
  async (t) => {
    if (!requirePeer(t, 'go', 'builds the Go peer')) return;
    const bin = buildGoPeer('upgrade-client');
    let serverGot: Buffer | null = null;
    const early = 'EARLY-BYTES-IN-THE-HEAD-WRITE;';
    await withServer(
      async (req, res) => {
        const { socket, head } = await hijack(req, res);
        socket.write(SWITCH);
        const got = await readToEnd(socket, head);
        serverGot = got;
        // The client's write side is closed; ours is still open: answer now.
        socket.write(`GOT ${got.length} ${sha(got)}\n`);
        socket.end(got);
      },
      { port: 0 },
      async (server) => {
        const size = 1 << 20;
        const { code, report } = await runPeer(bin, [
          '-addr',
          addr(server),
          '-early',
          early,
          '-scenario',
          'client-first',
          '-size',
          String(size),
        ]);
        assert.equal(report.error, '');
        assert.equal(code, 0);
        assert.equal(report.status, 101);
        assert.equal(report.upgrade, 'tcp');
        const expected = Buffer.concat([Buffer.from(early), pattern(size)]);
        assert.ok(serverGot, 'the handler read to EOF');
        assert.equal(serverGot.length, expected.length);
        assert.equal(
          sha(serverGot),
          sha(expected),
          'server got early bytes then the payload, in order',
        );
        const received = Buffer.from(report.received, 'base64');
        const prefix = `GOT ${expected.length} ${sha(expected)}\n`;
        assert.equal(received.subarray(0, prefix.length).toString(), prefix);
        assert.equal(
          sha(received.subarray(prefix.length)),
          sha(expected),
          'echo arrived after the half-close',
        );
      },
    );
  },
);

test(
  'go peer: empty stream, client half-closes at once, server still sends',
  { timeout: 30_000 },
  async (t) => {
    if (!requirePeer(t, 'go', 'builds the Go peer')) return;
    const bin = buildGoPeer('upgrade-client');
    await withServer(
      async (req, res) => {
        const { socket, head } = await hijack(req, res);
        socket.write(SWITCH);
        const got = await readToEnd(socket, head);
        socket.end(`after-eof:${got.length}`);
      },
      { port: 0 },
      async (server) => {
        const { code, report } = await runPeer(bin, [
          '-addr',
          addr(server),
          '-scenario',
          'client-first',
        ]);
        assert.equal(code, 0, report.error);
        assert.equal(Buffer.from(report.received, 'base64').toString(), 'after-eof:0');
      },
    );
  },
);

test(
  'go peer: server half-closes first, client sees EOF and still sends (unix socket)',
  { timeout: 30_000 },
  async (t) => {
    if (!requirePeer(t, 'go', 'builds the Go peer')) return;
    const bin = buildGoPeer('upgrade-client');
    const dir = mkdtempSync(join(tmpdir(), 'hj-go-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const sock = join(dir, 's.sock');
    let serverGot = '';
    await withServer(
      async (req, res) => {
        const { socket, head } = await hijack(req, res);
        socket.write(SWITCH);
        socket.end('greeting, then EOF from the server\n');
        serverGot = (await readToEnd(socket, head)).toString();
      },
      { path: sock },
      async () => {
        const { code, report } = await runPeer(bin, [
          '-unix',
          sock,
          '-early',
          'early;',
          '-scenario',
          'server-first',
          '-after',
          'sent-after-server-eof',
        ]);
        assert.equal(code, 0, report.error);
        assert.equal(
          Buffer.from(report.received, 'base64').toString(),
          'greeting, then EOF from the server\n',
        );
        assert.equal(report.sent, 'sent-after-server-eof'.length);
        assert.equal(serverGot, 'early;sent-after-server-eof');
      },
    );
  },
);

test(
  'go peer: a handler that refuses the upgrade gets its answer through, no takeover',
  { timeout: 30_000 },
  async (t) => {
    if (!requirePeer(t, 'go', 'builds the Go peer')) return;
    const bin = buildGoPeer('upgrade-client');
    await withServer(
      async (_req, res) => {
        res.writeHead(401, { 'Content-Type': 'text/plain' });
        res.end('token required\n');
      },
      { port: 0 },
      async (server) => {
        const { code, report } = await runPeer(bin, ['-addr', addr(server), '-early', 'x']);
        assert.notEqual(code, 0);
        assert.equal(report.status, 401);
        assert.match(report.error, /expected 101, got 401/);
      },
    );
  },
);
