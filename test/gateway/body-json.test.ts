import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { buildGoPeer } from '../helpers/go.js';
import { requirePeer } from '../helpers/peers.js';
import { goFoldEqual, type GoType, type GoValue } from '../../src/gateway/policy/body-json.js';
import {
  buildQueryJsonTypes,
  dockerBodies,
  readDockerBody,
  type DockerBodyKind,
} from '../../src/gateway/policy/docker-bodies.js';
import { readBuildQuery } from '../../src/gateway/policy/build-query.js';

/** A body kind, or `build-query`: the raw query of POST /build. */
type Kind = DockerBodyKind | 'build-query';

/** Our reading of an input of `kind`. */
function readOurs(
  kind: Kind,
  body: Buffer,
): { ok: true; value: unknown } | { ok: false; reason: string } {
  if (kind !== 'build-query') return readDockerBody(kind, body);
  const r = readBuildQuery(body.toString('latin1'));
  return r.ok ? { ok: true, value: r.value } : r;
}

/** Go's answers (docker-body peer): `ERR …` or the decided fields with integers as `n:…`. */
function goAnswers(items: { kind: Kind; body: Buffer }[]): string[] {
  const bin = buildGoPeer('docker-body');
  const input = items.map((x) => `${x.kind} ${x.body.toString('hex')}\n`).join('');
  const r = spawnSync(bin, [], { input, encoding: 'utf8', maxBuffer: 1 << 30 });
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.split('\n');
  lines.pop();
  assert.equal(lines.length, items.length);
  return lines;
}

/** Our value in the peer's output shape. */
function comparable(v: unknown): unknown {
  return JSON.parse(
    JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? `n:${x.toString()}` : x)),
  ) as unknown;
}

interface Outcome {
  accepted: number;
  goErrors: number;
  total: number;
}

/** Every body: Go failed ⇒ we refuse; we accept ⇒ our fields equal Go's. */
function check(items: { kind: Kind; body: Buffer }[], seed: string): Outcome {
  const go = goAnswers(items);
  const out: Outcome = { accepted: 0, goErrors: 0, total: items.length };
  for (let i = 0; i < items.length; i++) {
    const { kind, body } = items[i]!;
    const ours = readOurs(kind, body);
    const g = go[i]!;
    const where = `${seed} ${kind} body hex ${body.toString('hex')} (${body.toString('utf8')}) go: ${g} ours: ${ours.ok ? JSON.stringify(comparable(ours.value)) : ours.reason}`;
    if (g.startsWith('ERR ')) {
      out.goErrors++;
      assert.equal(ours.ok, false, `Go refused, we accepted: ${where}`);
      continue;
    }
    if (!ours.ok) continue;
    out.accepted++;
    const goValue = JSON.parse(g) as Record<string, unknown>;
    if (kind === 'container-create') {
      assert.equal(
        goValue['Legacy'],
        false,
        `Go read top-level host config, we accepted: ${where}`,
      );
      delete goValue['Legacy'];
    }
    assert.deepStrictEqual(comparable(ours.value), goValue, where);
  }
  return out;
}

// ---- generators -------------------------------------------------------------------------

const hex4 = (c: number): string => c.toString(16).padStart(4, '0');

/** A JSON string literal for `s`, each character maybe \u-escaped (either hex case). */
function quoted(s: string, esc: boolean[]): string {
  let out = '"';
  let i = 0;
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    const e = esc[i++ % Math.max(esc.length, 1)] ?? false;
    if (cp < 0x20 || ch === '"' || ch === '\\' || (e && cp < 0x10000)) {
      const h = hex4(cp);
      out += '\\u' + (i % 2 ? h : h.toUpperCase());
    } else if (e) {
      const u = ch.charCodeAt(0);
      const l = ch.charCodeAt(1);
      out += `\\u${hex4(u)}\\u${hex4(l)}`;
    } else out += ch;
  }
  return out + '"';
}

/** A spelling of field name `name` that Go may fold to it (or almost). */
function keyVariant(name: string): fc.Arbitrary<string> {
  return fc
    .tuple(
      fc.array(fc.integer({ min: 0, max: 9 }), { minLength: name.length, maxLength: name.length }),
      fc.array(fc.constantFrom(false, false, false, false, true), { minLength: 1, maxLength: 4 }),
      fc.integer({ min: 0, max: 60 }),
    )
    .map(([cases, esc, mangle]) => {
      let s = '';
      for (let i = 0; i < name.length; i++) {
        const c = name[i]!;
        const r = cases[i]!;
        const low = c.toLowerCase();
        if (low === 'k' && r >= 8) s += '\u212a';
        else if (low === 's' && r >= 8) s += '\u017f';
        else if (r === 7) s += c === low ? c.toUpperCase() : low;
        else if (r === 6 && i === 0) s += low;
        else s += c;
      }
      // Near misses: one character that folds to nothing (Turkish dotless i, U+0130, 'ß'), a
      // suffix, a missing last letter.
      if (mangle === 1) s = s.replace(/i/i, '\u0131');
      else if (mangle === 2) s = s.replace(/i/i, '\u0130');
      else if (mangle === 3) s = s.replace(/ss|s/i, '\u00df');
      else if (mangle === 4) s += 'x';
      else if (mangle === 5) s = s.slice(0, -1);
      else if (mangle === 6) s = s.replace(/k/i, '\u212a');
      return quoted(s, esc);
    });
}

const ws = fc.constantFrom('', '', '', ' ', '\n', '\t ', '\r\n');

const stringValue = fc
  .tuple(
    fc.oneof(
      fc.constantFrom(
        '/',
        '/etc',
        '/srv/work/../..',
        'host',
        'container:abc',
        'bind',
        'SYS_ADMIN',
        'seccomp=unconfined',
        'o',
        'device',
        'root',
        '0:0',
        'mini:latest',
        '',
      ),
      fc.string({ maxLength: 8 }),
      fc.string({ unit: 'grapheme', maxLength: 4 }),
    ),
    fc.array(fc.constantFrom(false, false, false, true), { maxLength: 3 }),
  )
  .map(([s, e]) => quoted(s, e));

const numberValue = fc.oneof(
  fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }).map(String),
  fc.integer({ min: -5, max: 1 << 30 }).map(String),
  fc.constantFrom(
    '9223372036854775807',
    '9223372036854775808',
    '-9223372036854775808',
    '-9223372036854775809',
    '1e3',
    '1.0',
    '-0',
    '0.5',
    '1E+2',
    '123456789012345678901234567890',
  ),
);

const scalar = fc.oneof(
  fc.constantFrom('true', 'false', 'null', '{}', '[]', '[null]', '{"a":1}'),
  stringValue,
  numberValue,
);

/** JSON text for a value of `type` (sometimes of the wrong type, sometimes null). */
function valueFor(type: GoType, depth: number): fc.Arbitrary<string> {
  const right = rightValueFor(type, depth);
  return fc.oneof({ weight: 25, arbitrary: right }, { weight: 1, arbitrary: scalar });
}

function rightValueFor(type: GoType, depth: number): fc.Arbitrary<string> {
  if (type === 'bool') return fc.constantFrom('true', 'false');
  if (type === 'string') return stringValue;
  if (type === 'int64') return numberValue;
  if (type === 'any') return fc.oneof(scalar, fc.json({ depthSize: 'small', maxDepth: 2 }));
  if (type === 'strslice') {
    return fc.oneof(
      stringValue,
      fc
        .array(fc.oneof(stringValue, fc.constant('null')), { maxLength: 3 })
        .map((a) => `[${a.join(',')}]`),
    );
  }
  if ('ptr' in type) return rightValueFor(type.ptr, depth);
  if ('slice' in type) {
    return fc
      .array(valueFor(type.slice, depth + 1), { maxLength: depth > 2 ? 1 : 3 })
      .map((a) => `[${a.join(',')}]`);
  }
  if ('map' in type) {
    return fc
      .array(
        fc.tuple(
          fc.oneof(
            fc.constantFrom(
              '"a"',
              '"A"',
              '"o"',
              '"device"',
              '"type"',
              '"net.ipv4.ip_forward"',
              '"__proto__"',
            ),
            stringValue,
          ),
          valueFor(type.map, depth + 1),
        ),
        {
          maxLength: 4,
        },
      )
      .map((es) => `{${es.map(([k, v]) => `${k}:${v}`).join(',')}}`);
  }
  // Mostly the fields the policy decides on; sometimes one it skips, one it refuses (dockerd
  // 20.10's top-level host config), or an unknown key.
  const all = type.struct.fields;
  const groups = [
    { weight: 20, fields: all.filter((f) => f.type !== 'any' && f.refuse === undefined) },
    { weight: 3, fields: all.filter((f) => f.type === 'any' && f.refuse === undefined) },
    { weight: 1, fields: all.filter((f) => f.refuse !== undefined) },
  ].filter((g) => g.fields.length > 0);
  const entry = fc.oneof(
    ...groups.map((g) => ({
      weight: g.weight,
      arbitrary: fc
        .constantFrom(...g.fields)
        .chain((f) => fc.tuple(keyVariant(f.name), valueFor(f.type, depth + 1))),
    })),
    {
      weight: 1,
      arbitrary: fc.tuple(fc.constantFrom('"Unknown"', '"Config"', '"hostconfig "', '""'), scalar),
    },
  );
  const entries = fc.oneof(
    {
      weight: 4,
      arbitrary: fc.uniqueArray(entry, {
        maxLength: depth === 0 ? 8 : 4,
        selector: ([k]) => (JSON.parse(k) as string).toLowerCase(),
      }),
    },
    { weight: 1, arbitrary: fc.array(entry, { maxLength: 5 }) },
  );
  return fc
    .tuple(entries, ws, ws)
    .map(([es, a, b]) => `{${a}${es.map(([k, v]) => `${k}${b}:${a}${v}`).join(`,${b}`)}${b}}`);
}

/** A whole body of `kind`, sometimes damaged (invalid UTF-8, trailing bytes, wrong top level). */
function bodyFor(kind: DockerBodyKind): fc.Arbitrary<{ kind: DockerBodyKind; body: Buffer }> {
  return fc
    .tuple(
      rightValueFor({ struct: dockerBodies[kind] }, 0),
      fc.integer({ min: 0, max: 40 }),
      fc.integer({ min: 0, max: 1000 }),
      fc.integer({ min: 0x80, max: 0xff }),
    )
    .map(([text, damage, at, byte]) => {
      let body = Buffer.from(text, 'utf8');
      if (damage === 1) {
        const q = text.indexOf('"', Math.floor((at / 1000) * text.length));
        const i = q < 0 ? 1 : Buffer.byteLength(text.slice(0, q + 1));
        body = Buffer.concat([body.subarray(0, i), Buffer.from([byte]), body.subarray(i)]);
      } else if (damage === 2) body = Buffer.from(`[${text}]`);
      else if (damage === 3) body = Buffer.from('null');
      else if (damage === 4) body = Buffer.from(`${text} {}`);
      else if (damage === 5) body = Buffer.from(`\ufeff${text}`);
      else if (damage === 6) body = body.subarray(0, Math.floor((at / 1000) * body.length));
      else if (damage === 7) body = Buffer.from(`\n ${text}\n`);
      return { kind, body };
    });
}

// ---- tests ------------------------------------------------------------------------------

test('body-json: goFoldEqual is Go equalFoldRight for ASCII names', () => {
  assert.equal(goFoldEqual('Privileged', 'privileged'), true);
  assert.equal(goFoldEqual('Privileged', 'PRIVILEGED'), true);
  assert.equal(goFoldEqual('CapAdd', 'cap\u212a'), false);
  assert.equal(goFoldEqual('Sysctls', '\u017fysctls'), true);
  assert.equal(goFoldEqual('Sysctls', 'sy\u017fctl\u017f'), true);
  assert.equal(goFoldEqual('PidsLimit', 'Pid\u017fLimit'), true);
  assert.equal(goFoldEqual('KernelMemory', '\u212aernelMemory'), true);
  assert.equal(goFoldEqual('Binds', 'B\u0131nds'), false);
  assert.equal(goFoldEqual('Binds', 'Bind'), false);
  assert.equal(goFoldEqual('Binds', 'Bindss'), false);
  assert.equal(goFoldEqual('Image', 'Im@ge'), false);
});

test('body-json: no two fields of one struct fold to each other (Go would pick by order)', () => {
  const seen = new Set<unknown>();
  const walk = (t: GoType): void => {
    if (typeof t === 'string' || seen.has(t)) return;
    seen.add(t);
    if ('ptr' in t) return walk(t.ptr);
    if ('slice' in t) return walk(t.slice);
    if ('map' in t) return walk(t.map);
    const names = t.struct.fields.map((f) => f.name);
    for (const a of names) {
      assert.ok(/^[A-Za-z][A-Za-z0-9]*$/.test(a), a);
      assert.equal(names.filter((b) => goFoldEqual(a, b)).length, 1, a);
    }
    t.struct.fields.forEach((f) => walk(f.type));
  };
  for (const st of Object.values(dockerBodies)) walk({ struct: st });
});

test('body-json: hand-written bodies equal dockerd (Go) or are refused', (t) => {
  if (requirePeer(t, 'go', 'Go 1.19 encoding/json oracle') === null) return;
  const c = 'container-create' as const;
  const cases: [DockerBodyKind, string, 'accept' | 'refuse'][] = [
    [c, '{"Image":"mini","HostConfig":{"privileged":true}}', 'accept'],
    [c, '{"Image":"mini","HostConfig":{"\\u0050rivileged":true}}', 'accept'],
    [c, '{"HostConfig":{"Privileged":true,"privileged":false}}', 'refuse'],
    [c, '{"HostConfig":{"Privileged":true,"Privileged":null}}', 'refuse'],
    [c, '{"HostConfig":{"Privileged":true},"HostConfig":{"CapAdd":["X"]}}', 'refuse'],
    [c, '{"Privileged":true,"Image":"mini"}', 'refuse'],
    [c, '{"HostConfig":{"Privileged":"true"}}', 'refuse'],
    [c, '{"HostConfig":{"CapAdd":"SYS_ADMIN","\u017fysctls":{"a":"1","a":"2"}}}', 'accept'],
    [c, '{"HostConfig":{"Memory":1.0}}', 'refuse'],
    [c, '{"HostConfig":{"Memory":9223372036854775808}}', 'refuse'],
    [c, '{"HostConfig":{"PidsLimit":null,"Memory":-0}}', 'accept'],
    [c, '{"HostConfig":null,"Image":null}', 'accept'],
    [c, '{"HostConfig":{"Binds":["/\\ud800:/x"]}}', 'refuse'],
    [c, '{"HostConfig":{"Binds":["/\\ud83d\\ude00:/x"]}}', 'accept'],
    [c, '[]', 'refuse'],
    [c, '{"Image":"a"} trailing', 'refuse'],
    [c, '', 'refuse'],
    ['exec-create', '{"privileged":true,"user":"0"}', 'accept'],
    [
      'volume-create',
      '{"driveropts":{"o":"bind","device":"/"},"Labels":{"__proto__":"x"}}',
      'accept',
    ],
    ['container-update', '{"devices":[{"PathOnHost":"/dev/null"}],"PidsLimit":5}', 'accept'],
  ];
  const items = cases.map(([kind, text]) => ({ kind, body: Buffer.from(text) }));
  check(items, 'hand-written');
  cases.forEach(([kind, text, want], i) => {
    assert.equal(readDockerBody(kind, items[i]!.body).ok, want === 'accept', `${kind} ${text}`);
  });
  const p = readDockerBody(
    c,
    Buffer.from('{"HostConfig":{"pRiViLeGeD":true,"\\u0043apAdd":"ALL"}}'),
  );
  assert.ok(p.ok);
  const hc = (p.value as Record<string, Record<string, GoValue>>)['HostConfig']!;
  assert.equal(hc['Privileged'], true);
  assert.deepEqual(hc['CapAdd'], ['ALL']);
  const bad = readDockerBody(c, Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]));
  assert.deepEqual(bad, { ok: false, reason: 'body is not valid UTF-8' });
  const big = readDockerBody(c, Buffer.from('{}'), { maxBytes: 1 });
  assert.equal(big.ok, false);
});

test(
  'body-json: 6,000 generated bodies equal dockerd (Go encoding/json) or are refused',
  { timeout: 120000 },
  (t) => {
    if (requirePeer(t, 'go', 'Go 1.19 encoding/json oracle') === null) return;
    const seed = Number(process.env.FC_SEED ?? Date.now() % 2147483647);
    const label = `seed ${seed} (rerun with FC_SEED=${seed})`;
    console.log(`body-json differential: ${label}`);
    const kinds = fc.oneof(
      { weight: 3, arbitrary: bodyFor('container-create') },
      { weight: 1, arbitrary: bodyFor('exec-create') },
      { weight: 1, arbitrary: bodyFor('volume-create') },
      { weight: 1, arbitrary: bodyFor('container-update') },
      { weight: 1, arbitrary: bodyFor('network-create') },
    );
    const items = fc.sample(kinds, { numRuns: 6000, seed });
    const o = check(items, label);
    console.log(
      `body-json differential: ${o.total} bodies, ${o.accepted} accepted and equal to Go, ${o.goErrors} refused by Go (and by us), ${o.total - o.accepted - o.goErrors} refused by us only`,
    );
    // Not vacuous: most bodies are read, and Go refuses a good share.
    assert.ok(o.accepted > o.total * 0.25, `only ${o.accepted} accepted`);
    assert.ok(o.goErrors > o.total * 0.05, `only ${o.goErrors} refused by Go`);
  },
);

// ---- build queries ----------------------------------------------------------------------

const UNRESERVED = /^[A-Za-z0-9\-._~]$/;
// Characters a raw query may hold unescaped that Go's ParseQuery reads as themselves.
const RAW_OK = /^[!$'()*,/:?@[\]{}"<>^`|]$/;

/** `s` as a query component: escaped per character in one of several ways Go reads back. */
function encodeComponent(s: string, how: number[]): string {
  let out = '';
  let i = 0;
  for (const b of Buffer.from(s, 'utf8')) {
    const ch = String.fromCharCode(b);
    const h = how[i++ % Math.max(how.length, 1)] ?? 0;
    if (ch === ' ' && h % 2 === 0) out += '+';
    else if (b < 0x80 && UNRESERVED.test(ch) && h !== 3) out += ch;
    else if (b < 0x80 && RAW_OK.test(ch) && h < 2) out += ch;
    else {
      const x = b.toString(16).padStart(2, '0');
      out += '%' + (h === 4 ? x : x.toUpperCase());
    }
  }
  return out;
}

const jsonParams = Object.keys(buildQueryJsonTypes) as (keyof typeof buildQueryJsonTypes)[];

const buildParam: fc.Arbitrary<[string, string]> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .constantFrom(...jsonParams)
      .chain((n) =>
        fc.tuple(fc.constant(n), fc.oneof(rightValueFor(buildQueryJsonTypes[n], 1), scalar)),
      ),
  },
  {
    weight: 4,
    arbitrary: fc.tuple(
      fc.constantFrom(
        'networkmode',
        'remote',
        't',
        'securityopt',
        'extrahosts',
        'NetworkMode',
        'T',
      ),
      fc.oneof(
        fc.constantFrom('host', 'none', 'default', 'container:abc', 'git://h/r', 'mini:latest', ''),
        fc.string({ maxLength: 6 }),
      ),
    ),
  },
  {
    weight: 1,
    arbitrary: fc.tuple(fc.constantFrom('q', 'rm', 'x', ''), fc.string({ maxLength: 3 })),
  },
);

/** A raw build query, sometimes damaged (`;`, a bad or non-UTF-8 escape, a repeated parameter). */
const buildQuery: fc.Arbitrary<{ kind: Kind; body: Buffer }> = fc
  .tuple(
    fc.array(
      fc.tuple(
        buildParam,
        fc.array(fc.integer({ min: 0, max: 6 }), { minLength: 1, maxLength: 5 }),
      ),
      { maxLength: 5 },
    ),
    fc.integer({ min: 0, max: 30 }),
  )
  .map(([params, damage]) => {
    const parts = params.map(
      ([[k, v], how]) => `${encodeComponent(k, how)}=${encodeComponent(v, how)}`,
    );
    if (damage === 1) parts.push('a;b=1');
    else if (damage === 2) parts.push('networkmode=%zz');
    else if (damage === 3) parts.push('labels=%ff');
    else if (damage === 4 && parts.length > 0) parts.push(parts[0]!);
    else if (damage === 5) parts.push('');
    return { kind: 'build-query' as const, body: Buffer.from(parts.join('&'), 'latin1') };
  });

test(
  'body-json: 2,000 generated build queries equal dockerd (url.ParseQuery, json.Unmarshal) or are refused',
  { timeout: 120000 },
  (t) => {
    if (requirePeer(t, 'go', 'Go 1.19 encoding/json oracle') === null) return;
    const seed = Number(process.env.FC_SEED ?? Date.now() % 2147483647);
    const label = `seed ${seed} (rerun with FC_SEED=${seed})`;
    const items = fc.sample(buildQuery, { numRuns: 2000, seed });
    const o = check(items, label);
    console.log(
      `build-query differential: ${label}: ${o.total} queries, ${o.accepted} accepted and equal to Go, ${o.goErrors} refused by Go (and by us), ${o.total - o.accepted - o.goErrors} refused by us only`,
    );
    assert.ok(o.accepted > o.total * 0.25, `only ${o.accepted} accepted`);
    assert.ok(o.goErrors > o.total * 0.05, `only ${o.goErrors} refused by Go`);
  },
);
