/**
 * enableHijack proven differentially against plain node:http. fast-check composes request
 * byte streams from the framing families where a gate and llhttp could disagree (chunk
 * sizes, extensions, trailers, Transfer-Encoding and Content-Length forms, CL+TE, head
 * oddities, HTTP/1.0 and `Connection: close`, Expect, bodies on GET/HEAD), cuts each at
 * random write boundaries and sends the same writes to three servers: plain node:http,
 * enableHijack, and enableHijack with trackConnections. Handlers read the body, never read
 * it, read half of it, or answer first and read afterwards.
 *
 * Invariant: the gated servers start the same handlers in the same order as plain Node,
 * give every handler that got a whole body under plain Node the same bytes, complete the
 * same streams, and answer with the same statuses. Allowed and documented: plain Node parses
 * ahead, so where a later request of a stream is malformed it answers only 400, while a
 * gated server (one request at a time, as Go) first answers the requests before it; and
 * after a response that closes the connection plain Node has already started the handlers
 * of the requests behind it, a gated server starts none of them (Go).
 *
 * Then takeover properties for each gated server: whatever the handler read of a body
 * (nothing, part, all), and after an await, hijack() hands over exactly the rest of the
 * stream, a chunked rest as valid chunked encoding. Seed printed; HIJACK_FC_SEED replays it,
 * HIJACK_SERVER_DIFF_RUNS sets the number of streams (default 5,000).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import fc from 'fast-check';
import { enableHijack, hijack, trackConnections } from '../../src/index.js';
import { dechunk } from './util.js';

const RUNS = Number(process.env.HIJACK_SERVER_DIFF_RUNS) || 5000;
const TAKEOVER_RUNS = Math.max(100, Math.round(RUNS / 25));
const PARALLEL = 8;
/** A stream whose servers have not closed within this long counts as "hung" (both must agree). */
const STREAM_TIMEOUT_MS = 1500;

type Mode = 'read' | 'never' | 'half' | 'first';

interface Req {
  method: string;
  path: string;
  version: '1.1' | '1.0';
  framing: string;
  chunk: string;
  body: string;
  extra: string;
  eol: '\r\n' | '\n';
}

const mostly = <T>(usual: T, ...odd: T[]) =>
  fc.oneof(
    { arbitrary: fc.constant(usual), weight: 3 },
    { arbitrary: fc.constantFrom(...odd), weight: 1 },
  );

const body = fc.oneof(
  { arbitrary: fc.constant(''), weight: 1 },
  { arbitrary: fc.stringMatching(/^[a-z0-9]{1,24}$/), weight: 4 },
  { arbitrary: fc.integer({ min: 100, max: 3000 }).map((n) => 'L'.repeat(n)), weight: 1 },
);

/** Framing families: header lines for a body of `n` bytes, and whether it is sent chunked. */
const FRAMINGS: Record<string, (n: number) => [string[], boolean]> = {
  none: () => [[], false],
  cl: (n) => [[`Content-Length: ${n}`], false],
  'cl-zeros': (n) => [[`Content-Length: ${'0'.repeat(16)}${n}`], false],
  'cl-plus': (n) => [[`Content-Length: +${n}`], false],
  'cl-ws': (n) => [[`Content-Length:   ${n}  `], false],
  'cl-list': (n) => [[`Content-Length: ${n}, ${n}`], false],
  'cl-dup': (n) => [[`Content-Length: ${n}`, `Content-Length: ${n}`], false],
  'cl-space-name': (n) => [[`Content-Length : ${n}`], false],
  te: () => [['Transfer-Encoding: chunked'], true],
  'te-case': () => [['Transfer-Encoding: ChUnKeD'], true],
  'te-list': () => [['Transfer-Encoding: gzip, chunked'], true],
  'te-identity': () => [['Transfer-Encoding: identity'], true],
  'te-x': () => [['Transfer-Encoding: xchunked'], true],
  'te-empty': () => [['Transfer-Encoding: '], true],
  'te-two': () => [['Transfer-Encoding: chunked', 'Transfer-Encoding: chunked'], true],
  'te+cl': (n) => [['Transfer-Encoding: chunked', `Content-Length: ${n}`], true],
};

/** Chunk styles: how the (one) data chunk and the last chunk are written. */
function chunked(data: string, style: string): string {
  const hex = data.length.toString(16);
  const size =
    (
      {
        zeros: '0'.repeat(17) + hex,
        upper: hex.toUpperCase(),
        ws: hex + ' ',
        tab: hex + '\t',
        hex0x: '0x' + hex,
        plus: '+' + hex,
        overflow: 'f'.repeat(20),
        nonhex: hex + 'g',
        ext: hex + ';a=b',
        'ext-ws': hex + ' ; a = b',
        'ext-bad': hex + ';a b',
        'ext-ctl': hex + ';a=\x01',
        'ext-quoted': hex + ';a="b c"',
        'ext-high': hex + ';a=\xff',
      } as Record<string, string>
    )[style] ?? hex;
  const eol = style === 'bare-lf' ? '\n' : style === 'bare-cr' ? '\r' : '\r\n';
  const dataEnd = style === 'data-lf' ? '\n' : '\r\n';
  const trailer =
    style === 'trailer'
      ? 'X-T: 1\r\n\r\n'
      : style === 'trailer-lf'
        ? 'X-T: 1\n\n'
        : style === 'trailer-fold'
          ? 'X-T: 1\r\n 2\r\n\r\n'
          : '\r\n';
  const first = data ? `${size}${eol}${data}${dataEnd}` : '';
  return `${first}0${eol}${trailer}`;
}

const request: fc.Arbitrary<Req> = fc.record({
  method: mostly('POST', 'GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS'),
  path: fc.constantFrom('/a', '/b', '/c?x=1', '/d/e'),
  version: mostly('1.1' as const, '1.0' as const),
  framing: fc.oneof(
    { arbitrary: fc.constantFrom('cl', 'te', 'none'), weight: 3 },
    { arbitrary: fc.constantFrom(...Object.keys(FRAMINGS)), weight: 2 },
  ),
  chunk: mostly(
    'plain',
    'zeros',
    'upper',
    'ws',
    'tab',
    'hex0x',
    'plus',
    'overflow',
    'nonhex',
    'ext',
    'ext-ws',
    'ext-bad',
    'ext-ctl',
    'ext-quoted',
    'ext-high',
    'bare-lf',
    'bare-cr',
    'data-lf',
    'trailer',
    'trailer-lf',
    'trailer-fold',
  ),
  body,
  extra: mostly(
    '',
    'Connection: close',
    'Connection: keep-alive',
    'Expect: 100-continue',
    'X-Fold: a\r\n b',
    'X-Space : 1',
    'X-Empty:',
  ),
  eol: mostly('\r\n' as const, '\n' as const),
});

function compose(r: Req): string {
  const e = r.eol;
  const lines = [`${r.method} ${r.path} HTTP/${r.version}`, 'Host: x'];
  if (r.extra) lines.push(r.extra);
  const [fields, isChunked] = FRAMINGS[r.framing]!(r.body.length);
  lines.push(...fields);
  const payload = r.framing === 'none' ? '' : isChunked ? chunked(r.body, r.chunk) : r.body;
  return lines.join(e) + e + e + payload;
}

/** What a server saw of one stream: handler starts, whole bodies by request index. */
interface Seen {
  starts: string[];
  bodies: Map<number, string>;
  /** The closing `/end` request was answered: no error cut the stream short. */
  endAnswered: boolean;
  /** How this stream's handlers treat bodies. */
  mode: Mode;
}

const digest = (b: Buffer) => createHash('sha1').update(b).digest('hex').slice(0, 12);

/** A server of one kind whose handlers follow the mode named in the request's stream. */
async function makeServer(kind: 'plain' | 'gate' | 'gate+tracker') {
  const byPort = new Map<number, Seen>();
  const server = http.createServer((req, res) => {
    const seen = byPort.get(req.socket.remotePort!);
    if (!seen) {
      res.end();
      return;
    }
    const mode = seen.mode;
    const i = seen.starts.length;
    seen.starts.push(`${req.method} ${req.url}`);
    if (req.url === '/end') res.on('finish', () => (seen.endAnswered = true));
    const answer = () => {
      if (!res.headersSent && !res.writableEnded) res.end(`ok ${i}`);
    };
    req.on('error', () => {});
    // Bodies are compared where the handler reads all of it: before ('read') or after
    // ('first') answering.
    const readAll = () => {
      const parts: Buffer[] = [];
      req.on('data', (c: Buffer) => parts.push(c));
      req.on('end', () => {
        seen.bodies.set(i, digest(Buffer.concat(parts)));
        if (mode === 'read') answer();
      });
    };
    if (mode === 'read') readAll();
    else if (mode === 'first') {
      answer();
      readAll();
    } else if (mode === 'never') {
      answer();
    } else {
      req.once('data', () => {
        req.pause();
        answer();
      });
      req.once('end', answer);
    }
  });
  if (kind !== 'plain') enableHijack(server);
  if (kind === 'gate+tracker') trackConnections(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, byPort, port: (server.address() as net.AddressInfo).port };
}

/** Sends `writes` on a new connection; resolves with the server's view and the statuses. */
function run(
  target: Awaited<ReturnType<typeof makeServer>>,
  writes: Buffer[],
  mode: Mode,
): Promise<{ seen: Seen; statuses: string[]; hung: boolean; reset: boolean }> {
  return new Promise((resolve) => {
    const sock = net.connect(target.port, '127.0.0.1');
    const seen: Seen = { starts: [], bodies: new Map(), endAnswered: false, mode };
    const parts: Buffer[] = [];
    let hung = false;
    // A server that closes while the client still writes makes the kernel send RST, and an
    // RST may discard answers the client had not read yet: a race of timing, not of parsing.
    let reset = false;
    sock.setNoDelay(true);
    sock.on('connect', () => {
      // Keyed by the client's port on this server only: one local port can serve
      // connections to the three servers at once.
      target.byPort.set(sock.localPort!, seen);
      let i = 0;
      const next = () => {
        if (i >= writes.length || sock.destroyed) return;
        sock.write(writes[i++]!);
        if (i < writes.length) setTimeout(next, 1);
      };
      next();
    });
    sock.on('data', (c: Buffer) => parts.push(c));
    sock.on('error', () => (reset = true));
    const timer = setTimeout(() => {
      hung = true;
      sock.destroy();
    }, STREAM_TIMEOUT_MS);
    sock.on('close', () => {
      clearTimeout(timer);
      const port = sock.localPort;
      setTimeout(() => {
        // A new connection may already have this port: remove only our own entry.
        if (port && target.byPort.get(port) === seen) target.byPort.delete(port);
        const text = Buffer.concat(parts).toString('latin1');
        const statuses = [...text.matchAll(/HTTP\/1\.[01] (\d{3})/g)].map((m) => m[1]!);
        resolve({ seen, statuses, hung, reset });
      }, 5);
    });
  });
}

const stream = fc.record({
  requests: fc.array(request, { minLength: 1, maxLength: 3 }),
  mode: fc.constantFrom<Mode>('read', 'never', 'half', 'first'),
  cuts: fc.array(fc.nat(4000), { maxLength: 5 }),
});

/** The bytes of a stream: its requests, then a `Connection: close` request that ends it. */
function writesOf(s: { requests: Req[]; cuts: number[] }): Buffer[] {
  const all = Buffer.from(
    s.requests.map(compose).join('') + 'GET /end HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    'latin1',
  );
  const cuts = [...new Set(s.cuts.map((c) => c % all.length))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let from = 0;
  for (const c of [...cuts, all.length]) {
    if (c > from) out.push(all.subarray(from, c));
    from = c;
  }
  return out;
}

const non2xx = (s: string[]) => s.filter((x) => !x.startsWith('2') && x !== '100');
const ok2xx = (s: string[]) => s.filter((x) => x.startsWith('2')).length;

/**
 * The documented difference: where a stream is cut short by an error (neither server
 * answered its closing request), plain Node, which parses ahead, may answer only 400 (or
 * nothing more, when a response had begun), where a gated server first answers the
 * requests before the error (and then 400, or closes after an HTTP/1.0 answer as Go does).
 */
function errorTiming(
  plain: { statuses: string[]; seen: Seen },
  gated: { statuses: string[]; seen: Seen },
): boolean {
  if (plain.seen.endAnswered || gated.seen.endAnswered) return false;
  const one400 = (s: string[]) => s.length === 0 || (s.length === 1 && s[0] === '400');
  return (
    one400(non2xx(plain.statuses)) &&
    one400(non2xx(gated.statuses)) &&
    ok2xx(gated.statuses) >= ok2xx(plain.statuses)
  );
}

test(
  `enableHijack reads ${RUNS} generated streams as plain node:http does`,
  { timeout: 900_000 },
  async (t) => {
    const seed = Number(process.env.HIJACK_FC_SEED) || Date.now() % 2 ** 31;
    const samples = fc.sample(stream, { numRuns: RUNS, seed });
    const servers = await Promise.all([
      makeServer('plain'),
      makeServer('gate'),
      makeServer('gate+tracker'),
    ]);
    const failures: string[] = [];
    const started = Date.now();
    let allowed = 0;
    let hung = 0;
    let resets = 0;
    try {
      let next = 0;
      const worker = async () => {
        while (next < samples.length && failures.length < 5) {
          const s = samples[next++]!;
          const writes = writesOf(s);
          const [plain, ...gated] = await Promise.all(servers.map((sv) => run(sv, writes, s.mode)));
          if (plain!.hung) hung++;
          for (const [k, g] of gated.entries()) {
            const name = k === 0 ? 'enableHijack' : 'enableHijack+trackConnections';
            const why: string[] = [];
            if (g.hung !== plain!.hung) why.push(`hung: plain ${plain!.hung}, ${name} ${g.hung}`);
            // One request at a time: a gated server starts the handlers plain Node starts, in
            // order, up to where the stream is cut short (an error, or a last response: plain
            // Node parses ahead and starts handlers whose answers it never sends).
            const prefix = plain!.seen.starts.slice(0, g.seen.starts.length);
            if (g.seen.starts.join('|') !== prefix.join('|')) {
              why.push(`handlers: plain [${plain!.seen.starts}] ${name} [${g.seen.starts}]`);
            }
            // A body read after answering, on a stream cut short, is a race in plain Node too
            // (the connection closes after a last response, however much of the body is in).
            const racy = s.mode === 'first' && !plain!.seen.endAnswered;
            for (const [i, b] of racy ? [] : plain!.seen.bodies) {
              if (i < g.seen.starts.length && g.seen.bodies.get(i) !== b) {
                why.push(`body ${i}: plain ${b}, ${name} ${g.seen.bodies.get(i)}`);
              }
            }
            const raced = g.reset || plain!.reset;
            if (raced) resets++;
            if (!raced && g.seen.endAnswered !== plain!.seen.endAnswered) {
              why.push(
                `stream completed: plain ${plain!.seen.endAnswered}, ${name} ${g.seen.endAnswered}`,
              );
            }
            if (!raced && g.statuses.join() !== plain!.statuses.join()) {
              if (errorTiming(plain!, g)) allowed++;
              else why.push(`statuses: plain ${plain!.statuses}, ${name} ${g.statuses}`);
            }
            if (why.length) {
              failures.push(
                `${why.join('; ')}\n  mode ${s.mode}, writes ${JSON.stringify(writes.map((w) => w.toString('latin1')))}`,
              );
            }
          }
        }
      };
      await Promise.all(Array.from({ length: PARALLEL }, worker));
    } finally {
      for (const s of servers) {
        s.server.closeAllConnections();
        s.server.close();
      }
    }
    t.diagnostic(
      `seed ${seed}: ${RUNS} streams × 3 servers in ${((Date.now() - started) / 1000).toFixed(1)} s; ` +
        `${allowed} with the allowed 2xx-before-400 difference; ${hung} hung on every server alike; ` +
        `${resets} comparisons with a reset (answers compared for handlers and bodies only)`,
    );
    assert.deepEqual(failures, [], `seed ${seed} (HIJACK_FC_SEED=${seed} replays it)`);
  },
);

/** A takeover stream: ordinary requests, then one taken over with a body, then raw bytes. */
const takeover = fc.record({
  before: fc.array(fc.record({ body: fc.stringMatching(/^[a-z]{0,12}$/), chunked: fc.boolean() }), {
    maxLength: 2,
  }),
  kind: fc.constantFrom('post', 'upgrade', 'connect'),
  chunked: fc.boolean(),
  chunks: fc.array(fc.stringMatching(/^[a-zA-Z0-9]{1,300}$/), { minLength: 0, maxLength: 4 }),
  read: fc.constantFrom('none', 'some', 'all'),
  wait: fc.boolean(),
  rest: fc.constantFrom('', 'TAIL', 'GET /x HTTP/1.1\r\nHost: x\r\n\r\n', '\r\n0\r\n\r\n'),
  cuts: fc.array(fc.nat(3000), { maxLength: 6 }),
});

type Takeover = typeof takeover extends fc.Arbitrary<infer T> ? T : never;

function takeoverBytes(s: Takeover): { wire: string; body: string; pre: number } {
  let wire = '';
  for (const b of s.before) {
    wire += b.chunked
      ? `POST /before HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n${chunked(b.body, 'plain')}`
      : `POST /before HTTP/1.1\r\nHost: x\r\nContent-Length: ${b.body.length}\r\n\r\n${b.body}`;
  }
  const pre = wire.length;
  const body = s.kind === 'connect' ? '' : s.chunks.join('');
  const head =
    s.kind === 'connect'
      ? 'CONNECT db:5432 HTTP/1.1\r\nHost: db:5432\r\n'
      : s.kind === 'upgrade'
        ? 'POST /take HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n'
        : 'POST /take HTTP/1.1\r\nHost: x\r\n';
  if (s.kind === 'connect') wire += head + '\r\n';
  else if (s.chunked) {
    wire +=
      head +
      'Transfer-Encoding: chunked\r\n\r\n' +
      s.chunks.map((c) => `${c.length.toString(16)}\r\n${c}\r\n`).join('') +
      '0\r\n\r\n';
  } else wire += head + `Content-Length: ${body.length}\r\n\r\n${body}`;
  return { wire: wire + s.rest, body, pre };
}

// gate+filter: enableHijack({ takeover }) picking /take only. The /before requests it leaves
// out are plain Node's, so the taken request is sent once their answers are in (one sent
// before an earlier answer ended is left out too, by design).
for (const kind of ['gate', 'gate+tracker', 'gate+filter'] as const) {
  test(
    `takeovers (${kind}): hijack() hands over exactly what the handler did not read`,
    { timeout: 300_000 },
    async (t) => {
      const seed = Number(process.env.HIJACK_FC_SEED) || Date.now() % 2 ** 31;
      let current: { s: Takeover; done: (r: { consumed: string; taken: Buffer }) => void } | null =
        null;
      const server = http.createServer((req, res) => {
        if (req.url === '/before') {
          req.resume();
          req.on('end', () => res.end('b'));
          return;
        }
        const cur = current!;
        let consumed = '';
        void (async () => {
          if (cur.s.read === 'some') {
            const c = await new Promise<Buffer | null>((r) => {
              req.once('data', (d: Buffer) => {
                req.pause();
                r(d);
              });
              req.once('end', () => r(null));
            });
            if (c) consumed = c.toString('latin1');
          } else if (cur.s.read === 'all') {
            req.on('data', (d: Buffer) => (consumed += d.toString('latin1')));
            await new Promise((r) => req.once('end', r));
          }
          if (cur.s.wait) await new Promise((r) => setTimeout(r, 5));
          const { socket, head } = await hijack(req, res);
          const parts = [head];
          socket.on('data', (d: Buffer) => parts.push(d));
          socket.on('end', () => {
            socket.end();
            cur.done({ consumed, taken: Buffer.concat(parts) });
          });
          socket.write('TAKEN\n');
        })();
      });
      if (kind === 'gate+filter') enableHijack(server, { takeover: (req) => req.url === '/take' });
      else enableHijack(server);
      if (kind === 'gate+tracker') trackConnections(server);
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const port = (server.address() as net.AddressInfo).port;
      try {
        await fc.assert(
          fc.asyncProperty(takeover, async (s) => {
            const { wire, body, pre } = takeoverBytes(s);
            const got = new Promise<{ consumed: string; taken: Buffer }>((done) => {
              current = { s, done };
            });
            const sock = net.connect(port, '127.0.0.1');
            sock.setNoDelay(true);
            sock.on('error', () => {});
            let received = '';
            const ready = new Promise<void>((r) =>
              sock.on('data', (d: Buffer) => {
                received += d.toString('latin1');
                if (received.includes('TAKEN\n')) r();
              }),
            );
            await new Promise<void>((r) => sock.once('connect', r));
            let all = Buffer.from(wire, 'latin1');
            if (kind === 'gate+filter' && pre > 0) {
              sock.write(all.subarray(0, pre));
              const answers = new Promise<void>((r, reject) => {
                let tries = 0;
                const check = () => {
                  if ((received.match(/HTTP\/1\.1 200/g) ?? []).length === s.before.length) r();
                  else if (++tries > 2500) reject(new Error('no answers to the /before requests'));
                  else setTimeout(check, 2);
                };
                check();
              });
              await answers;
              all = all.subarray(pre);
            }
            const cuts = [...new Set(s.cuts.map((c) => c % all.length))].sort((a, b) => a - b);
            let from = 0;
            for (const c of [...cuts, all.length]) {
              if (c > from) sock.write(all.subarray(from, c));
              from = c;
              await new Promise((r) => setImmediate(r));
            }
            await ready;
            sock.end();
            const { consumed, taken } = await got;
            sock.destroy();
            assert.ok(body.startsWith(consumed), 'the handler read the start of the body');
            const left = body.slice(consumed.length);
            const text = taken.toString('latin1');
            if (s.kind === 'connect' || !s.chunked) {
              assert.equal(text, left + s.rest);
            } else if (text !== s.rest || left !== '') {
              // A chunked rest is valid chunked encoding of the unread data, then what follows.
              const { data, after } = dechunk(taken);
              assert.equal(data.toString('latin1'), left);
              assert.equal(after.toString('latin1'), s.rest);
            }
          }),
          { numRuns: TAKEOVER_RUNS, seed },
        );
      } finally {
        server.closeAllConnections();
        server.close();
      }
      t.diagnostic(`seed ${seed}: ${TAKEOVER_RUNS} takeover streams`);
    },
  );
}
