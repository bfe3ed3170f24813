/**
 * splice() with each engine (stream and native) over real sockets: both ways with
 * half-close, heads first, backpressure, idle timeout, errors and abort, nothing left behind.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { isHijackError } from '../../src/errors.js';
import { splice } from '../../src/stream/splice.js';
import { collect, Pairs, quad as quadOf } from './helpers.js';

const T = { timeout: 20_000 };
let pairs: Pairs;

before(async () => {
  pairs = await Pairs.listen();
});
after(() => pairs.close());

const pair = () => pairs.pair();
const quad = () => quadOf(pairs);

for (const engine of ['native', 'stream'] as const) {
  const opt = { native: engine === 'native' };

  test(`${engine}: copies both ways and carries each half-close across`, T, async () => {
    const { L, a, b, R } = await quad();
    const done = splice(a, b, opt);
    // R answers only after it saw EOF: the half-close must cross and the answer come back.
    const rGot = collect(R);
    const lGot = collect(L);
    L.write('hello ');
    L.end('world');
    const seen = await rGot;
    assert.equal(seen.toString(), 'hello world');
    R.write('late answer after EOF');
    R.end();
    assert.equal((await lGot).toString(), 'late answer after EOF');
    const res = await done;
    assert.equal(res.relay, engine);
    assert.equal(res.end, 'eof');
    assert.equal(res.aToB, 11);
    assert.equal(res.bToA, 21);
    assert.ok(a.destroyed && b.destroyed);
    L.destroy();
    R.destroy();
  });

  test(`${engine}: heads are written first and counted`, T, async () => {
    const { L, a, b, R } = await quad();
    const done = splice(a, b, {
      ...opt,
      headAToB: Buffer.from('early-'),
      headBToA: Buffer.from('leftover-'),
    });
    const rGot = collect(R);
    const lGot = collect(L);
    L.end('client');
    R.end('server');
    assert.equal((await rGot).toString(), 'early-client');
    assert.equal((await lGot).toString(), 'leftover-server');
    const res = await done;
    assert.deepEqual([res.aToB, res.bToA, res.end], [12, 15, 'eof']);
    L.destroy();
    R.destroy();
  });

  test(`${engine}: backpressure: a slow reader keeps the other side bounded`, T, async () => {
    const { L, a, b, R } = await quad();
    const done = splice(a, b, opt);
    R.pause(); // R does not read: b's kernel buffers fill, then b's writable buffer
    const chunk = Buffer.alloc(64 * 1024, 7);
    const total = 48 * 1024 * 1024;
    let written = 0;
    let peak = 0;
    const sample = setInterval(() => {
      peak = Math.max(peak, a.readableLength + b.writableLength);
    }, 2);
    // Write as fast as L's own backpressure allows, for a bounded time.
    const writer = (async () => {
      const deadline = Date.now() + 1500;
      while (written < total && Date.now() < deadline) {
        written += chunk.length;
        if (!L.write(chunk)) await new Promise((r) => L.once('drain', r));
      }
    })();
    await sleep(800);
    const hwm = a.readableHighWaterMark + b.writableHighWaterMark;
    // Without pausing a, b.writableLength would hold everything L managed to send.
    assert.ok(peak <= 4 * hwm, `peak buffered ${peak} > 4 × ${hwm}`);
    assert.ok(written > 4 * hwm, 'the writer got far enough to show the bound');
    // Now read everything: no byte lost.
    let received = 0;
    R.on('data', (c: Buffer) => (received += c.length));
    R.resume();
    await writer;
    clearInterval(sample);
    L.end();
    await new Promise((r) => R.once('end', r));
    assert.equal(received, written);
    R.end();
    const res = await done;
    assert.equal(res.aToB, written);
    assert.equal(res.end, 'eof');
    assert.ok(peak <= 4 * hwm, `peak buffered ${peak} > 4 × ${hwm}`);
    L.destroy();
    R.destroy();
  });

  test(`${engine}: idle timeout ends with ERR_IDLE_TIMEOUT and destroys both`, T, async () => {
    const { L, a, b, R } = await quad();
    const done = splice(a, b, { ...opt, idleTimeout: 150 });
    L.write('x'); // activity resets the clock
    await sleep(100);
    R.write('y');
    const res = await done;
    assert.equal(res.end, 'timeout');
    assert.ok(isHijackError(res.error, 'ERR_IDLE_TIMEOUT'));
    assert.deepEqual([res.aToB, res.bToA], [1, 1]);
    assert.ok(a.destroyed && b.destroyed);
    await Promise.all([
      new Promise((r) => L.once('end', r).resume()),
      new Promise((r) => R.once('end', r).resume()),
    ]);
    L.destroy();
    R.destroy();
  });

  test(`${engine}: an error on one side destroys both`, T, async () => {
    const { L, a, b, R } = await quad();
    L.on('error', () => {});
    R.on('error', () => {});
    const done = splice(a, b, opt);
    const rClosed = new Promise((r) => R.once('end', r).resume());
    L.write('x');
    await sleep(20);
    L.resetAndDestroy(); // RST: a sees ECONNRESET (or a premature close)
    const res = await done;
    assert.ok(res.end === 'error' || res.end === 'closed', res.end);
    assert.ok(a.destroyed && b.destroyed);
    await rClosed;
  });

  test(`${engine}: abort through the signal`, T, async () => {
    const { L, a, b, R } = await quad();
    const ac = new AbortController();
    const done = splice(a, b, { ...opt, signal: ac.signal });
    ac.abort();
    const res = await done;
    assert.equal(res.end, 'aborted');
    assert.ok(isHijackError(res.error, 'ERR_ABORTED'));
    L.destroy();
    R.destroy();
  });

  test(`${engine}: no fd or listener left behind after many splices`, T, async () => {
    const fds = () => readdirSync('/proc/self/fd').length;
    const run = async () => {
      const { L, a, b, R } = await quad();
      const before = [a, b].map((s) => s.eventNames().map((e) => [e, s.listenerCount(e)]));
      const done = splice(a, b, {
        ...opt,
        idleTimeout: 5000,
        signal: new AbortController().signal,
      });
      const lGot = collect(L);
      const rGot = collect(R);
      L.end('ping');
      await rGot;
      R.end('pong');
      await lGot;
      await done;
      const afterL = [a, b].map((s) => s.eventNames().map((e) => [e, s.listenerCount(e)]));
      L.destroy();
      R.destroy();
      await Promise.all(
        [L, R, a, b].map((s) => (s.closed ? null : new Promise((r) => s.once('close', r)))),
      );
      return { before, afterL };
    };
    await run(); // warm up
    const start = fds();
    for (let i = 0; i < 200; i++) {
      const { before, afterL } = await run();
      assert.deepEqual(afterL, before);
    }
    await sleep(50);
    assert.ok(fds() <= start + 2, `fds grew from ${start} to ${fds()}`);
  });

  test(
    `${engine}: a stream already spliced (or a stream with itself) is refused synchronously`,
    T,
    async () => {
      const { L, a, b, R } = await quad();
      const [c, d] = await pair();
      const running = splice(a, b, opt);
      for (const [x, y] of [
        [a, c],
        [c, b],
        [c, c],
      ] as const) {
        assert.throws(
          () => splice(x, y, opt),
          (err: unknown) => isHijackError(err) && err.code === 'ERR_INVALID_ARGUMENT',
        );
      }
      // The refused calls left the running splice and the spare pair untouched.
      assert.equal(c.listenerCount('data'), 0);
      assert.equal(d.listenerCount('data'), 0);
      const got = new Promise<Buffer>((r) => R.once('data', r));
      L.write('x');
      assert.equal((await got).toString(), 'x');
      L.destroy();
      R.destroy();
      await running;
      // Once it ended, its streams are free again; the spare pair can be spliced.
      const again = splice(c, d, opt);
      c.destroy();
      assert.equal((await again).end, 'closed');
    },
  );
}
