import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { parseRule } from '../../src/gateway/index.js';
import { sandboxBodyRules } from '../../src/gateway/policy/body-rules.js';
import { rawUpstream, startGateway, dial, readUntil } from './forward-helpers.js';

const T = { timeout: 20_000 };

/** An upstream that answers 201 with the exact body bytes it received (Content-Length bodies). */
async function echoUpstream() {
  const bodies: Buffer[] = [];
  const up = await rawUpstream((sock, req, rest) => {
    const len = Number(req.headers['content-length'] ?? 0);
    let body = rest;
    const answer = () => {
      bodies.push(body.subarray(0, len));
      sock.write(
        `HTTP/1.1 201 Created\r\nConnection: close\r\nContent-Type: application/octet-stream\r\nContent-Length: ${len}\r\n\r\n`,
      );
      sock.end(body.subarray(0, len));
    };
    if (body.length >= len) return answer();
    sock.on('data', (c: Buffer) => {
      body = Buffer.concat([body, c]);
      if (body.length >= len) answer();
    });
    sock.resume();
  });
  return { up, bodies };
}

const RULES = [
  'POST /containers/create',
  'POST /containers/{id}/exec',
  'POST /volumes/create',
  'POST /containers/{id}/update',
];

async function withGateway(
  fn: (port: number, bodies: Buffer[], seen: () => number) => Promise<void>,
  bodyLimit?: number,
) {
  const { up, bodies } = await echoUpstream();
  const { gw, port } = await startGateway(up.path, [], {
    policy: {
      rules: RULES.map((r) => parseRule(r, 'allow', 'test')),
      body: sandboxBodyRules(['/srv/work'], '*', 'gateway.yaml:7'),
      ...(bodyLimit !== undefined ? { bodyLimit } : {}),
    },
  });
  try {
    await fn(port, bodies, () => up.seen.length);
  } finally {
    await gw.close({ timeout: 1000 });
    await up.close();
  }
}

/** Sends raw bytes on `sock`, reads one answer (head + Content-Length body). */
async function exchange(
  sock: net.Socket,
  raw: Buffer | string,
): Promise<{ status: number; body: string; head: string }> {
  sock.write(raw);
  const got = await readUntil(sock, (b) => {
    const end = b.indexOf('\r\n\r\n');
    if (end < 0) return false;
    const m = /content-length: *(\d+)/i.exec(b.subarray(0, end).toString('latin1'));
    return b.length >= end + 4 + Number(m?.[1] ?? 0);
  });
  const end = got.indexOf('\r\n\r\n');
  const head = got.subarray(0, end).toString('latin1');
  return { status: Number(head.split(' ')[1]), body: got.subarray(end + 4).toString('utf8'), head };
}

const post = (
  path: string,
  body: Buffer | string,
  extra = 'Content-Type: application/json\r\n',
) => {
  const b = Buffer.from(body);
  return Buffer.concat([
    Buffer.from(`POST ${path} HTTP/1.1\r\nHost: d\r\n${extra}Content-Length: ${b.length}\r\n\r\n`),
    b,
  ]);
};

test(
  'body forward: a refused body never reaches dockerd; the refusal names field and rule',
  T,
  async () => {
    await withGateway(async (port, _bodies, seen) => {
      const sock = await dial(port);
      try {
        const r = await exchange(
          sock,
          post('/v1.41/containers/create', '{"Image":"mini","HostConfig":{"pRiVileged":true}}'),
        );
        assert.equal(r.status, 403);
        assert.equal(
          JSON.parse(r.body).message,
          'hijack gateway: HostConfig.Privileged is not allowed (rule: containers.privileged from gateway.yaml:7)',
        );
        // Same connection: the body was read, the connection lives on.
        const r2 = await exchange(
          sock,
          post('/containers/abc/exec', '{"Cmd":["sh"],"\\u0050rivileged":true}'),
        );
        assert.equal(r2.status, 403);
        assert.match(
          JSON.parse(r2.body).message,
          /Privileged is not allowed on an exec \(rule: execs.privileged/,
        );
        const r3 = await exchange(
          sock,
          post('/containers/create', '{"HostConfig":{"Privileged":false,"privileged":true}}'),
        );
        assert.equal(r3.status, 400);
        assert.match(JSON.parse(r3.body).message, /HostConfig.Privileged is given twice/);
        const r4 = await exchange(
          sock,
          post('/volumes/create', '{"DriverOpts":{"type":"none","o":"bind","device":"/"}}'),
        );
        assert.equal(r4.status, 403);
        assert.match(JSON.parse(r4.body).message, /volumes.bind/);
        assert.equal(seen(), 0);
      } finally {
        sock.destroy();
      }
    });
  },
);

test(
  'body forward: an allowed body is forwarded byte for byte as checked (length or chunked)',
  T,
  async () => {
    await withGateway(async (port, bodies) => {
      const sock = await dial(port);
      try {
        const body =
          '{ "Image" : "mini",\n "HostConfig":{"Binds":["/srv/work/a:/a"],"Privileged":false}, "Labels":{"a":"\\u00e9"} }';
        const r = await exchange(sock, post('/containers/create', body));
        assert.equal(r.status, 201);
        assert.equal(bodies[0]!.toString(), body);
        // Chunked in pieces: read whole, checked, sent with its length.
        const pieces = ['{"Ima', 'ge":"mini","Hos', 'tConfig":{}}    '];
        const chunked =
          'POST /containers/create HTTP/1.1\r\nHost: d\r\nContent-Type: application/json; charset=utf-8\r\nTransfer-Encoding: chunked\r\n\r\n' +
          pieces.map((p) => `${p.length.toString(16)}\r\n${p}\r\n`).join('') +
          '0\r\n\r\n';
        const r2 = await exchange(sock, chunked);
        assert.equal(r2.status, 201);
        assert.equal(bodies[1]!.toString(), '{"Image":"mini","HostConfig":{}}    ');
      } finally {
        sock.destroy();
      }
    });
  },
);

test(
  'body forward: head and framing refusals (content type, coding, upgrade, empty, limit, unended chunked)',
  T,
  async () => {
    await withGateway(async (port, _bodies, seen) => {
      const one = async (raw: Buffer | string) => {
        const sock = await dial(port);
        try {
          return await exchange(sock, raw);
        } finally {
          sock.destroy();
        }
      };
      const ok = '{"Image":"mini"}';
      const json = 'Content-Type: application/json\r\n';
      const cases: [string | Buffer, string, number, RegExp][] = [
        [ok, 'Content-Type: text/plain\r\n', 400, /must be application\/json/],
        [ok, '', 400, /must be application\/json/],
        [ok, `${json}Content-Encoding: gzip\r\n`, 400, /Content-Encoding/],
        [ok, `${json}Connection: Upgrade\r\nUpgrade: tcp\r\n`, 400, /Upgrade/],
        ['', json, 400, /unexpected end/],
        [Buffer.from([0x7b, 0x22, 0xc3, 0x22, 0x3a, 0x31, 0x7d]), json, 400, /UTF-8/],
        [`{"Image":"${'a'.repeat(300)}"}`, json, 413, /over the 200 bytes/],
      ];
      for (const [body, extra, status, message] of cases) {
        const r = await one(post('/containers/create', body, extra));
        assert.equal(r.status, status, extra);
        assert.match(JSON.parse(r.body).message, message);
      }
      const big = `{"Image":"${'a'.repeat(300)}"}`;
      const r = await one(
        `POST /containers/create HTTP/1.1\r\nHost: d\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n${big.length.toString(16)}\r\n${big}\r\n0\r\n\r\n`,
      );
      assert.equal(r.status, 413);
      // A chunked body that never ends: nothing is forwarded.
      const sock = await dial(port);
      sock.write(
        'POST /containers/create HTTP/1.1\r\nHost: d\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{"Ima',
      );
      sock.end();
      await readUntil(sock, () => false);
      sock.destroy();
      assert.equal(seen(), 0);
    }, 200);
  },
);
