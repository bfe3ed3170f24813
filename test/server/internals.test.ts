/**
 * Node's internals, one major at a time: the pieces src/server/internal/ relies on, and
 * what a takeover must leave of Node's per-connection state.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { enableHijack, hijack } from '../../src/index.js';
import { listen, readUntil } from './util.js';

for (const enabled of [false, true]) {
  test(`a taken-over response keeps none of Node's connection state (${enabled ? 'enableHijack' : 'plain server'})`, async () => {
    let retired: http.ServerResponse | null = null;
    const server = http.createServer((req, res) => {
      res.writeHead(101, { Connection: 'Upgrade', Upgrade: 'tcp' });
      hijack(req, res).then(({ socket }) => {
        retired = res;
        socket.end('taken');
      }, console.error);
    });
    if (enabled) enableHijack(server);
    const l = await listen(server);
    try {
      const c = l.connect();
      c.write('GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n');
      assert.match((await readUntil(c, (b) => b.includes('taken'))).toString(), /^HTTP\/1\.1 101/);
      c.destroy();
      assert.ok(retired, 'the handler took the connection over');
      const res = retired as http.ServerResponse;
      // Node's 'finish' listener holds the request, the socket and the parser state
      // ('bound resOnFinish' on 20–24, 'onResponseFinish' on 26); nobody else added one.
      assert.deepEqual(
        res.listeners('finish').map((f) => f.name),
        [],
        "Node's finish listener is removed from the retired response",
      );
      assert.equal(res.socket, null, 'the retired response has no socket');
    } finally {
      await l.close();
    }
  });
}
