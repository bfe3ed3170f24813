/** Runs examples/echo-upgrade.ts as a user would and talks to it with curl and a raw socket. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import net from 'node:net';
import { once } from 'node:events';
import { requirePeer } from '../helpers/peers.js';

const root = new URL('../..', import.meta.url).pathname;

test(
  'examples/echo-upgrade.ts: takeover behind auth, echo, half-close, graceful shutdown',
  { timeout: 30_000 },
  async (t) => {
    const curl = requirePeer(t, 'curl');
    const socat = requirePeer(t, 'socat');
    if (!curl || !socat) return;
    const child = spawn(process.execPath, ['--import', 'tsx', 'examples/echo-upgrade.ts', '0'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      let out = '';
      child.stdout.setEncoding('utf8');
      const port = await new Promise<number>((resolve, reject) => {
        child.stdout.on('data', (d: string) => {
          out += d;
          const m = /listening on http:\/\/127\.0\.0\.1:(\d+)\n[\s\S]*try: .*\n/.exec(out);
          if (m) resolve(Number(m[1]));
        });
        child.once('exit', () => reject(new Error('example exited: ' + out)));
      });
      // The example's own usage line: printf … | socat - TCP:…
      const usage = /try: (.*)/.exec(out)![1]!;
      const viaSocat = await new Promise<string>((resolve, reject) =>
        execFile('sh', ['-c', usage], { timeout: 10_000 }, (err, stdout) =>
          err ? reject(err) : resolve(stdout),
        ),
      );
      assert.match(viaSocat, /^HTTP\/1\.1 101 [\s\S]*\r\n\r\nHELLO\n\n-- 6 bytes echoed, bye\n$/);
      const denied = await new Promise<string>((resolve, reject) =>
        execFile(curl, ['-s', '-i', `http://127.0.0.1:${port}/echo`], (err, stdout) =>
          err ? reject(err) : resolve(stdout),
        ),
      );
      assert.match(denied, /^HTTP\/1\.1 401/);
      // A raw client: bytes right behind the head, then a half-close.
      const sock = net.connect(port, '127.0.0.1');
      let got = '';
      sock.setEncoding('latin1');
      sock.on('data', (d: string) => (got += d));
      sock.write(
        'GET /echo HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer demo\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\nearly-',
      );
      await new Promise((r) => setTimeout(r, 50));
      sock.end('late');
      await once(sock, 'close');
      assert.match(got, /^HTTP\/1\.1 101 [\s\S]*\r\n\r\nEARLY-LATE\n-- 10 bytes echoed, bye\n$/);
      // A stream that stays open sees the shutdown notice; the process exits 0.
      const held = net.connect(port, '127.0.0.1');
      let heldOut = '';
      held.setEncoding('latin1');
      held.on('data', (d: string) => (heldOut += d));
      held.write(
        'GET /echo HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer demo\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n',
      );
      await new Promise((r) => setTimeout(r, 100));
      child.kill('SIGTERM');
      const [code] = await once(child, 'exit');
      assert.equal(code, 0);
      await new Promise((r) => setTimeout(r, 50));
      assert.match(heldOut, /server shutting down/);
      held.destroy();
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  },
);
