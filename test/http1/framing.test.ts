/**
 * The body scanner shared by the takeover gate and the gateway: where a body ends, and
 * unread decoded bytes given back in wire form, checked against an independent decoder.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BodyScanner, requestFraming, responseFraming } from '../../src/http1/framing.js';
import { isHijackError } from '../../src/index.js';
import { dechunk } from '../server/util.js';

/** A chunked encoding of `chunks` (with optional extensions and trailers) and where each chunk's data lies. */
function encode(chunks: Buffer[], ext: boolean, trailers: string[]) {
  const parts: Buffer[] = [];
  const spans: [number, number][] = [];
  let at = 0;
  const push = (b: Buffer) => {
    parts.push(b);
    at += b.length;
  };
  for (const c of chunks) {
    push(Buffer.from(c.length.toString(16) + (ext ? ';x=1' : '') + '\r\n'));
    spans.push([at, at + c.length]);
    push(c);
    push(Buffer.from('\r\n'));
  }
  push(Buffer.from('0\r\n' + trailers.map((t) => t + '\r\n').join('') + '\r\n'));
  return { wire: Buffer.concat(parts), spans };
}

test('chunked: the end is found exactly, whatever the cut points', () => {
  fc.assert(
    fc.property(
      fc.array(fc.uint8Array({ minLength: 1, maxLength: 40 }), { maxLength: 6 }),
      fc.boolean(),
      fc.array(fc.constantFrom('X-A: 1', 'X-Trailer: two'), { maxLength: 2 }),
      fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 30 }),
      (chunks, ext, trailers, cuts) => {
        const { wire } = encode(
          chunks.map((c) => Buffer.from(c)),
          ext,
          trailers,
        );
        const stream = Buffer.concat([wire, Buffer.from('NEXT')]);
        const s = new BodyScanner({ kind: 'chunked' }, { strict: true });
        let i = 0;
        let taken = 0;
        for (let k = 0; i < stream.length && !s.done; k++) {
          const piece = stream.subarray(i, i + cuts[k % cuts.length]!);
          const n = s.take(piece);
          taken += n;
          i += piece.length;
          if (n < piece.length) break;
        }
        assert.ok(s.done);
        assert.equal(taken, wire.length);
      },
    ),
    { numRuns: 300 },
  );
});

test('chunked: unread decoded bytes re-framed at any cut point continue as valid chunked encoding', () => {
  fc.assert(
    fc.property(
      fc.array(fc.uint8Array({ minLength: 1, maxLength: 30 }), { minLength: 1, maxLength: 5 }),
      fc.boolean(),
      fc.array(fc.constantFrom('X-A: 1', 'X-B: 2'), { maxLength: 2 }),
      fc.nat(),
      fc.nat(),
      (raw, ext, trailers, cutSeed, readSeed) => {
        const chunks = raw.map((c) => Buffer.from(c));
        const data = Buffer.concat(chunks);
        const { wire, spans } = encode(chunks, ext, trailers);
        const cut = cutSeed % (wire.length + 1);
        const s = new BodyScanner({ kind: 'chunked' });
        assert.equal(s.take(wire.subarray(0, cut)), cut);
        // What a parser decoded from the first `cut` wire bytes, by the known spans.
        let decoded = 0;
        for (const [a, b] of spans) decoded += Math.max(0, Math.min(b, cut) - a);
        const read = readSeed % (decoded + 1); // the handler read this much of it
        const unread = data.subarray(read, decoded);
        const { prefix, skip } = s.reframe(unread.length ? [unread] : []);
        let rest = wire.subarray(cut);
        if (skip) {
          assert.deepEqual(rest.subarray(0, skip.length), skip);
          rest = rest.subarray(skip.length);
        }
        const head = Buffer.concat([...prefix, rest, Buffer.from('TAIL')]);
        if (s.done && unread.length === 0) {
          // A body read to its end is not replayed: only what follows it (as Go).
          assert.equal(head.toString(), 'TAIL');
          return;
        }
        const out = dechunk(head);
        assert.deepEqual(out.data, data.subarray(read));
        assert.equal(out.after.toString(), 'TAIL');
      },
    ),
    { numRuns: 500 },
  );
});

test('length, none and close framings; strict mode refuses broken chunking', () => {
  const len = new BodyScanner({ kind: 'length', length: 5 });
  assert.equal(len.take(Buffer.from('abc')), 3);
  assert.equal(len.take(Buffer.from('deNEXT')), 2);
  assert.ok(len.done);
  assert.ok(new BodyScanner({ kind: 'none' }).done);
  const close = new BodyScanner({ kind: 'close' });
  assert.equal(close.take(Buffer.from('everything')), 10);
  assert.ok(!close.done);
  for (const bad of ['zz\r\n', '5\r\nabcdefg', '5\nabcde\r\n', '3\r\nabc\r\n0\r\n\n']) {
    assert.throws(
      () => new BodyScanner({ kind: 'chunked' }, { strict: true }).take(Buffer.from(bad)),
      (e) => isHijackError(e, 'ERR_MALFORMED_HEAD'),
      bad,
    );
    const lenient = new BodyScanner({ kind: 'chunked' });
    lenient.take(Buffer.from(bad));
    assert.ok(lenient.done, 'lenient mode stops counting and leaves the rejection to the parser');
  }
});

test('requestFraming and responseFraming follow RFC 9112 §6.3', () => {
  assert.deepEqual(requestFraming({}), { kind: 'none' });
  assert.deepEqual(requestFraming({ 'content-length': '12' }), { kind: 'length', length: 12 });
  assert.deepEqual(requestFraming({ 'transfer-encoding': 'gzip, chunked' }), { kind: 'chunked' });
  for (const h of [
    { 'transfer-encoding': 'chunked', 'content-length': '3' },
    { 'transfer-encoding': 'chunked, gzip' },
    { 'content-length': '1, 2' },
    { 'content-length': '-1' },
  ]) {
    assert.throws(
      () => requestFraming(h),
      (e) => isHijackError(e, 'ERR_MALFORMED_HEAD'),
    );
  }
  assert.deepEqual(responseFraming('HEAD', 200, { 'content-length': '9' }), { kind: 'none' });
  assert.deepEqual(responseFraming('GET', 204, {}), { kind: 'none' });
  assert.deepEqual(responseFraming('GET', 200, {}), { kind: 'close' });
  assert.deepEqual(responseFraming('GET', 200, { 'transfer-encoding': 'gzip' }), { kind: 'close' });
});
