/**
 * src/endpoint/: the one endpoint syntax (accepted and refused forms, one message set,
 * near-miss hints), formatting with IPv6 brackets, and listening on a unix socket with
 * stale-socket reclaim, on real sockets in a temp dir.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import net from 'node:net';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  connectEndpoint,
  formatEndpoint,
  formatHost,
  listenEndpoint,
  nearMiss,
  parseEndpoint,
  reclaimStaleSocket,
  resolveTarget,
  type Endpoint,
  type ResolvedTarget,
} from '../../src/endpoint/index.js';
import { isHijackError } from '../../src/errors.js';
import { parseUpstream } from '../../src/gateway/forward/upstream.js';

test('accepted forms parse to one shape and format back', () => {
  const cases: [string, 'listen' | 'upstream' | 'metrics', Endpoint][] = [
    ['tcp://127.0.0.1:2375', 'listen', { kind: 'tcp', host: '127.0.0.1', port: 2375 }],
    ['tcp://[::1]:2375', 'upstream', { kind: 'tcp', host: '::1', port: 2375 }],
    ['tls://docker.example:2376', 'upstream', { kind: 'tls', host: 'docker.example', port: 2376 }],
    ['tcp://localhost:0', 'listen', { kind: 'tcp', host: 'localhost', port: 0 }],
    ['unix:///var/run/docker.sock', 'upstream', { kind: 'unix', path: '/var/run/docker.sock' }],
    [
      'unix:///run/gw.sock?mode=0660&owner=1000:999',
      'listen',
      { kind: 'unix', path: '/run/gw.sock', mode: 0o660, uid: 1000, gid: 999 },
    ],
    ['unix:///run/gw.sock?owner=:5', 'listen', { kind: 'unix', path: '/run/gw.sock', gid: 5 }],
    ['  tcp://127.0.0.1:9100  ', 'metrics', { kind: 'tcp', host: '127.0.0.1', port: 9100 }],
  ];
  for (const [text, role, want] of cases) {
    const got = parseEndpoint(text, role, '--x');
    assert.deepEqual(got, want, text);
    if (!text.includes('?')) assert.equal(formatEndpoint(got), text.trim(), text);
  }
});

test('refused forms: ERR_CONFIG naming the flag, with a hint for near-misses', () => {
  const cases: [string, 'listen' | 'upstream' | 'metrics', RegExp][] = [
    [
      '/var/run/docker.sock',
      'upstream',
      /^--upstream '\/var\/run\/docker.sock' is not tcp:\/\/host:port, tls:\/\/host:port or unix:\/\/\/path \(did you mean unix:\/\/\/var\/run\/docker.sock\?\)$/,
    ],
    ['localhost:2375', 'upstream', /\(did you mean tcp:\/\/localhost:2375\?\)$/],
    [
      'http://127.0.0.1:2375',
      'upstream',
      /unknown scheme 'http'.*did you mean tcp:\/\/127.0.0.1:2375\?/,
    ],
    [
      'https://[::1]:2376/',
      'upstream',
      /unknown scheme 'https'.*did you mean tls:\/\/\[::1\]:2376\?/,
    ],
    ['ftp://host:21', 'upstream', /unknown scheme 'ftp' \(use tcp, tls or unix\)$/],
    ['unix://run/x.sock', 'listen', /the unix socket path must be absolute/],
    ['unix:///x.sock?mode=0660', 'upstream', /mode and owner are only for listeners/],
    ['unix:///x.sock?mode=999', 'listen', /mode '999' is not an octal file mode/],
    ['unix:///x.sock?owner=bob', 'listen', /owner 'bob' is not uid, uid:gid or :gid/],
    ['unix:///x.sock?color=red', 'listen', /unknown parameter 'color'/],
    ['tls://127.0.0.1:9100', 'metrics', /use tcp:\/\/ or unix:\/\/ here/],
    [
      'tcp://127.0.0.1',
      'listen',
      /needs host:port \(e.g. tcp:\/\/127.0.0.1:2375, tcp:\/\/\[::1\]:2375\)$/,
    ],
    ['tcp://::1:2375', 'listen', /needs host:port/],
    ['tcp://127.0.0.1:65536', 'listen', /port 65536 is out of range/],
    ['tcp://127.0.0.1:0', 'upstream', /port 0 is out of range/],
    ['', 'listen', /is not tcp:\/\/host:port/],
  ];
  for (const [text, role, want] of cases) {
    const name = role === 'upstream' ? '--upstream' : '--listen';
    assert.throws(
      () => parseEndpoint(text, role, name),
      (err: unknown) => isHijackError(err, 'ERR_CONFIG') && want.test(err.message),
      text,
    );
  }
  assert.equal(nearMiss('tcp://127.0.0.1:2375'), undefined);
  assert.equal(nearMiss('nonsense'), undefined);
});

test('format: IPv6 hosts in brackets, everywhere', () => {
  assert.equal(formatHost('::1'), '[::1]');
  assert.equal(formatHost('127.0.0.1'), '127.0.0.1');
  assert.equal(
    formatEndpoint({ kind: 'tls', host: 'fe80::1', port: 2376 }),
    'tls://[fe80::1]:2376',
  );
  assert.equal(
    formatEndpoint({ kind: 'unix', path: '/run/a.sock', mode: 0o600 }),
    'unix:///run/a.sock',
  );
});

test('listen on unix: a stale socket is reclaimed, a live one and a plain file are refused; mode set', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hijack-endpoint-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'gw.sock');

  // A stale socket file: a process bound it and was killed (SIGKILL: no unlink).
  const child = spawn(
    process.execPath,
    [
      '-e',
      `require('node:net').createServer().listen(${JSON.stringify(path)}, () => console.log('up'))`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await once(child.stdout, 'data');
  child.kill('SIGKILL');
  await once(child, 'exit');
  assert.ok(existsSync(path), 'the stale socket file is left behind');

  const server = http.createServer((_req, res) => res.end('ok'));
  const a = await listenEndpoint(server, { kind: 'unix', path, mode: 0o600 });
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  assert.deepEqual(a, { kind: 'unix', url: `unix://${path}`, path });
  assert.equal(statSync(path).mode & 0o777, 0o600);

  // A live socket: refused, not removed.
  const other = http.createServer();
  await assert.rejects(listenEndpoint(other, { kind: 'unix', path }), (err: unknown) => {
    return (
      isHijackError(err, 'ERR_CONFIG') &&
      /cannot listen on unix:\/\/.*gw.sock: EADDRINUSE$/.test(err.message)
    );
  });
  assert.ok(existsSync(path));
  await new Promise<void>((resolve, reject) =>
    net
      .connect(path)
      .once('connect', function (this: net.Socket) {
        this.destroy();
        resolve();
      })
      .once('error', reject),
  );

  // A file that is not a socket: never touched.
  const file = join(dir, 'plain');
  writeFileSync(file, 'keep me');
  await assert.rejects(reclaimStaleSocket(file), { code: 'EEXIST' });
  await assert.rejects(
    listenEndpoint(http.createServer(), { kind: 'unix', path: file }, 'the live page'),
    {
      message: /cannot listen on unix:\/\/.*plain for the live page: EEXIST$/,
    },
  );
  assert.ok(existsSync(file));
  // Absent: nothing to do.
  await reclaimStaleSocket(join(dir, 'absent.sock'));
});

test('listen on tcp: the url names the bound address, IPv6 in brackets', async (t) => {
  const s4 = http.createServer();
  const a4 = await listenEndpoint(s4, { kind: 'tcp', host: '127.0.0.1', port: 0 });
  t.after(() => new Promise<void>((r) => s4.close(() => r())));
  assert.equal(a4.url, `tcp://127.0.0.1:${a4.port}`);
  const s6 = http.createServer();
  const a6 = await listenEndpoint(s6, { kind: 'tcp', host: '::1', port: 0 });
  t.after(() => new Promise<void>((r) => s6.close(() => r())));
  assert.equal(a6.url, `tcp://[::1]:${a6.port}`);
  assert.equal(a6.host, '::1');
});

test("the gateway's upstream string: the one syntax, plus its older spellings /path, http://, https://", () => {
  assert.deepEqual(parseUpstream('unix:///var/run/docker.sock'), {
    kind: 'unix',
    path: '/var/run/docker.sock',
    url: 'unix:///var/run/docker.sock',
  });
  assert.deepEqual(parseUpstream('/var/run/docker.sock'), {
    kind: 'unix',
    path: '/var/run/docker.sock',
    url: 'unix:///var/run/docker.sock',
  });
  assert.deepEqual(parseUpstream('tcp://[::1]:2375'), {
    kind: 'tcp',
    host: '::1',
    port: 2375,
    url: 'tcp://[::1]:2375',
  });
  assert.deepEqual(parseUpstream('http://127.0.0.1:2375'), {
    kind: 'tcp',
    host: '127.0.0.1',
    port: 2375,
    url: 'http://127.0.0.1:2375',
  });
  assert.deepEqual(parseUpstream('https://[::1]:2376/'), {
    kind: 'tls',
    host: '::1',
    port: 2376,
    url: 'https://[::1]:2376/',
  });
  for (const [bad, why] of [
    [
      'docker.sock',
      /^upstream 'docker.sock' is not tcp:\/\/host:port, tls:\/\/host:port or unix:\/\/\/path$/,
    ],
    ['localhost:2375', /did you mean tcp:\/\/localhost:2375\?/],
    ['tcp://127.0.0.1:0', /port 0 is out of range/],
    ['unix://relative.sock', /must be absolute/],
    ['ftp://host:21', /unknown scheme 'ftp'/],
  ] as const) {
    assert.throws(
      () => parseUpstream(bad),
      (err: unknown) => isHijackError(err, 'ERR_CONFIG') && why.test(err.message),
      bad,
    );
  }
});

test('client targets: the dial role of the same syntax, with the web spellings and a path prefix', () => {
  const cases: [string, Partial<ResolvedTarget>][] = [
    [
      'unix:///var/run/docker.sock',
      { kind: 'unix', path: '/var/run/docker.sock', hostHeader: 'localhost' },
    ],
    ['unix:///tmp/a%20b.sock', { kind: 'unix', path: '/tmp/a b.sock' }],
    [
      'tcp://127.0.0.1:2375',
      { kind: 'tcp', host: '127.0.0.1', port: 2375, hostHeader: '127.0.0.1:2375' },
    ],
    ['tcp://docker_proxy:2375/', { kind: 'tcp', host: 'docker_proxy', port: 2375 }],
    ['tcp://[::1]:80', { kind: 'tcp', host: '::1', port: 80, hostHeader: '[::1]' }],
    [
      'tls://[fe80::1]:2376',
      { kind: 'tls', host: 'fe80::1', port: 2376, hostHeader: '[fe80::1]:2376' },
    ],
    [
      'http://example.test',
      { kind: 'tcp', host: 'example.test', port: 80, prefix: '', hostHeader: 'example.test' },
    ],
    [
      'https://[::1]/v1.45//',
      { kind: 'tls', host: '::1', port: 443, prefix: '/v1.45', hostHeader: '[::1]' },
    ],
    [
      'HTTPS://example.test:8443/base',
      { kind: 'tls', port: 8443, prefix: '/base', hostHeader: 'example.test:8443' },
    ],
  ];
  for (const [text, want] of cases) {
    const got = resolveTarget(text);
    for (const [k, v] of Object.entries(want))
      assert.deepEqual(got[k as keyof ResolvedTarget], v, `${text} ${k}`);
    // The names the type has always had are the same facts.
    assert.equal(got.transport, got.kind, text);
    assert.equal(got.display, text, text);
    assert.equal(got.url, text, text);
    if (got.kind === 'unix') assert.equal(got.socketPath, got.path, text);
  }
  // Objects: formatted with the one format (IPv6 in brackets).
  const o = resolveTarget({ host: '::1', port: 2376, tls: true });
  assert.deepEqual([o.kind, o.url, o.hostHeader], ['tls', 'tls://[::1]:2376', '[::1]:2376']);
  assert.equal(resolveTarget({ socketPath: '/run/x.sock' }).url, 'unix:///run/x.sock');
});

test('client targets refused: ERR_INVALID_TARGET, the same reasons as the flags, the forms that work', () => {
  const cases: [string, RegExp][] = [
    ['/var/run/docker.sock', /has no scheme \(did you mean unix:\/\/\/var\/run\/docker.sock\?\)/],
    ['localhost:2375', /has no scheme \(did you mean tcp:\/\/localhost:2375\?\)/],
    ['unix://rel.sock', /the unix socket path must be absolute/],
    ['unix:///x.sock?mode=0660', /mode and owner are only for listeners/],
    ['ftp://x:21', /unknown scheme 'ftp' \(use unix, tcp, tls, http or https\)/],
    ['tcp://host', /needs host:port/],
    ['tcp://host:2375/containers', /a tcp endpoint has no path/],
    ['tcp://host:0', /port 0 is out of range/],
    ['https://host:70000', /port 70000 is out of range/],
    ['http://u:p@host', /credentials in the URL are not sent/],
    ['http://host/base?x=1', /no query or fragment/],
    ['', /has no scheme/],
  ];
  for (const [text, want] of cases) {
    assert.throws(
      () => resolveTarget(text),
      (err: unknown) =>
        isHijackError(err, 'ERR_INVALID_TARGET') &&
        err.message.startsWith(`invalid target ${JSON.stringify(text)}: `) &&
        want.test(err.message) &&
        err.message.endsWith(
          '; use unix:///path, tcp://host:port, tls://host:port, http://host[:port][/prefix] or https://host[:port][/prefix]',
        ),
      text,
    );
  }
  // The same value under a flag: the same reason, framed as ERR_CONFIG.
  assert.throws(() => parseEndpoint('tcp://host:2375/containers', 'upstream', '--upstream'), {
    message: "--upstream 'tcp://host:2375/containers': a tcp endpoint has no path",
  });
});

test("the library's upstream string: the web spellings without a path, a bare path; flags do not take them", () => {
  const lib = { web: true, barePath: true };
  assert.deepEqual(parseEndpoint('http://127.0.0.1', 'upstream', 'upstream', lib), {
    kind: 'tcp',
    host: '127.0.0.1',
    port: 80,
  });
  assert.deepEqual(parseEndpoint('/run/d.sock', 'upstream', 'upstream', lib), {
    kind: 'unix',
    path: '/run/d.sock',
  });
  assert.throws(() => parseEndpoint('https://h:2376/v1', 'upstream', 'upstream', lib), {
    message: "upstream 'https://h:2376/v1': an upstream has no path ('/v1')",
  });
  assert.throws(() => parseUpstream('http://127.0.0.1:2375/v1'), { message: /has no path/ });
  assert.throws(
    () => parseEndpoint('http://127.0.0.1:2375', 'listen', '--listen', lib),
    {
      message: /unknown scheme 'http'/,
    },
    'web spellings are for things to connect to',
  );
  // Without the options (flags, config file): refused with the hint.
  assert.throws(() => parseEndpoint('/run/d.sock', 'upstream', '--upstream'), {
    message: /did you mean unix:\/\/\/run\/d.sock\?/,
  });
});

test('connect: one socket to any dial endpoint, ready on its own event', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hijack-endpoint-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'c.sock');
  const got: string[] = [];
  for (const ep of [
    { kind: 'unix', path } as const,
    { kind: 'tcp', host: '127.0.0.1', port: 0 } as const,
  ]) {
    const srv = net.createServer((s) => s.end('hi'));
    const a = await listenEndpoint(srv, ep);
    t.after(() => new Promise<void>((r) => srv.close(() => r())));
    const c = connectEndpoint(resolveTarget(a.url));
    assert.equal(c.ready, 'connect');
    await once(c.socket, c.ready);
    let text = '';
    c.socket.setEncoding('utf8').on('data', (s: string) => (text += s));
    await once(c.socket, 'end');
    c.socket.destroy();
    got.push(text);
  }
  assert.deepEqual(got, ['hi', 'hi']);
  // tls: ready only after the handshake; a port nobody listens on (bound, then closed) refuses.
  const gone = net.createServer();
  const g = await listenEndpoint(gone, { kind: 'tcp', host: '127.0.0.1', port: 0 });
  await new Promise<void>((r) => gone.close(() => r()));
  const tlsConn = connectEndpoint(resolveTarget(`tls://127.0.0.1:${g.port}`));
  assert.equal(tlsConn.ready, 'secureConnect');
  const [err] = (await once(tlsConn.socket, 'error')) as [NodeJS.ErrnoException];
  assert.equal(err.code, 'ECONNREFUSED');
});
