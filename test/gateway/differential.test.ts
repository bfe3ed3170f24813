/**
 * The gateway's promise, proven differentially: a gateway in front of a Go 1.19
 * standard-library upstream (test/peers/go/oracle, the net/http parser dockerd uses) that
 * records every request it parses. fast-check composes hostile request streams (framing
 * conflicts, chunk and Content-Length forms, hop-by-hop abuse, pipelining, Upgrade,
 * encoded paths, Unicode booleans, multi-segment names), split at random write boundaries.
 * Invariant: every request the oracle parsed is one the gateway admitted (same method,
 * same target, same body length), none more. Seed printed on failure; HIJACK_FC_SEED
 * replays it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import fc from 'fast-check';
import { createGateway, parseRule } from '../../src/gateway/index.js';
import type { GatewayRequestEvent } from '../../src/gateway/index.js';
import { buildGoPeer } from '../helpers/go.js';
import { requirePeer } from '../helpers/peers.js';

const RUNS = Number(process.env.HIJACK_DIFF_RUNS) || 5000;
const SMUGGLE = 'DELETE /v1.41/containers/victim?force=1 HTTP/1.1\r\nHost: d\r\n\r\n';

const ALLOW = [
  'GET,HEAD /_ping',
  'GET /containers/json',
  'GET /containers/{id}/json',
  'POST /containers/{id}/exec',
  'POST /exec/{id}/start',
  'POST /containers/{id}/attach',
  'GET /images/**',
  '* /volumes/**',
  'DELETE /containers/{id}?!force',
];
const DENY = ['DELETE /containers/{id}?force', 'DELETE /images/{name}'];

/** Percent-encoded UTF-8 of a code point. */
const pct = (cp: number) =>
  [...Buffer.from(String.fromCodePoint(cp), 'utf8')]
    .map((b) => '%' + b.toString(16).toUpperCase().padStart(2, '0'))
    .join('');
const SPACES = [
  0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20, 0x85, 0xa0, 0x1680, 0x2000, 0x2001, 0x2002, 0x2003, 0x2004,
  0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200a, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000, 0xfeff,
  0x180e, 0x200b,
];

/** Mostly the usual form, sometimes an odd one. */
const mostly = <T>(usual: T, ...odd: T[]) =>
  fc.oneof(
    { arbitrary: fc.constant(usual), weight: 3 },
    { arbitrary: fc.constantFrom(...odd), weight: 1 },
  );

const target = fc.oneof(
  {
    arbitrary: fc.constantFrom(
      '/_ping',
      '/v1.41/containers/c1/json',
      '/v1.41/containers/web/db/exec',
      '/exec/e1/start',
      '/images/reg.local/ns/bb:latest',
      '/volumes/create',
      '/containers/victim',
    ),
    weight: 2,
  },
  fc.constantFrom(
    '/_ping',
    '/v1.41/_ping',
    '/containers/json',
    '/v1.41/containers/c1/json',
    '/containers/c1/exec',
    '/v1.41/containers/web/db/exec',
    '/exec/e1/start',
    '/containers/c1/attach?stream=1&stdin=1',
    '/images/json',
    '/images/reg.local/ns/bb:latest',
    '/v1.41/images/reg.local:5000/a/b@sha256:00',
    '/volumes/create',
    '/containers/victim',
    '/containers/victim/kill',
    '/containers%2Fvictim',
    '/containers/%2e%2e/json',
    '/containers/a%252Fb/json',
    '/containers//json',
    'http://d/_ping',
    'd:80',
    '*',
    '/_ping;x=1',
    '/_ping#f',
  ),
  fc
    .tuple(
      fc.constantFrom(...SPACES),
      fc.constantFrom('', '1', 'false', 'no', '0', 'none', 'FALSE'),
      fc.boolean(),
    )
    .map(
      ([cp, word, before]) =>
        `/containers/victim?force=${before ? pct(cp) + word : word + pct(cp)}`,
    ),
);
const framing = fc.oneof(
  { arbitrary: fc.constantFrom('none', 'cl', 'te'), weight: 3 },
  {
    arbitrary: fc.constantFrom(
      'cl0',
      'cl-zeros',
      'cl-plus',
      'cl-list',
      'cl-dup',
      'te',
      'te',
      'te-case',
      'te-list',
      'te-x',
      'te-space',
      'te+cl',
      'cl-colon-space',
      'cl-tab-name',
      'cl-underscore',
      'te-vt',
      'te-trailing-tab',
    ),
    weight: 1,
  },
);
const request = fc.record({
  method: fc.constantFrom('GET', 'GET', 'POST', 'POST', 'DELETE', 'PUT', 'HEAD'),
  target,
  version: mostly('HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0', ''),
  host: mostly('Host: d', '', 'Host: d\r\nHost: e', 'Host : d'),
  framing,
  body: fc.constantFrom('', '{}', SMUGGLE, 'x'.repeat(70), '{"Tty":false}' + SMUGGLE),
  chunk: fc.constantFrom(
    'plain',
    'plain',
    'zeros',
    'ext',
    'ws',
    'bad-ws',
    'hex0x',
    'lf',
    'trailer',
    'lf-trailer',
  ),
  connection: mostly(
    '',
    'Connection: Upgrade\r\nUpgrade: tcp',
    'Connection: Upgrade, Content-Length\r\nUpgrade: tcp',
    'Connection: content-length',
    'Connection: transfer-encoding',
    'Connection: host',
    'Connection: keep-alive, X-A\r\nX-A: 1',
    'Connection: close',
    'Connection: Upgrade\r\nUpgrade: websocket',
    'Upgrade: tcp',
  ),
  extra: mostly(
    '',
    'Expect: 100-continue',
    'X-F: a\r\n b',
    'X-C: \x01',
    'Content-Type: application/x-www-form-urlencoded',
    // Header-level: framing hidden in a folded line, a second Host, obs-text and empty
    // names, NUL, a spaced Authorization name, a field over 8 KiB.
    'Host: other',
    'X-A: 1\r\n Content-Length: 5',
    'X-A: 1\r\n\tTransfer-Encoding: chunked',
    'Content-Length: 5\r\n Content-Length: 6',
    'X\x80Y: 1',
    'X-N: a\x00b',
    'Authorization : Bearer x',
    ': empty-name',
    'X-L: ' + 'a'.repeat(9000),
  ),
  eol: fc.constantFrom('\r\n', '\r\n', '\r\n', '\n'),
  line: mostly('plain', 'lower', 'tab', 'double', 'trailing'),
});
type Req = typeof request extends fc.Arbitrary<infer T> ? T : never;

function chunked(body: string, style: string): string {
  const size = body.length.toString(16);
  const line = (s: string) =>
    ({
      plain: s,
      zeros: '000' + s,
      ext: s + ';a=b',
      ws: s + ' ',
      'bad-ws': s + ' 1',
      hex0x: '0x' + s,
    })[style] ?? s;
  const eol = style === 'lf' ? '\n' : '\r\n';
  const data = body ? `${line(size)}${eol}${body}\r\n` : '';
  const trailer =
    style === 'trailer' ? 'X-T: 1\r\n\r\n' : style === 'lf-trailer' ? 'X-T: 1\n\n' : '\r\n';
  return `${data}0${eol}${trailer}`;
}

/** Each framing family: its header lines for a body of `n` bytes, and whether it is chunked. */
const FRAMINGS: Record<string, (n: number) => [string[], boolean]> = {
  none: () => [[], false],
  cl: (n) => [[`Content-Length: ${n}`], false],
  cl0: () => [['Content-Length: 0'], false],
  'cl-zeros': (n) => [[`Content-Length: 000${n}`], false],
  'cl-plus': (n) => [[`Content-Length: +${n}`], false],
  'cl-list': (n) => [[`Content-Length: ${n}, ${n}`], false],
  'cl-dup': (n) => [[`Content-Length: ${n}`, `Content-Length: ${n}`], false],
  'cl-colon-space': (n) => [[`Content-Length : ${n}`], false],
  'cl-tab-name': (n) => [[`Content-Length\t: ${n}`], false],
  'cl-underscore': (n) => [[`Content_Length: ${n}`], false],
  te: () => [['Transfer-Encoding: chunked'], true],
  'te-case': () => [['Transfer-Encoding: CHUNKED'], true],
  'te-list': () => [['Transfer-Encoding: chunked, identity'], true],
  'te-x': () => [['Transfer-Encoding: xchunked'], true],
  'te-space': () => [['Transfer-Encoding : chunked'], true],
  'te-vt': () => [['Transfer-Encoding:\x0bchunked'], true],
  'te-trailing-tab': () => [['Transfer-Encoding: chunked\t'], true],
  'te+cl': (n) => [['Transfer-Encoding: chunked', `Content-Length: ${n}`], true],
};

/** The request line, written in one of the ways readers disagree about. */
function requestLine(r: Req): string {
  const m = r.line === 'lower' ? r.method.toLowerCase() : r.method;
  const sp = r.line === 'tab' ? '\t' : r.line === 'double' ? '  ' : ' ';
  const tail = r.line === 'trailing' ? ' x' : '';
  return r.version ? `${m}${sp}${r.target}${sp}${r.version}${tail}` : `${m}${sp}${r.target}`;
}

function compose(r: Req): string {
  const e = r.eol;
  const lines: string[] = [requestLine(r)];
  if (r.host) lines.push(r.host);
  if (r.connection) lines.push(r.connection);
  if (r.extra) lines.push(r.extra);
  const n = r.body.length;
  const [fields, chunkedBody] = FRAMINGS[r.framing]!(n);
  lines.push(...fields);
  const body = r.framing === 'none' ? '' : chunkedBody ? chunked(r.body, r.chunk) : r.body;
  return lines.join(e) + e + e + body;
}

const input = fc.record({
  requests: fc.array(request, { minLength: 1, maxLength: 3 }),
  cuts: fc.array(fc.nat(600), { maxLength: 5 }),
});

/** How many generated requests fall in each family (a request can be in several). */
function familyTally(samples: { requests: Req[] }[]): string {
  const n = new Map<string, number>();
  const add = (k: string) => n.set(k, (n.get(k) ?? 0) + 1);
  for (const s of samples) {
    if (s.requests.length > 1) add('pipelined streams');
    for (const r of s.requests) {
      add(`framing ${r.framing}`);
      if (FRAMINGS[r.framing]!(0)[1]) add(`chunk ${r.chunk}`);
      if (r.connection) add('Connection field');
      if (r.line !== 'plain') add(`request line ${r.line}`);
      if (r.eol === '\n') add('bare LF head');
      if (!r.version?.startsWith('HTTP/1.1')) add(`version ${r.version || '0.9'}`);
      if (/force=%/.test(r.target)) add('query boolean with white space');
      if (r.extra) add('extra field');
    }
  }
  return [...n]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k} ${v}`)
    .join('; ');
}

/** Sends `bytes` in pieces; resolves when the gateway closed, or after a quiet spell. */
function send(port: number, bytes: Buffer, cuts: number[]): Promise<void> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    let quiet: NodeJS.Timeout | undefined;
    const done = () => {
      clearTimeout(quiet);
      s.destroy();
      resolve();
    };
    const arm = () => {
      clearTimeout(quiet);
      quiet = setTimeout(done, 400);
    };
    s.on('error', done);
    s.on('close', done);
    s.on('data', arm);
    s.on('connect', async () => {
      const bounds = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
      let pos = 0;
      for (const b of [...bounds, bytes.length]) {
        if (b <= pos || s.destroyed) continue;
        s.write(bytes.subarray(pos, b));
        pos = b;
        await new Promise((r) => setImmediate(r));
      }
      arm();
    });
  });
}

const openFds = () => readdirSync('/proc/self/fd').length;

test(
  `differential: what Go's net/http parsed is exactly what the gateway admitted (${RUNS} generated streams)`,
  { timeout: 420_000 },
  async (t) => {
    if (!requirePeer(t, 'go', 'the oracle is a Go net/http server')) return;
    const dir = mkdtempSync(join(tmpdir(), 'gwd-'));
    const sock = join(dir, 'oracle.sock');
    const oracle = spawn(buildGoPeer('oracle'), ['-unix', sock], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const parsed: { m: string; uri: string; len: number }[] = [];
    createInterface({ input: oracle.stdout! }).on('line', (l) => parsed.push(JSON.parse(l)));
    await new Promise<void>((resolve, reject) => {
      oracle.stderr!.once('data', () => resolve());
      oracle.once('exit', (c) => reject(new Error(`oracle exited ${c}`)));
    });
    const gw = createGateway({
      listen: [{ kind: 'tcp', host: '127.0.0.1', port: 0 }],
      upstream: `unix://${sock}`,
      policy: {
        rules: [
          ...ALLOW.map((r) => parseRule(r, 'allow', 'diff')),
          ...DENY.map((r) => parseRule(r, 'deny', 'diff')),
        ],
      },
      timeouts: { head: 1000, body: 500, queue: 2000 },
    });
    const admitted: GatewayRequestEvent[] = [];
    gw.on('request', (e) => {
      if (e.decision === 'allow') admitted.push(e);
    });
    const [addr] = await gw.listen();
    const fds0 = openFds();
    const seed = Number(process.env.HIJACK_FC_SEED) || Date.now() % 2 ** 31;
    const samples = fc.sample(input, { numRuns: RUNS, seed });
    const inputs = samples.map((s) => Buffer.from(s.requests.map(compose).join(''), 'latin1'));
    const tally = familyTally(samples);
    const started = Date.now();
    // Eight clients at a time: the comparison is over the whole run, not per input.
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < inputs.length && Date.now() - started < 300_000) {
          const i = next++;
          await send(addr!.port!, inputs[i]!, samples[i]!.cuts);
        }
      }),
    );
    const sent = next;
    await gw.close({ timeout: 2000, grace: 200 });
    await new Promise((r) => setTimeout(r, 300));
    oracle.kill();
    rmSync(dir, { recursive: true, force: true });

    // Every parsed request must match one admitted request (method, target, body length).
    const pool = new Map<string, number[]>();
    for (const e of admitted) {
      const k = `${e.method} ${e.target}`;
      pool.set(k, [...(pool.get(k) ?? []), e.bytes.in]);
    }
    const extra: string[] = [];
    for (const p of parsed) {
      const k = `${p.m} ${p.uri}`;
      const lens = pool.get(k) ?? [];
      const at = p.len < 0 ? (lens.length ? 0 : -1) : lens.indexOf(p.len);
      if (at < 0) extra.push(`${k} (body ${p.len}; admitted with bodies ${JSON.stringify(lens)})`);
      else lens.splice(at, 1);
    }
    t.diagnostic(
      `seed ${seed}: ${sent} streams sent in ${((Date.now() - started) / 1000).toFixed(1)} s; ${admitted.length} requests admitted, ${parsed.length} parsed by Go`,
    );
    t.diagnostic(`requests generated per family: ${tally}`);
    if (extra.length) {
      const shown = extra.slice(0, 5).map((x) => {
        const uri = x.split(' ')[1]!;
        const culprit = inputs.find((b) =>
          b.toString('latin1').includes(`${x.split(' ')[0]} ${uri} `),
        );
        return `${x}; e.g. input ${JSON.stringify(culprit?.toString('latin1'))}`;
      });
      assert.fail(
        `seed ${seed}: Go parsed ${extra.length} request(s) the gateway never admitted:\n${shown.join('\n')}`,
      );
    }
    assert.equal(sent, RUNS, `only ${sent} of ${RUNS} streams ran within the time bound`);
    assert.ok(openFds() <= fds0 + 8, `descriptors back to baseline (${fds0} → ${openFds()})`);
  },
);
