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
  formatEndpoint,
  formatHost,
  listenEndpoint,
  nearMiss,
  parseEndpoint,
  reclaimStaleSocket,
  type Endpoint,
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
