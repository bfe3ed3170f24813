/**
 * The demo engine over raw sockets: the Docker API's hijack heads (101 and legacy 200),
 * stdcopy framing, bytes sent right behind the request, half-close, version negotiation,
 * bad input, and shutdown with open streams.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { isHijackError } from '../../src/errors.js';
import {
  builtinCommands,
  createEngine,
  ENGINE_STOPPING,
  formatDate,
  type EngineOptions,
} from '../../src/demo/engine/index.js';
import { demuxStdcopy } from '../../src/stream/index.js';

async function startEngine(t: TestContext, opts: EngineOptions = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'hj-en-'));
  const sock = join(dir, 'engine.sock');
  const engine = createEngine({ socketPath: sock, ...opts });
  await engine.listen();
  t.after(async () => {
    await engine.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { engine, sock };
}

interface Answer {
  status: number;
  head: string;
  headers: Record<string, string>;
  socket: Socket;
  /** Everything after the head until the server closed. */
  rest: () => Promise<Buffer>;
}

/** Writes `raw` in one write, reads the response head; rest() reads the remainder to EOF. */
function raw(sock: string, data: string | Buffer, endAfter = false): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const socket = connect(sock);
    const timer = setTimeout(() => socket.destroy(new Error('no answer in 10 s')), 10_000);
    let buf = Buffer.alloc(0);
    const after: Buffer[] = [];
    let done: Promise<Buffer> | null = null;
    socket.once('connect', () => {
      socket.write(data);
      if (endAfter) socket.end();
    });
    socket.on('error', reject);
    const onData = (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      const i = buf.indexOf('\r\n\r\n');
      if (i < 0) return;
      socket.off('data', onData);
      const head = buf.subarray(0, i).toString('latin1');
      after.push(buf.subarray(i + 4));
      done = new Promise((res) => {
        socket.on('data', (d: Buffer) => after.push(d));
        socket.once('close', () => {
          clearTimeout(timer);
          res(Buffer.concat(after));
        });
      });
      const [statusLine, ...lines] = head.split('\r\n');
      const headers: Record<string, string> = {};
      for (const l of lines) {
        const k = l.slice(0, l.indexOf(':')).toLowerCase();
        headers[k] = l.slice(l.indexOf(':') + 1).trim();
      }
      resolve({
        status: Number(statusLine!.split(' ')[1]),
        head,
        headers,
        socket,
        rest: () => done!,
      });
    };
    socket.on('data', onData);
  });
}

function post(path: string, body: unknown, extra = ''): string {
  const text = body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body);
  return (
    `POST ${path} HTTP/1.1\r\nHost: api.moby.localhost\r\nContent-Type: application/json\r\n` +
    `Content-Length: ${Buffer.byteLength(text)}\r\n${extra}\r\n${text}`
  );
}
const UPGRADE = 'Connection: Upgrade\r\nUpgrade: tcp\r\n';

async function json(sock: string, req: string): Promise<{ status: number; body: unknown }> {
  const a = await raw(sock, req.replace('HTTP/1.1\r\n', 'HTTP/1.1\r\nConnection: close\r\n'));
  const rest = (await a.rest()).toString();
  return { status: a.status, body: rest ? JSON.parse(rest) : null };
}

async function createExec(sock: string, cmd: string[], extra: Record<string, unknown> = {}) {
  const r = await json(
    sock,
    post('/v1.43/containers/c1/exec', {
      AttachStdin: true,
      AttachStdout: true,
      AttachStderr: true,
      Cmd: cmd,
      ...extra,
    }),
  );
  assert.equal(r.status, 201);
  return (r.body as { Id: string }).Id;
}

async function collect(r: NodeJS.ReadableStream): Promise<string> {
  const parts: Buffer[] = [];
  for await (const c of r) parts.push(c as Buffer);
  return Buffer.concat(parts).toString();
}

const T = { timeout: 20_000 };

test(
  'ping announces the API version; /version; unknown paths answer 501 naming the demo',
  T,
  async (t) => {
    const { sock } = await startEngine(t);
    const a = await raw(sock, 'HEAD /_ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.equal(a.status, 200);
    assert.equal(a.headers['api-version'], '1.43');
    assert.equal(a.headers['ostype'], 'linux');
    const v = await json(sock, 'GET /v1.41/version HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.equal((v.body as { ApiVersion: string }).ApiVersion, '1.43');
    const nf = await json(sock, 'GET /v1.41/nothing/here HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.equal(nf.status, 501);
    assert.match(
      (nf.body as { message: string }).message,
      /^the demo engine has no \/nothing endpoint/,
    );
    const nc = await json(sock, 'POST /v1.41/containers/c1/pause HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.equal(nc.status, 501);
    assert.match(
      (nc.body as { message: string }).message,
      /^the demo engine has no POST \/containers\/\{id\}\/pause endpoint/,
    );
  },
);

test("API versions outside min..max are refused with dockerd's message", T, async (t) => {
  const { sock } = await startEngine(t);
  const hi = await json(sock, 'GET /v1.99/version HTTP/1.1\r\nHost: x\r\n\r\n');
  assert.equal(hi.status, 400);
  assert.match(
    (hi.body as { message: string }).message,
    /1\.99 is too new\. Maximum supported API version is 1\.43/,
  );
  const lo = await json(sock, 'GET /v1.12/version HTTP/1.1\r\nHost: x\r\n\r\n');
  assert.equal(lo.status, 400);
  assert.match((lo.body as { message: string }).message, /too old/);
});

test(
  'exec start with Upgrade: 101 head as dockerd writes it, stdin sent behind the request, stdcopy out',
  T,
  async (t) => {
    const { sock, engine } = await startEngine(t);
    const id = await createExec(sock, ['cat']);
    // Body and stdin in the same write as the head: nothing may be lost.
    const a = await raw(
      sock,
      post(`/v1.43/exec/${id}/start`, { Detach: false, Tty: false }, UPGRADE) + 'early stdin\n',
    );
    assert.equal(a.status, 101);
    assert.match(
      a.head,
      /^HTTP\/1\.1 101 UPGRADED\r\nContent-Type: application\/vnd\.docker\.multiplexed-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nApi-Version: 1\.43\r\n/,
    );
    a.socket.end('more stdin\n'); // half-close: cat ends, frames still arrive
    const body = await a.rest();
    const frames = new PassThrough();
    frames.end(body);
    const { stdout, stderr } = demuxStdcopy(frames);
    const [out, err] = await Promise.all([collect(stdout), collect(stderr)]);
    assert.equal(out, 'early stdin\nmore stdin\n');
    assert.equal(err, '');
    assert.equal(body[0], 1, 'first frame is stdout');
    const ins = await json(sock, `GET /v1.43/exec/${id}/json HTTP/1.1\r\nHost: x\r\n\r\n`);
    assert.equal((ins.body as { ExitCode: number }).ExitCode, 0);
    assert.equal(engine.openStreams, 0);
  },
);

test(
  'exec start without Upgrade: legacy 200 raw-stream, API 1.41 media type, stream then close',
  T,
  async (t) => {
    const { sock } = await startEngine(t);
    const id = await createExec(sock, ['fail', '4', 'bad'], { AttachStdin: false });
    const a = await raw(sock, post(`/v1.41/exec/${id}/start`, { Detach: false, Tty: false }));
    assert.equal(a.status, 200);
    assert.equal(a.headers['content-type'], 'application/vnd.docker.raw-stream');
    const body = await a.rest();
    const frames = new PassThrough();
    frames.end(body);
    const { stdout, stderr } = demuxStdcopy(frames);
    assert.equal(await collect(stdout), 'fail: about to exit with status 4\n');
    assert.equal(await collect(stderr), 'fail: bad\n');
    const ins = await json(sock, `GET /exec/${id}/json HTTP/1.1\r\nHost: x\r\n\r\n`);
    assert.equal((ins.body as { ExitCode: number }).ExitCode, 4);
  },
);

test(
  'TTY exec: unframed bytes with CR NL (as a terminal), stderr merged, raw-stream media type',
  T,
  async (t) => {
    const { sock } = await startEngine(t);
    const id = await createExec(sock, ['fail', '1', 'x'], { Tty: true, AttachStdin: false });
    const a = await raw(
      sock,
      post(`/v1.43/exec/${id}/start`, { Detach: false, Tty: true }, UPGRADE),
    );
    assert.equal(a.headers['content-type'], 'application/vnd.docker.raw-stream');
    // A TTY's output gets CR NL for NL (ONLCR), as from dockerd.
    assert.equal((await a.rest()).toString(), 'fail: about to exit with status 1\r\nfail: x\r\n');
  },
);

test(
  'attach: legacy 200 and Upgrade modes, logs replay, stdin once ends the main process',
  T,
  async (t) => {
    const { sock, engine } = await startEngine(t);
    const up = await raw(
      sock,
      post('/v1.43/containers/c2/attach?stream=1&stdin=1&stdout=1&stderr=1', undefined, UPGRADE) +
        'typed early\n',
    );
    assert.equal(
      up.head,
      'HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.multiplexed-stream\r\nConnection: Upgrade\r\nUpgrade: tcp',
    );
    // A second, legacy, output-only attacher sees the same output.
    const watcher = await raw(
      sock,
      post('/v1.41/containers/c2/attach?stream=1&stdout=1', undefined),
    );
    assert.equal(watcher.status, 200);
    assert.equal(watcher.headers['content-type'], 'application/vnd.docker.raw-stream');
    up.socket.end('typed late\n');
    const [mine, theirs] = await Promise.all([up.rest(), watcher.rest()]);
    const demux = async (b: Buffer) => {
      const s = new PassThrough();
      s.end(b);
      return collect(demuxStdcopy(s).stdout);
    };
    assert.equal(await demux(mine), 'typed early\ntyped late\n');
    assert.match(await demux(theirs), /typed late\n$/);
    assert.equal(engine.container('c2')?.running, false);
    // logs=1 replays what the exited container printed.
    const logs = await raw(sock, post('/containers/c2/attach?logs=1&stdout=1', undefined, UPGRADE));
    assert.equal(await demux(await logs.rest()), 'typed early\ntyped late\n');
    // Restart it; the wait answers when it exits again.
    const st = await json(sock, post('/containers/c2/start', undefined));
    assert.equal(st.status, 204);
    assert.equal(engine.container('c2')?.running, true);
  },
);

test('wait answers when the container exits (kill)', T, async (t) => {
  const { sock } = await startEngine(t);
  const w = await raw(
    sock,
    post('/v1.43/containers/c1/wait?condition=not-running', undefined).replace(
      'HTTP/1.1\r\n',
      'HTTP/1.1\r\nConnection: close\r\n',
    ),
  );
  assert.equal(w.status, 200);
  const k = await json(sock, post('/containers/c1/kill', undefined));
  assert.equal(k.status, 204);
  const body = (await w.rest()).toString();
  assert.match(body, /"StatusCode":137/);
  const k2 = await json(sock, post('/containers/c1/kill', undefined));
  assert.equal(k2.status, 409);
});

test(
  'bad input: JSON, missing Cmd, unknown ids, second start, oversized body, bad condition',
  T,
  async (t) => {
    const { sock } = await startEngine(t);
    const msg = (r: { body: unknown }) => (r.body as { message: string }).message;
    const badJson = await json(sock, post('/containers/c1/exec', '{"Cmd": ['));
    assert.equal(badJson.status, 400);
    assert.match(msg(badJson), /invalid JSON/);
    const arr = await json(sock, post('/containers/c1/exec', '[1]'));
    assert.equal(arr.status, 400);
    const noCmd = await json(sock, post('/containers/c1/exec', { Cmd: [] }));
    assert.equal(noCmd.status, 400);
    assert.equal(msg(noCmd), 'No exec command specified');
    const badCmd = await json(sock, post('/containers/c1/exec', { Cmd: 'cat' }));
    assert.equal(badCmd.status, 400);
    const noC = await json(sock, post('/containers/nope/exec', { Cmd: ['cat'] }));
    assert.equal(noC.status, 404);
    assert.equal(msg(noC), 'No such container: nope');
    const noE = await json(sock, post('/exec/abc/start', {}, UPGRADE));
    assert.equal(noE.status, 404);
    assert.equal(msg(noE), 'No such exec instance: abc');
    const id = await createExec(sock, ['true'], { AttachStdin: false });
    const first = await raw(sock, post(`/exec/${id}/start`, {}, UPGRADE));
    await first.rest();
    const again = await json(sock, post(`/exec/${id}/start`, {}, UPGRADE));
    assert.equal(again.status, 409);
    const big = await json(sock, post('/containers/c1/exec', 'x'.repeat(1024 * 1024 + 10)));
    assert.equal(big.status, 413);
    const cond = await json(sock, post('/containers/c1/wait?condition=soon', undefined));
    assert.equal(cond.status, 400);
    const noStream = await json(sock, post('/containers/c1/attach', undefined));
    assert.equal(noStream.status, 400);
  },
);

test('close() ends open streams and kills running commands', T, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hj-en-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const sock = join(dir, 'e.sock');
  const engine = createEngine({ socketPath: sock });
  await engine.listen();
  const id = await createExec(sock, ['sleep', 'infinity'], { AttachStdin: false });
  const a = await raw(sock, post(`/exec/${id}/start`, {}, UPGRADE));
  assert.equal(a.status, 101);
  const tid = await createExec(sock, ['sleep', 'infinity'], { AttachStdin: false, Tty: true });
  const tty = await raw(sock, post(`/exec/${tid}/start`, { Tty: true }, UPGRADE));
  assert.equal(tty.status, 101);
  assert.equal(engine.openStreams, 2);
  await engine.close();
  // Each stream is told why it ends before it does: a stderr frame, or a TTY's own line.
  const rest = await a.rest(); // resolves only once the server closed the stream
  const line = Buffer.from(`${ENGINE_STOPPING}\n`);
  assert.deepEqual(rest.subarray(0, 8), Buffer.from([2, 0, 0, 0, 0, 0, 0, line.length]));
  assert.equal(rest.subarray(8, 8 + line.length).toString(), line.toString());
  assert.ok((await tty.rest()).toString().startsWith(`\r\n${ENGINE_STOPPING}\r\n`));
  assert.equal(engine.openStreams, 0);
  assert.equal(engine.server.listening, false);
});

test('custom commands and containers; a stale socket file is replaced', T, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hj-en-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const sock = join(dir, 'e.sock');
  const first = createEngine({ socketPath: sock });
  await first.listen();
  // A second engine on a live socket refuses with a clear error.
  await assert.rejects(
    createEngine({ socketPath: sock }).listen(),
    (e: unknown) =>
      isHijackError(e, 'ERR_INVALID_ARGUMENT') && /another engine/.test((e as Error).message),
  );
  await first.close();
  const engine = createEngine({
    socketPath: sock,
    containers: [{ name: 'web', cmd: ['sleep', 'infinity'] }],
    commands: {
      hello: async ({ args, stdout }) => {
        stdout.write(`hello ${args.join(' ')}\n`);
        return 0;
      },
    },
  });
  await engine.listen();
  t.after(() => engine.close());
  const r = await json(
    sock,
    post('/containers/web/exec', { Cmd: ['hello', 'there'], AttachStdout: true }),
  );
  const id = (r.body as { Id: string }).Id;
  const a = await raw(sock, post(`/v1.41/exec/${id}/start`, { Tty: true }, UPGRADE));
  assert.equal((await a.rest()).toString(), 'hello there\r\n');
  const ps = await json(sock, 'GET /containers/json?all=1 HTTP/1.1\r\nHost: x\r\n\r\n');
  assert.deepEqual(
    (ps.body as { Names: string[] }[]).map((c) => c.Names[0]),
    ['/web'],
  );
  const byPrefix = await json(
    sock,
    `GET /containers/${engine.containers[0]!.id.slice(0, 6)}/json HTTP/1.1\r\nHost: x\r\n\r\n`,
  );
  assert.equal((byPrefix.body as { Name: string }).Name, '/web');
});

test('createEngine refuses bad options with ERR_INVALID_ARGUMENT', () => {
  const bad: EngineOptions[] = [
    { socketPath: '/tmp/x.sock', port: 1 },
    { port: -1 },
    { apiVersion: 'latest' },
    { containers: [{ name: '/bad name' }] },
    { containers: [{ name: 'a' }, { name: 'a' }] },
    { commands: { x: 'nope' as never } },
  ];
  for (const o of bad) {
    assert.throws(
      () => createEngine(o),
      (e: unknown) => isHijackError(e, 'ERR_INVALID_ARGUMENT'),
      JSON.stringify(o),
    );
  }
});

test('built-in commands: wc, echo -n, date format, sleep arguments', async () => {
  const cmds = builtinCommands();
  const run = async (name: string, args: string[], input = '') => {
    const stdin = new PassThrough();
    stdin.end(input);
    const out = new PassThrough();
    const err = new PassThrough();
    const code = await cmds.get(name)!({
      args,
      stdin,
      stdout: out,
      stderr: err,
      env: {},
      signal: new AbortController().signal,
    });
    out.end();
    err.end();
    return { code, out: await collect(out), err: await collect(err) };
  };
  assert.deepEqual(await run('wc', [], 'a b\nc\n'), { code: 0, out: '2 3 6\n', err: '' });
  assert.deepEqual(await run('wc', ['-w'], ' x  y z'), { code: 0, out: '3\n', err: '' });
  assert.equal((await run('wc', ['--bytes'])).code, 1);
  assert.deepEqual(await run('echo', ['-n', 'a', 'b']), { code: 0, out: 'a b', err: '' });
  assert.equal((await run('sleep', ['soon'])).code, 1);
  assert.equal((await run('cat', ['/etc/passwd'])).code, 1);
  assert.equal(
    formatDate(new Date(Date.UTC(2025, 10, 1, 2, 3, 4))),
    'Sat Nov  1 02:03:04 UTC 2025',
  );
});

test('close() ends open logs --follow and events answers', T, async (t) => {
  const { engine, sock } = await startEngine(t);
  const { request } = await import('node:http');
  // Resolves once the head arrived, with a promise of the body's end (wrapped: a promise
  // resolved with a promise would wait for the inner one).
  const open = (path: string) =>
    new Promise<{ body: Promise<string> }>((resolve, reject) => {
      const req = request({ socketPath: sock, path }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c));
        resolve({ body: new Promise((done) => res.once('end', () => done(body))) });
      });
      req.on('error', reject);
      req.end();
    });
  const events = await open('/v1.43/events');
  const logs = await open('/v1.43/containers/c1/logs?follow=1&stdout=1');
  await engine.close();
  // Both answers end; the events stream saw the containers stopped by close().
  const seen = (await events.body)
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l).Action);
  assert.deepEqual(seen.sort(), ['die', 'die', 'kill', 'kill']);
  assert.equal(await logs.body, '');
});

test("ps durations are go-units' HumanDuration words (dockerd's Status)", async () => {
  const { humanDuration } = await import('../../src/demo/engine/containers.js');
  const s = 1000;
  const h = 3600 * s;
  const cases: [number, string][] = [
    [400, 'Less than a second'],
    [1500, '1 second'],
    [59 * s, '59 seconds'],
    [61 * s, 'About a minute'],
    [59 * 60 * s, '59 minutes'],
    [h + 10 * 60 * s, 'About an hour'],
    [47 * h, '47 hours'],
    [3 * 24 * h, '3 days'],
    [20 * 24 * h, '2 weeks'],
    [90 * 24 * h, '3 months'],
    [3 * 365 * 24 * h, '3 years'],
  ];
  for (const [ms, want] of cases) assert.equal(humanDuration(ms), want, String(ms));
});
