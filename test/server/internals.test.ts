/**
 * Node's internals, one major at a time: the pieces src/server/internal/ relies on, and
 * what a takeover must leave of Node's per-connection state.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { createRequire } from 'node:module';
import { enableHijack, hijack, isHijackError } from '../../src/index.js';
import {
  checkNodeInternals,
  HPE_PAUSED,
  NODE_INTERNALS,
  NODE_MAJOR,
  probeNodeInternals,
} from '../../src/server/internal/node-http.js';
import { listen, readUntil } from './util.js';

const require = createRequire(import.meta.url);

test('the table row of the running Node major is what its HTTP internals are', () => {
  // CI runs 20, 22, 24 and 26: each must have a row, and the row must match the probe.
  assert.ok(NODE_INTERNALS[NODE_MAJOR], `NODE_INTERNALS has a row for Node ${NODE_MAJOR}`);
  assert.deepEqual(probeNodeInternals(), NODE_INTERNALS[NODE_MAJOR]);
  assert.equal(checkNodeInternals(), NODE_INTERNALS[NODE_MAJOR]);
  assert.equal(HPE_PAUSED, NODE_INTERNALS[NODE_MAJOR]!.hpePaused);
  const common = require('_http_common') as { HTTPParser: { kOnExecute: number } };
  assert.equal(NODE_INTERNALS[NODE_MAJOR]!.kOnExecute, common.HTTPParser.kOnExecute);
});

test('an unknown Node major is probed: it works where every piece is there', () => {
  assert.equal(NODE_INTERNALS[99], undefined);
  assert.deepEqual(checkNodeInternals(99), NODE_INTERNALS[NODE_MAJOR]);
});

for (const [piece, patch] of [
  [
    '_http_common.freeParser()',
    (c: Record<string, any>) => {
      const saved = c.freeParser;
      c.freeParser = undefined;
      return () => (c.freeParser = saved);
    },
  ],
  [
    'HTTPParser.prototype.getCurrentBuffer()',
    (c: Record<string, any>) => {
      const proto = c.HTTPParser.prototype;
      const saved = proto.getCurrentBuffer;
      proto.getCurrentBuffer = undefined;
      return () => (proto.getCurrentBuffer = saved);
    },
  ],
] as const) {
  test(`an unknown Node major without ${piece} fails with ERR_NOT_SUPPORTED naming it`, () => {
    const restore = patch(require('_http_common'));
    try {
      assert.throws(
        () => checkNodeInternals(99),
        (err: unknown) =>
          isHijackError(err, 'ERR_NOT_SUPPORTED') &&
          err.message.includes(piece) &&
          err.message.includes(process.version),
      );
    } finally {
      restore();
    }
    // The running major is unaffected, and the probe works again once the piece is back.
    assert.deepEqual(checkNodeInternals(99), NODE_INTERNALS[NODE_MAJOR]);
  });
}

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
