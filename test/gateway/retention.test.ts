/**
 * What a spliced stream keeps alive. A gateway holds thousands of idle streams, so once a
 * takeover is spliced nothing of its request may stay reachable: not the IncomingMessage,
 * not the ServerResponse, not the handler's frame. Checked with WeakRefs and forced
 * collections while the stream is open and still carrying bytes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { rawUpstream, startGateway, dial, readUntil } from './forward-helpers.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Collects until every ref is gone or `tries` full collections passed. */
async function collected(refs: WeakRef<object>[], tries = 20): Promise<number> {
  for (let i = 0; i < tries; i++) {
    gc();
    await new Promise((r) => setImmediate(r));
    if (refs.every((r) => r.deref() === undefined)) return 0;
  }
  return refs.filter((r) => r.deref() !== undefined).length;
}

for (const kind of ['upgrade', 'raw-stream', 'connect'] as const) {
  test(`${kind}: a spliced stream keeps neither its request nor its response alive`, async () => {
    const up = await rawUpstream((sock, _req, rest) => {
      sock.write(
        kind === 'raw-stream'
          ? 'HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.raw-stream\r\n\r\n'
          : 'HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n',
      );
      if (rest.length) sock.write(rest);
      sock.on('data', (c: Buffer) => sock.write(c));
      sock.resume();
    });
    // CONNECT goes to a plain echo target: the upstream's socket, dialled as host:port.
    const echo =
      kind === 'connect'
        ? await (await import('node:net')).createServer((s) => s.pipe(s)).listen(0, '127.0.0.1')
        : undefined;
    if (echo) await new Promise((r) => echo.once('listening', r));
    const echoPort = echo ? (echo.address() as { port: number }).port : 0;
    const { gw, port } = await startGateway(
      up.path,
      ['POST /stream', 'POST /containers/{id}/attach'],
      kind === 'connect'
        ? { forwardProxy: { enabled: true, connectAllow: [`127.0.0.1:${echoPort}`] } }
        : {},
    );
    const refs: WeakRef<object>[] = [];
    gw.servers[0]!.prependListener('request', (req: IncomingMessage, res: ServerResponse) => {
      refs.push(new WeakRef(req), new WeakRef(res));
    });
    try {
      const s = await dial(port);
      s.write(
        kind === 'upgrade'
          ? 'POST /stream HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n'
          : kind === 'raw-stream'
            ? 'POST /containers/c1/attach?stream=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n'
            : `CONNECT 127.0.0.1:${echoPort} HTTP/1.1\r\nHost: 127.0.0.1:${echoPort}\r\n\r\n`,
      );
      await readUntil(s, (b) => b.includes('\r\n\r\n'));
      assert.equal(refs.length, 2, 'the request reached the gateway');
      assert.equal(gw.takeovers, 1);
      assert.equal(await collected(refs), 0, 'req and res must be collectable while spliced');
      // The stream is still alive and carries bytes both ways.
      s.write('ping');
      const back = await readUntil(s, (b) => b.includes('ping'));
      assert.ok(back.includes('ping'));
      assert.equal(gw.takeovers, 1);
      s.destroy();
    } finally {
      await gw.close({ grace: 100 });
      await up.close();
      echo?.close();
    }
  });
}
