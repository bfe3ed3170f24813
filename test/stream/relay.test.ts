/**
 * The native relay under splice(): what only it can get wrong (sharing descriptors with
 * libuv, its own buffer, its syscalls' errors), over real loopback TCP and unix sockets.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import tls from 'node:tls';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { isHijackError } from '../../src/errors.js';
import { splice } from '../../src/stream/splice.js';
import { collect, Pairs, quad } from './helpers.js';
import { testCert } from '../server/util.js';

const T = { timeout: 30_000 };
let tcp: Pairs;
let unix: Pairs;
let dir: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hj-relay-'));
  tcp = await Pairs.listen();
  unix = await Pairs.listen(join(dir, 'u.sock'));
});
after(async () => {
  await Promise.all([tcp.close(), unix.close()]);
  rmSync(dir, { recursive: true, force: true });
});

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Sends `data` from `from` in random-sized writes, honouring backpressure, then ends. */
async function send(from: net.Socket, data: Buffer): Promise<void> {
  let off = 0;
  while (off < data.length) {
    const n = Math.min(data.length - off, 1 + Math.floor(Math.random() * 200_000));
    const ok = from.write(data.subarray(off, off + n));
    off += n;
    if (!ok) await new Promise((r) => from.once('drain', r));
  }
  from.end();
}

/** Reads everything from `s`, pausing now and then so the relay meets a full destination. */
function slowCollect(s: net.Socket): Promise<Buffer> {
  const parts: Buffer[] = [];
  let n = 0;
  s.on('data', (c: Buffer) => {
    parts.push(c);
    if (++n % 16 === 0) {
      s.pause();
      setTimeout(() => s.resume(), 5);
    }
  });
  return new Promise((resolve, reject) => {
    s.once('end', () => resolve(Buffer.concat(parts)));
    s.once('error', reject);
  });
}

test('carries 24 MiB each way intact, TCP to unix, with slow readers', T, async () => {
  const { L, a, b, R } = await quad(tcp, unix);
  const done = splice(a, b);
  const up = randomBytes(24 * 1024 * 1024);
  const down = randomBytes(24 * 1024 * 1024);
  const rGot = slowCollect(R);
  const lGot = slowCollect(L);
  await Promise.all([send(L, up), send(R, down)]);
  const [r, l] = await Promise.all([rGot, lGot]);
  assert.equal(sha(r), sha(up));
  assert.equal(sha(l), sha(down));
  const res = await done;
  assert.deepEqual(
    [res.relay, res.end, res.aToB, res.bToA],
    ['native', 'eof', up.length, down.length],
  );
  L.destroy();
  R.destroy();
});

test('bytes Node had already read before the splice are carried first, in order', T, async () => {
  const { L, a, b, R } = await quad(tcp);
  const early = new Promise((r) => a.once('readable', r));
  L.write('already-read|');
  await early; // in a's readable buffer now, not in the kernel
  assert.ok(a.readableLength > 0);
  const rGot = collect(R);
  const done = splice(a, b, { headAToB: Buffer.from('head|') });
  L.end('after');
  assert.equal((await rGot).toString(), 'head|already-read|after');
  R.end();
  const res = await done;
  assert.deepEqual([res.relay, res.end, res.aToB], ['native', 'eof', 23]);
  L.destroy();
});

test(
  'end() on a carried socket half-closes it through the relay; the other way goes on',
  T,
  async () => {
    const { L, a, b, R } = await quad(tcp);
    const done = splice(a, b);
    const lEnded = new Promise((r) => L.once('end', r));
    L.resume();
    a.end(); // what the gateway's shutdown does: FIN to L, keep carrying L -> R
    await lEnded;
    const rGot = collect(R);
    L.end('still flowing');
    assert.equal((await rGot).toString(), 'still flowing');
    R.end();
    const res = await done;
    assert.deepEqual([res.relay, res.end], ['native', 'eof']);
    L.destroy();
    R.destroy();
  },
);

test(
  'destroy() mid-stream stops the relay before the descriptor closes; new sockets work',
  T,
  async () => {
    const fds = () => readdirSync('/proc/self/fd').length;
    const start = fds();
    for (let i = 0; i < 50; i++) {
      const { L, a, b, R } = await quad(tcp);
      const done = splice(a, b);
      L.write('x');
      await new Promise((r) => R.once('data', r));
      (i % 2 ? a : b).destroy();
      const res = await done;
      assert.deepEqual([res.relay, res.end], ['native', 'closed']);
      assert.ok(a.destroyed && b.destroyed);
      L.destroy();
      R.destroy();
      // A relay still watching a closed descriptor would swallow the events of the next
      // socket given that number: these must still talk.
      const [c, d] = await tcp.pair();
      const got = new Promise<Buffer>((r) => d.once('data', r));
      c.write('alive');
      assert.equal((await got).toString(), 'alive');
      c.destroy();
      d.destroy();
    }
    await sleep(50);
    assert.ok(fds() <= start + 4, `fds grew from ${start} to ${fds()}`);
  },
);

test('a reset from a peer ends the splice with its errno error', T, async () => {
  const { L, a, b, R } = await quad(tcp);
  R.on('error', () => {});
  const done = splice(a, b);
  const rEnd = new Promise((r) => R.once('end', r));
  R.resume();
  L.write('x');
  await sleep(20);
  L.resetAndDestroy();
  const res = await done;
  assert.equal(res.relay, 'native');
  assert.ok(res.end === 'error' || res.end === 'closed', res.end);
  if (res.end === 'error') {
    assert.match((res.error as NodeJS.ErrnoException).code ?? '', /^E[A-Z]+$/);
  }
  await rEnd;
});

test(
  'a write of our own to a carried socket fails with ERR_SPLICED and ends the splice',
  T,
  async () => {
    const { L, a, b, R } = await quad(tcp);
    const done = splice(a, b);
    await sleep(10); // the relay starts once the empty barrier write completed
    a.write('mine');
    const res = await done;
    assert.equal(res.relay, 'native');
    assert.equal(res.end, 'error');
    assert.ok(isHijackError(res.error, 'ERR_SPLICED'));
    L.destroy();
    R.destroy();
  },
);

test(
  'TLS sockets, sockets with a setTimeout() timer and { native: false } go through the stream engine',
  T,
  async () => {
    const { key, cert } = testCert();
    const srv = tls.createServer({ key, cert, allowHalfOpen: true });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const accepted = new Promise<tls.TLSSocket>((r) => srv.once('secureConnection', r));
    const c = tls.connect({
      port: (srv.address() as net.AddressInfo).port,
      host: '127.0.0.1',
      rejectUnauthorized: false,
    });
    await new Promise((r) => c.once('secureConnect', r));
    const s = await accepted;
    const [L, b] = await tcp.pair();
    const rGot = collect(c);
    const done = splice(s, b);
    L.end('over tls');
    assert.equal((await rGot).toString(), 'over tls');
    c.end();
    const res = await done;
    assert.deepEqual([res.relay, res.end], ['stream', 'eof']);
    L.destroy();
    c.destroy();
    srv.close();

    const t = await quad(tcp);
    t.a.setTimeout(60_000); // Node's idle timer would not see the relay's traffic
    const timed = splice(t.a, t.b);
    t.a.destroy();
    assert.equal((await timed).relay, 'stream');
    t.L.destroy();
    t.R.destroy();

    const q = await quad(tcp);
    const plain = splice(q.a, q.b, { native: false });
    q.a.destroy();
    assert.deepEqual([(await plain).relay, (await plain).end], ['stream', 'closed']);
    q.L.destroy();
    q.R.destroy();
  },
);

test(
  'the relay refuses a descriptor libuv still watches (a socket that is reading)',
  T,
  async () => {
    const relay = createRequire(import.meta.url)('../../build/Release/hijack_relay.node') as {
      start(a: number, b: number, cb: () => void): object | number;
    };
    const [c, d] = await tcp.pair();
    d.resume(); // its handle reads: libuv watches the descriptor
    await sleep(10);
    const fdOf = (s: net.Socket) => (s as unknown as { _handle: { fd: number } })._handle.fd;
    const r = relay.start(fdOf(d), fdOf(c), () => {});
    assert.equal(typeof r, 'number');
    assert.ok((r as number) < 0);
    // And it left both sockets working.
    const got = new Promise<Buffer>((res) => d.once('data', res));
    c.write('ok');
    assert.equal((await got).toString(), 'ok');
    c.destroy();
    d.destroy();
  },
);

/** The start of a child script: L <-> a, b <-> R over loopback, splice() imported. */
const childPrelude = `
import net from 'node:net';
import { splice } from './src/stream/index.ts';
const srv = net.createServer({ allowHalfOpen: true });
await new Promise((r) => srv.listen(0, '127.0.0.1', r));
const pair = async () => {
  const acc = new Promise((r) => srv.once('connection', r));
  const c = net.connect({ port: srv.address().port, host: '127.0.0.1', allowHalfOpen: true });
  await new Promise((r) => c.once('connect', r));
  return [c, await acc];
};
const [L, a] = await pair();
const [b, R] = await pair();
`;

/** Runs `script` (after the prelude) in a child node from the package root. */
function runChild(script: string, env: NodeJS.ProcessEnv = {}) {
  return spawnSync(
    process.execPath,
    ['--import', 'tsx', '--input-type=module', '-e', childPrelude + script],
    {
      cwd: fileURLToPath(new URL('../../', import.meta.url)),
      encoding: 'utf8',
      timeout: 15_000,
      env: { ...process.env, ...env },
    },
  );
}

// In a child whose relay cannot load: splice() carries on with the stream engine.
const fallbackScript = `
const done = splice(a, b);
let got = '';
R.on('data', (d) => (got += d));
R.on('end', () => R.end());
L.resume();
L.end('through streams');
const res = await done;
console.log(JSON.stringify({ relay: res.relay, end: res.end, got }));
L.destroy(); R.destroy(); srv.close();
`;

for (const [what, path] of [
  ['missing', '/nonexistent/hijack_relay.node'],
  ['not a native module', 'bogus'],
] as const) {
  test(`with the relay ${what}, splice() uses the stream engine`, T, () => {
    let relayPath: string = path;
    if (path === 'bogus') {
      relayPath = join(dir, 'hijack_relay.node');
      writeFileSync(relayPath, 'not an ELF file');
    }
    const r = runChild(fallbackScript, { HIJACK_RELAY_PATH: relayPath });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout.trim().split('\n').pop()!), {
      relay: 'stream',
      end: 'eof',
      got: 'through streams',
    });
  });
}

// A child whose spliced sockets are all unref()ed: the relay must not keep it alive.
const unrefScript = `
for (const s of [L, a, b, R]) s.unref();
srv.unref();
void splice(a, b);
// A ref()ed timer: the process lives until it printed, then nothing of the splice holds it.
setTimeout(() => console.log(JSON.stringify({ relayed: a._handle.reading === false && a._read !== net.Socket.prototype._read })), 100);
`;

test('a pair whose sockets were unref()ed does not keep the process alive', T, () => {
  const t0 = Date.now();
  const r = runChild(unrefScript);
  assert.equal(
    r.signal,
    null,
    `ended by ${r.signal} after ${Date.now() - t0} ms (SIGTERM: the relay held the loop)`,
  );
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout.trim().split('\n').pop()!), { relayed: true });
});
