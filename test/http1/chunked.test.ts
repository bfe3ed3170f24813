/**
 * The gateway's chunked decoder against Go's own net/http reader (a standard-library peer
 * built in the test run): for every generated body, when the decoder accepts it, Go reads
 * the same data and leaves the same bytes behind; where Go refuses, the decoder refuses.
 * The decoder may refuse more than Go (it never forwards what it is unsure of).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import fc from 'fast-check';
import { ChunkedDecoder, encodeChunk, LAST_CHUNK } from '../../src/http1/chunked.js';
import { buildGoPeer } from '../helpers/go.js';
import { requirePeer } from '../helpers/peers.js';

interface GoResult {
  ok: boolean;
  data?: string;
  rest: number;
}

/** Runs the Go reader over `inputs`, one result per input, in order. */
async function goRead(inputs: Buffer[]): Promise<GoResult[]> {
  const bin = buildGoPeer('chunked');
  const child = spawn(bin, [], { stdio: ['pipe', 'pipe', 'inherit'] });
  const out: GoResult[] = [];
  const lines = createInterface({ input: child.stdout });
  lines.on('line', (l) => out.push(JSON.parse(l) as GoResult));
  for (const b of inputs) child.stdin.write(b.toString('base64') + '\n');
  child.stdin.end();
  await new Promise((r) => child.on('close', r));
  return out;
}

/** Our reading, with the input cut at `cuts` (to exercise every state boundary). */
function ourRead(
  input: Buffer,
  cuts: number[],
): { ok: true; data: Buffer; rest: number } | { ok: false } {
  const d = new ChunkedDecoder();
  const data: Buffer[] = [];
  let pos = 0;
  const bounds = [...new Set(cuts.map((c) => c % (input.length + 1)))].sort((a, b) => a - b);
  bounds.push(input.length);
  try {
    for (const end of bounds) {
      if (end <= pos) continue;
      const piece = input.subarray(pos, end);
      const r = d.take(piece);
      data.push(...r.data);
      if (d.done) return { ok: true, data: Buffer.concat(data), rest: input.length - pos - r.used };
      assert.equal(r.used, piece.length, 'all of a piece is used until the body ends');
      pos = end;
    }
  } catch (err) {
    assert.equal((err as { code?: string }).code, 'ERR_MALFORMED_BODY');
    return { ok: false };
  }
  return { ok: false }; // not ended: Go reports an unexpected EOF
}

const hex = fc.oneof(
  { arbitrary: fc.integer({ min: 1, max: 40 }).map((n) => n.toString(16)), weight: 6 },
  fc.integer({ min: 0, max: 40 }).map((n) => n.toString(16)),
  fc.integer({ min: 0, max: 40 }).map((n) => n.toString(16).toUpperCase()),
  fc
    .tuple(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 40 }))
    .map(([z, n]) => '0'.repeat(z) + n.toString(16)),
  fc.constantFrom('', '0x5', '+5', '-5', '5 5', ' 5', 'g', 'ffffffffffffffffff', '1_0'),
);
/** Mostly the usual form, sometimes an odd one. */
const mostly = <T>(usual: T, ...odd: T[]) =>
  fc.oneof(
    { arbitrary: fc.constant(usual), weight: 4 },
    { arbitrary: fc.constantFrom(...odd), weight: 1 },
  );
const ws = mostly('', ' ', '\t', ' \t ', '\r', '\v');
const ext = mostly('', ';a=b', ';"q"', ' ;x', ';', ';a=b;c', ';\x01', ';\xff');
const eol = mostly('\r\n', '\n', '\r', '\r\r\n');
const chunk = fc.record({
  size: hex,
  pre: mostly('', ' '),
  ws,
  ext,
  eol,
  delta: mostly(0, -1, 1),
  after: mostly('\r\n', '\n', '', '\r', 'x\r\n'),
  fill: fc.constantFrom('a', '\r', '\n', '0'),
});
const trailer = fc.constantFrom(
  '\r\n',
  '\r\n',
  'X-T: 1\r\n\r\n',
  'X-T: 1\n\n',
  'X-T: 1\r\n\n',
  'X-T 1\r\n\r\n',
  ' X: 1\r\n\r\n',
  'X: a\r\n b\r\n\r\n',
  'A: 1\r\nB: 2\r\n\r\n',
  'X: \x01\r\n\r\n',
  '\n',
  '',
);

function compose(
  chunks: {
    size: string;
    pre: string;
    ws: string;
    ext: string;
    eol: string;
    delta: number;
    after: string;
    fill: string;
  }[],
  last: { size: string; ws: string; ext: string; eol: string },
  trail: string,
  tail: string,
): Buffer {
  let s = '';
  for (const c of chunks) {
    s += c.pre + c.size + c.ws + c.ext + c.eol;
    const n = /^[0-9a-fA-F]{1,12}$/.test(c.size) ? parseInt(c.size, 16) : 3;
    s += c.fill.repeat(Math.max(0, Math.min(n, 64) + c.delta)) + c.after;
  }
  s += last.size + last.ws + last.ext + last.eol + trail + tail;
  return Buffer.from(s, 'latin1');
}

test(
  'the decoder reads what Go reads, refuses what Go refuses (5,000 generated bodies)',
  { timeout: 120_000 },
  async (t) => {
    if (!requirePeer(t, 'go', 'the differential test builds a Go reader')) return;
    const seed = Number(process.env.HIJACK_FC_SEED) || Date.now() % 2 ** 31;
    const cases = fc.sample(
      fc.record({
        chunks: fc.array(chunk, { maxLength: 4 }),
        last: fc.record({
          size: fc.constantFrom('0', '000', '', '00000000000000000', '0 '),
          ws,
          ext,
          eol,
        }),
        trail: trailer,
        tail: fc.constantFrom('', 'GET / HTTP/1.1\r\n\r\n', 'x'),
        cuts: fc.array(fc.nat(400), { maxLength: 6 }),
      }),
      { numRuns: 5000, seed },
    );
    const inputs = cases.map((c) => compose(c.chunks, c.last, c.trail, c.tail));
    const go = await goRead(inputs);
    assert.equal(go.length, inputs.length);
    let agreed = 0;
    let refusedMore = 0;
    for (let i = 0; i < inputs.length; i++) {
      const ours = ourRead(inputs[i]!, cases[i]!.cuts);
      const theirs = go[i]!;
      const where = `seed ${seed}, case ${i}: ${JSON.stringify(inputs[i]!.toString('latin1'))} cut at ${JSON.stringify(cases[i]!.cuts)}`;
      if (ours.ok) {
        assert.ok(theirs.ok, `we accept what Go refuses (${where})`);
        assert.equal(ours.data.toString('base64'), theirs.data ?? '', `data differs (${where})`);
        assert.equal(ours.rest, theirs.rest, `the body's end differs (${where})`);
        agreed++;
      } else if (theirs.ok) {
        refusedMore++;
        if (refusedMore <= 5) t.diagnostic(`refused by us only: ${where}`);
      }
    }
    t.diagnostic(
      `${agreed} read alike, ${refusedMore} refused by us only, ${inputs.length - agreed - refusedMore} refused by both`,
    );
    assert.ok(agreed > 200, 'the generator produces enough valid bodies');
  },
);

test('directed cases: Go-accepted forms, Go-refused forms, and the re-encoding', () => {
  const read = (s: string) => ourRead(Buffer.from(s, 'latin1'), []);
  assert.deepEqual(read('5\t \r\nhello\r\n0\r\n\r\n'), {
    ok: true,
    data: Buffer.from('hello'),
    rest: 0,
  });
  assert.deepEqual(read('5;a="x y"\nhello\r\n\r\n\r\nNEXT'), {
    ok: true,
    data: Buffer.from('hello'),
    rest: 4,
  });
  for (const bad of [
    '5 5\r\n',
    ' 5\r\n',
    '0x5\r\n',
    '5\r\nhello\n',
    '5\r\nhello\r\n0\r\nX: 1\n\n',
    '00000000000000005\r\nhello\r\n0\r\n\r\n',
    '5\r\nhello\r\n0\r\nbad line\r\n\r\n',
  ])
    assert.deepEqual(read(bad), { ok: false }, JSON.stringify(bad));
  assert.equal(encodeChunk(Buffer.from('abc')).toString(), '3\r\nabc\r\n');
  assert.equal(encodeChunk(Buffer.alloc(0)).length, 0);
  assert.equal(LAST_CHUNK.toString(), '0\r\n\r\n');
});
