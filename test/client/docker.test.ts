// dialHijack and demuxStdcopy against a real dockerd (Debian docker.io) on a private socket.
import assert from 'node:assert/strict';
import type { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { dialHijack } from '../../src/client/dial.js';
import { demuxStdcopy } from '../../src/stream/stdcopy.js';
import { needDockerd, startDockerd, type Dockerd } from '../helpers/dockerd.js';

const T = { timeout: 25_000 };
let d: Dockerd | null = null;

before(
  async () => {
    d = await startDockerd();
  },
  { timeout: 60_000 },
);
after(
  async () => {
    await d?.stop();
  },
  { timeout: 30_000 },
);

function text(r: Readable): Promise<string> {
  const parts: Buffer[] = [];
  return new Promise((resolve, reject) => {
    r.on('data', (c: Buffer) => parts.push(c));
    r.once('end', () => resolve(Buffer.concat(parts).toString()));
    r.once('error', reject);
  });
}

async function startExec(dk: Dockerd, execId: string, tty = false, upgrade?: false) {
  return dialHijack(dk.target, {
    path: `${dk.apiPrefix}/exec/${execId}/start`,
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ Detach: false, Tty: tty }),
    ...(upgrade === false ? { upgrade: false as const } : {}),
  });
}

let box = '';
async function container(dk: Dockerd): Promise<string> {
  box ||= await dk.run(['/bin/sleep', '600']);
  return box;
}

test('exec cat: stdin, EOF by half-close, output after EOF, exit code', T, async (t) => {
  if (!needDockerd(t, d)) return;
  const id = await container(d);
  const exec = await d.exec(id, ['/bin/cat'], { stdin: true });
  const c = await startExec(d, exec);
  assert.equal(c.statusCode, 101);
  assert.equal(c.headers['upgrade'], 'tcp');
  const { stdout, stderr } = demuxStdcopy(c.socket);
  const [out, err] = [text(stdout), text(stderr)];
  c.socket.write('hello ');
  await sleep(20);
  c.socket.write('docker\n');
  c.closeWrite(); // cat sees EOF and exits; its last output still arrives
  assert.equal(await out, 'hello docker\n');
  assert.equal(await err, '');
  c.socket.destroy();
  const info = await d.api('GET', `${d.apiPrefix}/exec/${exec}/json`);
  assert.equal(info.body.ExitCode, 0);
});

test('stdout and stderr are separated, exit code read back', T, async (t) => {
  if (!needDockerd(t, d)) return;
  const id = await container(d);
  const exec = await d.exec(id, ['/bin/sh', '-c', 'echo out; echo err >&2; echo out2; exit 3']);
  const c = await startExec(d, exec);
  const { stdout, stderr } = demuxStdcopy(c.socket);
  const [out, err] = await Promise.all([text(stdout), text(stderr)]);
  assert.equal(out, 'out\nout2\n');
  assert.equal(err, 'err\n');
  c.socket.destroy();
  for (let i = 0; i < 50; i++) {
    const info = await d.api('GET', `${d.apiPrefix}/exec/${exec}/json`);
    if (!info.body.Running) {
      assert.equal(info.body.ExitCode, 3);
      return;
    }
    await sleep(50);
  }
  assert.fail('exec still running');
});

test('attach to a running container', T, async (t) => {
  if (!needDockerd(t, d)) return;
  const id = await d.run(['/bin/sh', '-c', 'while read l; do echo "got $l"; done; echo bye >&2'], {
    openStdin: true,
    stdinOnce: true, // our half-close reaches the process as EOF
  });
  const c = await dialHijack(d.target, {
    path: `${d.apiPrefix}/containers/${id}/attach?stream=1&stdin=1&stdout=1&stderr=1`,
  });
  assert.equal(c.statusCode, 101);
  const { stdout, stderr } = demuxStdcopy(c.socket);
  const [out, err] = [text(stdout), text(stderr)];
  c.socket.write('one\ntwo\n');
  c.closeWrite();
  assert.equal(await out, 'got one\ngot two\n');
  assert.equal(await err, 'bye\n');
  c.socket.destroy();
});

test('legacy mode: no Upgrade header, dockerd answers 200 raw-stream', T, async (t) => {
  if (!needDockerd(t, d)) return;
  const id = await container(d);
  const exec = await d.exec(id, ['/bin/sh', '-c', 'echo legacy']);
  const c = await startExec(d, exec, false, false);
  assert.equal(c.statusCode, 200);
  assert.equal(c.mediaType, 'application/vnd.docker.raw-stream');
  const { stdout } = demuxStdcopy(c.socket);
  assert.equal(await text(stdout), 'legacy\n');
  c.socket.destroy();
  // Asking for an upgrade but getting a 200 is refused with a hint, never taken silently.
});

test('TTY exec: raw bytes, no framing', T, async (t) => {
  if (!needDockerd(t, d)) return;
  const id = await container(d);
  const exec = await d.exec(id, ['/bin/sh', '-c', 'echo tty-ok'], { tty: true });
  const c = await startExec(d, exec, true);
  assert.equal(c.mediaType, 'application/vnd.docker.raw-stream');
  assert.equal(await text(c.socket), 'tty-ok\r\n');
  c.socket.destroy();
});

test('a missing exec is refused with dockerd’s message', T, async (t) => {
  if (!needDockerd(t, d)) return;
  await assert.rejects(startExec(d, 'does-not-exist'), (e: any) => {
    assert.equal(e.code, 'ERR_UPGRADE_REFUSED');
    assert.equal(e.statusCode, 404);
    assert.match(e.serverMessage, /No such exec instance/);
    return true;
  });
});
