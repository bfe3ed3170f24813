/**
 * peerCred over real unix sockets, across processes, and its refusals of bad input.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { isHijackError } from '../../src/errors.js';
import { peerCred, type PeerCred } from '../../src/socket/index.js';
import { isRoot } from '../helpers/peers.js';
import { tcpPair, unixPair } from './helpers.js';

// The child connects, prints its own pid/uid/gid, and stays until the server closes.
const childScript = `
const s = require('node:net').connect(process.argv[1], () => {
  process.stdout.write(JSON.stringify({ pid: process.pid, uid: process.getuid(), gid: process.getgid() }) + '\\n');
});
s.resume();
s.on('close', () => process.exit(0));
setTimeout(() => process.exit(3), 10000).unref();
`;

async function credOfChild(ids?: {
  uid: number;
  gid: number;
}): Promise<{ child: PeerCred; seen: PeerCred; childPid: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'hj-cred-'));
  const path = join(dir, 's.sock');
  const srv = net.createServer();
  try {
    await new Promise<void>((r) => srv.listen(path, r));
    if (ids) {
      chmodSync(dir, 0o755);
      chmodSync(path, 0o777);
    }
    const accepted = new Promise<net.Socket>((r) => srv.once('connection', r));
    const child = spawn(process.execPath, ['-e', childScript, path], {
      stdio: ['ignore', 'pipe', 'inherit'],
      ...(ids ?? {}),
    });
    const exited = new Promise<number | null>((r) => child.once('exit', r));
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    const sock = await accepted;
    const seen = peerCred(sock);
    for (let i = 0; i < 500 && !out.includes('\n'); i++)
      await new Promise((r) => setTimeout(r, 10));
    sock.destroy();
    assert.equal(await exited, 0);
    return { child: JSON.parse(out) as PeerCred, seen, childPid: child.pid! };
  } finally {
    await new Promise<void>((r) => srv.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  }
}

test(
  'peerCred on the server side gives the connecting child process pid, uid, gid',
  { timeout: 15000 },
  async () => {
    const { child, seen, childPid } = await credOfChild();
    assert.deepEqual(seen, child);
    assert.equal(seen.pid, childPid);
    assert.notEqual(seen.pid, process.pid);
  },
);

test(
  'peerCred reports another user and group (child run as 65534 by root)',
  { timeout: 15000 },
  async (t) => {
    if (!isRoot) return t.skip('needs root to start a child as another user');
    const { child, seen, childPid } = await credOfChild({ uid: 65534, gid: 65534 });
    assert.deepEqual(seen, { pid: childPid, uid: 65534, gid: 65534 });
    assert.deepEqual(seen, child);
  },
);

test('peerCred on the client side gives the listening process', { timeout: 15000 }, async () => {
  const p = await unixPair();
  try {
    const me = { pid: process.pid, uid: process.getuid!(), gid: process.getgid!() };
    assert.deepEqual(peerCred(p.client), me);
    assert.deepEqual(peerCred(p.server), me);
  } finally {
    await p.close();
  }
});

test('peerCred refuses bad input with its own code', { timeout: 15000 }, async () => {
  const code = (c: string) => (e: unknown) => isHijackError(e, c as never);
  for (const v of [undefined, null, 1, 'x', {}]) {
    assert.throws(() => peerCred(v as never), code('ERR_NOT_A_SOCKET'));
  }
  const p = await tcpPair();
  try {
    assert.throws(() => peerCred(p.client), code('ERR_NOT_UNIX'));
    assert.throws(() => peerCred(p.server), code('ERR_NOT_UNIX'));
  } finally {
    await p.close();
  }
  const u = await unixPair();
  u.server.destroy();
  assert.throws(() => peerCred(u.server), code('ERR_SOCKET_CLOSED'));
  await u.close();
});
