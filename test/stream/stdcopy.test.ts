/**
 * Docker's stdcopy framing: demux and mux, property-tested over random frames and chunk
 * boundaries, stream 3 errors, truncation and backpressure.
 */
import assert from 'node:assert/strict';
import { PassThrough, Readable, Writable } from 'node:stream';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import fc from 'fast-check';
import { isHijackError } from '../../src/errors.js';
import { demuxStdcopy, muxStdcopy } from '../../src/stream/stdcopy.js';

const T = { timeout: 20_000 };

function frame(kind: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h[0] = kind;
  h.writeUInt32BE(payload.length, 4);
  return Buffer.concat([h, payload]);
}

function drain(r: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  return new Promise((resolve, reject) => {
    r.on('data', (c: Buffer) => parts.push(c));
    r.once('end', () => resolve(Buffer.concat(parts)));
    r.once('error', reject);
  });
}

/** Cuts `buf` at the given (sorted, deduplicated) offsets. */
function cut(buf: Buffer, at: number[]): Buffer[] {
  const out: Buffer[] = [];
  let prev = 0;
  for (const x of [...new Set(at.map((n) => n % (buf.length + 1)))].sort((a, b) => a - b)) {
    out.push(buf.subarray(prev, x));
    prev = x;
  }
  out.push(buf.subarray(prev));
  return out.filter((b) => b.length > 0);
}

test('property: random frames, random chunk boundaries, byte for byte', T, async () => {
  const frameArb = fc.record({
    kind: fc.constantFrom(0, 1, 2),
    payload: fc.uint8Array({ minLength: 0, maxLength: 300 }),
  });
  await fc.assert(
    fc.asyncProperty(
      fc.array(frameArb, { maxLength: 30 }),
      fc.array(fc.nat(), { maxLength: 40 }),
      async (frames, cuts) => {
        const wire = Buffer.concat(frames.map((f) => frame(f.kind, Buffer.from(f.payload))));
        const expectOut = Buffer.concat(
          frames.filter((f) => f.kind !== 2).map((f) => Buffer.from(f.payload)),
        );
        const expectErr = Buffer.concat(
          frames.filter((f) => f.kind === 2).map((f) => Buffer.from(f.payload)),
        );
        const source = Readable.from(cut(wire, cuts), { objectMode: false });
        const { stdout, stderr } = demuxStdcopy(source);
        const [out, err] = await Promise.all([drain(stdout), drain(stderr)]);
        assert.deepEqual(out, expectOut);
        assert.deepEqual(err, expectErr);
      },
    ),
    { numRuns: 300 },
  );
});

test('property: mux then demux is the identity per stream', T, async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(
        fc.record({ err: fc.boolean(), data: fc.uint8Array({ minLength: 0, maxLength: 200 }) }),
        { maxLength: 20 },
      ),
      async (writes) => {
        const wire = new PassThrough();
        const out = muxStdcopy(wire, 'stdout');
        const err = muxStdcopy(wire, 'stderr');
        const { stdout, stderr } = demuxStdcopy(wire);
        const got = Promise.all([drain(stdout), drain(stderr)]);
        for (const w of writes) {
          await new Promise<void>((r) => (w.err ? err : out).write(Buffer.from(w.data), () => r()));
        }
        await Promise.all([new Promise((r) => out.end(r)), new Promise((r) => err.end(r))]);
        wire.end();
        const [o, e] = await got;
        const pick = (isErr: boolean) =>
          Buffer.concat(writes.filter((w) => w.err === isErr).map((w) => Buffer.from(w.data)));
        assert.deepEqual(o, pick(false));
        assert.deepEqual(e, pick(true));
      },
    ),
    { numRuns: 100 },
  );
});

test('stream 3 is surfaced as ERR_STDCOPY_SYSTEM with the daemon message', T, async () => {
  const src = Readable.from([
    frame(1, Buffer.from('ok')),
    frame(3, Buffer.from('container not running')),
  ]);
  const { stdout, stderr } = demuxStdcopy(src);
  stderr.on('error', () => {});
  await assert.rejects(drain(stdout), (e) => {
    assert.ok(isHijackError(e, 'ERR_STDCOPY_SYSTEM'));
    assert.match((e as Error).message, /container not running/);
    return true;
  });
});

test('unknown stream and truncated frames are errors', T, async () => {
  const bad = demuxStdcopy(Readable.from([Buffer.from([9, 0, 0, 0, 0, 0, 0, 1, 65])]));
  bad.stderr.on('error', () => {});
  await assert.rejects(drain(bad.stdout), (e) => isHijackError(e, 'ERR_STDCOPY_FRAME'));
  const trunc = demuxStdcopy(Readable.from([frame(1, Buffer.from('abcdef')).subarray(0, 10)]));
  trunc.stderr.on('error', () => {});
  await assert.rejects(drain(trunc.stdout), (e) => isHijackError(e, 'ERR_STDCOPY_TRUNCATED'));
  const half = demuxStdcopy(Readable.from([Buffer.from([1, 0, 0])]));
  half.stderr.on('error', () => {});
  await assert.rejects(drain(half.stdout), (e) => isHijackError(e, 'ERR_STDCOPY_TRUNCATED'));
});

test('backpressure: a slow stdout consumer pauses the source', T, async () => {
  const source = new PassThrough({ highWaterMark: 1024 });
  const { stdout, stderr } = demuxStdcopy(source, { highWaterMark: 1024 });
  stderr.resume();
  // Nobody reads stdout; keep writing frames while the source accepts them.
  const payload = Buffer.alloc(512, 1);
  let accepted = 0;
  for (let i = 0; i < 10_000; i++) {
    if (!source.write(frame(1, payload))) break;
    accepted++;
    await sleep(0);
  }
  await sleep(20);
  assert.ok(accepted < 100, `the source kept accepting (${accepted} frames)`);
  assert.ok(source.isPaused(), 'source paused');
  assert.ok(stdout.readableLength <= 4 * 1024, `stdout buffered ${stdout.readableLength}`);
  // Reading stdout resumes the flow.
  let got = 0;
  stdout.on('data', (c: Buffer) => (got += c.length));
  source.end();
  await new Promise((r) => stdout.once('end', r));
  assert.equal(got, accepted * 512 + (accepted < 10_000 ? 512 : 0));
});

test('muxStdcopy keeps backpressure and refuses a closed target', T, async () => {
  let calls = 0;
  const slow = new Writable({
    highWaterMark: 16,
    write(_c, _e, cb) {
      calls++;
      setTimeout(cb, 5);
    },
  });
  const m = muxStdcopy(slow, 'stderr');
  const t0 = Date.now();
  for (let i = 0; i < 5; i++) await new Promise<void>((r) => m.write(Buffer.alloc(64), () => r()));
  assert.ok(calls >= 4, 'each write waited for the target');
  assert.ok(Date.now() - t0 >= 0);
  slow.destroy();
  const m2 = muxStdcopy(slow, 'stdout');
  m2.on('error', () => {});
  await assert.rejects(
    new Promise<void>((res, rej) => m2.write(Buffer.from('x'), (e) => (e ? rej(e) : res()))),
    (e) => isHijackError(e, 'ERR_SOCKET_CLOSED'),
  );
  assert.throws(
    () => muxStdcopy(slow, 'bogus' as 'stdout'),
    (e) => isHijackError(e, 'ERR_INVALID_ARGUMENT'),
  );
});
