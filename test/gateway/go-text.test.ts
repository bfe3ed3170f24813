import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { buildGoPeer } from '../helpers/go.js';
import {
  dockerBoolValue,
  dockerBoolValueBytes,
  dockerBoolValueOrDefault,
  dockerInt64ValueOrZero,
  goIsSpace,
  goTrimSpace,
  goTrimSpaceBytes,
} from '../../src/gateway/policy/go-text.js';

/** Runs the Go peer on the inputs; returns one [start, end, bool, int] per input. */
function goAnswers(inputs: Buffer[]): [number, number, boolean, string][] {
  const bin = buildGoPeer('go-text');
  const stdin = inputs.map((b) => b.toString('hex')).join('\n') + '\n';
  const r = spawnSync(bin, [], { input: stdin, encoding: 'utf8', maxBuffer: 1 << 30 });
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.split('\n');
  lines.pop();
  assert.equal(lines.length, inputs.length);
  return lines.map((l) => {
    const [a, b, c, d] = l.split(' ');
    return [Number(a), Number(b), c === '1', d ?? ''];
  });
}

function check(inputs: Buffer[]): void {
  const go = goAnswers(inputs);
  for (let i = 0; i < inputs.length; i++) {
    const b = inputs[i]!;
    const [start, end, bv, n] = go[i]!;
    const t = goTrimSpaceBytes(b);
    const where = `input ${b.toString('hex')}`;
    assert.equal(t.byteOffset - b.byteOffset, start, where);
    assert.equal(t.byteOffset - b.byteOffset + t.length, end, where);
    assert.equal(dockerBoolValueBytes(b), bv, where);
    const s = b.toString('utf8');
    if (Buffer.from(s, 'utf8').equals(b)) {
      assert.equal(goTrimSpace(s), b.subarray(start, end).toString('utf8'), where);
      assert.equal(dockerBoolValue(s), bv, where);
      assert.equal(dockerInt64ValueOrZero(s).toString(), n, where);
    }
  }
}

test('go-text: every code point alone, leading and trailing, equals Go', { timeout: 60000 }, () => {
  const inputs: Buffer[] = [];
  for (let cp = 0; cp <= 0x10ffff; cp++) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    const c = String.fromCodePoint(cp);
    inputs.push(Buffer.from(c), Buffer.from(c + 'false'), Buffer.from('No' + c));
    if (goIsSpace(cp) || cp < 0x3100) {
      inputs.push(Buffer.from(c + 'NONE' + c), Buffer.from(`${c}0`), Buffer.from(c + c));
    }
  }
  check(inputs);
  // goIsSpace itself: Go's alone-answer is trimmed to empty iff the code point is a space.
  const go = goAnswers(
    [0x85, 0xa0, 0xfeff, 0x180e, 0x200b, 0x1680, 0x3000].map((cp) =>
      Buffer.from(String.fromCodePoint(cp)),
    ),
  );
  assert.deepEqual(
    go.map(([s, e]) => e === s),
    [true, true, false, false, false, true, true],
  );
});

test('go-text: invalid UTF-8 and odd bytes equal Go', { timeout: 20000 }, () => {
  const raw = [
    'c2',
    'e280',
    'e280a8ff',
    'ffe280a8',
    '80c285',
    'c285c2',
    'e2e280a8',
    'c2a0e280a8e280',
    'efbbbf66616c7365',
    '2066616c736520',
    'e3808066616c7365e38080',
    'ed9fbf',
    'f4908080',
    '',
    '2b',
    '2d30',
    '39323233333732303336383534373735383038',
  ];
  const inputs = raw.map((h) => Buffer.from(h, 'hex'));
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 12 }), (a) => {
      inputs.push(Buffer.from(a));
    }),
    { numRuns: 3000 },
  );
  check(inputs);
});

const pieces = [
  ' ',
  '\t',
  '\n',
  '\v',
  '\f',
  '\r',
  '\u0085',
  '\u00a0',
  '\u1680',
  '\u2000',
  '\u200a',
  '\u2028',
  '\u2029',
  '\u202f',
  '\u205f',
  '\u3000',
  '\ufeff',
  '\u180e',
  '\u200b',
  '\u200c',
  '\u2060',
  '\u0130',
  '\u0131',
  '\u212a',
  '\u017f',
  'false',
  'FALSE',
  'FaLsE',
  'no',
  'NO',
  'nO',
  'none',
  'NoNe',
  '0',
  '00',
  '1',
  'true',
  'f',
  'a',
  'l',
  's',
  'e',
  'n',
  'o',
  '-',
  '+',
  '9',
  '\ud800',
  '\udc00',
  'é',
  'ﬀ',
];

test(
  'go-text: 6000 random strings of spaces, format chars and words equal Go',
  { timeout: 20000 },
  () => {
    const inputs: Buffer[] = [];
    const strs: string[] = [];
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...pieces), { maxLength: 7 }), (p) => {
        const s = p.join('');
        strs.push(s);
        inputs.push(Buffer.from(s, 'utf8'));
      }),
      { numRuns: 6000 },
    );
    check(inputs);
    // String form with lone surrogates: Go sees U+FFFD bytes, which are never spaces.
    const go = goAnswers(inputs);
    for (let i = 0; i < strs.length; i++) {
      const s = strs[i]!;
      assert.equal(dockerBoolValue(s), go[i]![2], JSON.stringify(s));
      const t = goTrimSpace(s);
      const b = inputs[i]!;
      assert.equal(
        Buffer.from(t, 'utf8').toString('hex'),
        b.subarray(go[i]![0], go[i]![1]).toString('hex'),
      );
    }
  },
);

test('go-text: BoolValueOrDefault and Int64ValueOrZero contracts', { timeout: 5000 }, () => {
  assert.equal(dockerBoolValueOrDefault(undefined, true), true);
  assert.equal(dockerBoolValueOrDefault('', true), false);
  assert.equal(dockerBoolValueOrDefault(' no ', true), false);
  assert.equal(dockerBoolValueOrDefault('\ufeffno', false), true);
  assert.equal(dockerBoolValue(undefined), false);
  assert.equal(dockerBoolValue('\u0085FALSE\u3000'), false);
  assert.equal(dockerBoolValue('\ufefffalse'), true);
  assert.equal(dockerInt64ValueOrZero('9223372036854775807'), 9223372036854775807n);
  assert.equal(dockerInt64ValueOrZero('9223372036854775808'), 0n);
  assert.equal(dockerInt64ValueOrZero('-9223372036854775808'), -9223372036854775808n);
  assert.equal(dockerInt64ValueOrZero(' 1'), 0n);
  assert.equal(dockerInt64ValueOrZero('1_0'), 0n);
  assert.equal(dockerInt64ValueOrZero('+7'), 7n);
});
