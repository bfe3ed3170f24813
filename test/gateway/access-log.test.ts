/**
 * The access log's every line kind, from real traffic through a gateway in front of the
 * demo engine: `request`, `denied`, `takeover start`, `takeover progress`, `takeover end`,
 * `client error`. Each line is parsed as pino's own `LogDescriptor` and checked against the
 * field table of docs/observe.md: every field a line has is documented, and the fields
 * documented for `all` lines are on every line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import pino, { type LogDescriptor } from 'pino';
import { parseGatewayArgs } from '../../src/cli/gateway-args.js';
import {
  createAccessLog,
  type AccessLogKind,
  type AccessLogLine,
} from '../../src/gateway/observe/index.js';
import { execCat, readAll, request, rig, startCliGateway, until } from './observe-helpers.js';

type Line = LogDescriptor & AccessLogLine;

const DOC = readFileSync(new URL('../../docs/observe.md', import.meta.url), 'utf8');

/** The field table of docs/observe.md: field → which lines it is on. */
function documentedFields(): Map<string, string> {
  const section = DOC.slice(DOC.indexOf('## Access log'), DOC.indexOf('## Metrics'));
  const table = section.slice(section.indexOf('| field'));
  const out = new Map<string, string>();
  for (const row of table.split('\n').slice(2)) {
    if (!row.startsWith('| `')) break;
    const [, fields, lines] = row.split('|').map((c) => c.trim());
    for (const m of fields!.matchAll(/`([^`]+)`/g)) out.set(m[1]!, lines!);
  }
  return out;
}

/** Dotted paths of every leaf of `o`. */
function leaves(o: Record<string, unknown>, prefix = ''): string[] {
  return Object.entries(o).flatMap(([k, v]) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? leaves(v as Record<string, unknown>, `${prefix}${k}.`)
      : [`${prefix}${k}`],
  );
}

test(
  'access log: every line kind parses as pino lines with the documented fields',
  { timeout: 30_000 },
  async () => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (c: Buffer) => (text += c.toString()));
    const r = await rig(() => ({
      log: { level: 'info', destination: out, streamInterval: 100 },
      metrics: false,
    }));
    let parsed: Line[] = [];
    try {
      assert.equal((await request({ port: r.port }, 'GET', '/v1.43/_ping')).status, 200);
      assert.equal((await request({ port: r.port }, 'DELETE', '/containers/c1')).status, 405);
      assert.equal((await request({ port: r.port }, 'GET', '/images/json')).status, 403);
      const conn = await execCat(r);
      conn.socket.write('hello\n');
      const parse = () =>
        text
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as Line);
      await until(() => parse().some((l) => l.msg === 'takeover progress'), 'a progress line');
      conn.socket.end('bye\n');
      const echoed = await readAll(conn.socket);
      await until(() => parse().some((l) => l.msg === 'takeover end'), 'the takeover end line');
      await new Promise<void>((resolve) => {
        const s = net.connect(r.port, '127.0.0.1', () => s.end('BAD\r\n\r\n'));
        s.on('close', () => resolve());
        s.on('error', () => resolve());
        s.resume();
      });
      await until(() => parse().some((l) => l.msg === 'client error'), 'the client error line');
      parsed = parse();
      assert.ok(echoed.length > 0);
    } finally {
      await r.close();
    }

    const byKind = (k: AccessLogKind) => parsed.filter((l) => l.msg === k);
    const kinds: AccessLogKind[] = [
      'request',
      'denied',
      'takeover start',
      'takeover progress',
      'takeover end',
      'client error',
    ];
    for (const k of kinds) assert.ok(byKind(k).length > 0, `a ${k} line: ${text}`);

    // Against the documentation: nothing undocumented, the `all` fields everywhere.
    const doc = documentedFields();
    assert.ok(doc.size > 20, `the field table was found (${doc.size})`);
    const everywhere = [...doc].filter(([, lines]) => lines === 'all').map(([f]) => f);
    for (const line of parsed) {
      const have = leaves(line as unknown as Record<string, unknown>);
      for (const f of have)
        assert.ok(doc.has(f), `${line.msg}: field ${f} is not in docs/observe.md`);
      for (const f of everywhere) {
        if (f === 'client.address' || f === 'client.port') continue; // absent on unix sockets
        assert.ok(have.includes(f), `${line.msg}: no ${f}: ${JSON.stringify(line)}`);
      }
      // pino's own fields and levels; no top-level req/res (pino-http's objects).
      assert.equal(line.pid, process.pid);
      assert.equal(line.hostname, hostname());
      assert.ok(pino.levels.values[line.level as unknown as string], `level ${line.level}`);
      assert.ok(!Number.isNaN(Date.parse(line.time as unknown as string)));
      assert.equal(line.msg, line.event.action);
      assert.equal(line.req, undefined);
      assert.equal(line.res, undefined);
      // The remote address and identity on every line.
      assert.equal(line.client.address, '127.0.0.1');
      assert.equal(typeof line.client.port, 'number');
      assert.equal(line.identity.address, '127.0.0.1');
      assert.equal(line.identity.transport, 'tcp');
      assert.equal(typeof line.connId, 'number');
    }

    const [ping] = byKind('request');
    assert.equal(ping!.level, 'info');
    assert.equal(ping!.http!.request.method, 'GET');
    assert.equal(ping!.http!.response.status_code, 200);
    assert.deepEqual(ping!.url, { original: '/v1.43/_ping', path: '/_ping' });
    assert.deepEqual(ping!.rule, { name: 'allow GET,HEAD /_ping' });
    assert.equal(typeof ping!.reqId, 'number');

    const denied = byKind('denied');
    assert.equal(denied.length, 2);
    for (const d of denied) assert.equal(d.level, 'warn', 'denials are warn');
    assert.deepEqual(
      denied.map((d) => [d.event.reason, d.http!.response.status_code]),
      [
        ['method-not-allowed', 405],
        ['no-rule', 403],
      ],
    );

    const [start] = byKind('takeover start');
    assert.equal(start!.http!.response.status_code, 101);
    assert.deepEqual(start!.rule, { name: 'allow POST /exec/{id}/start' });
    assert.equal(start!.takeover!.kind, 'upgrade');
    assert.equal(start!.takeover!.protocol, 'tcp');
    assert.equal(start!.takeover!.end, 'open');

    const progress = byKind('takeover progress');
    for (const p of progress) {
      assert.equal(p.reqId, start!.reqId);
      assert.equal(p.takeover!.end, 'open');
      assert.ok(p.takeover!.ms! >= 100, `progress after one interval: ${p.takeover!.ms}`);
      assert.deepEqual(p.bytes, { in: p.takeover!.up, out: p.takeover!.down });
    }
    assert.ok(progress.at(-1)!.takeover!.up! >= 6, JSON.stringify(progress.at(-1)));

    const [end] = byKind('takeover end');
    assert.equal(end!.reqId, start!.reqId);
    assert.equal(end!.takeover!.end, 'half-close');
    assert.ok(end!.takeover!.up! >= 10, JSON.stringify(end!.takeover));
    assert.ok(end!.takeover!.down! >= 10 + 16, JSON.stringify(end!.takeover));
    // The line's bytes are the stream's, not the zero body bytes of the request.
    assert.deepEqual(end!.bytes, { in: end!.takeover!.up, out: end!.takeover!.down });
    assert.equal(typeof end!.takeover!.ms, 'number');

    const [ce] = byKind('client error');
    assert.equal(ce!.level, 'warn');
    assert.match(ce!.code!, /^HPE_/);
    assert.equal(ce!.status, 400);
  },
);

test('--log-stream-interval: flag, HIJACK_GATEWAY_LOG_STREAM_INTERVAL, config logStreamInterval; flag wins; bad values refused', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hijack-lsi-'));
  try {
    const base = ['--preset', 'readonly'];
    assert.equal(parseGatewayArgs(base).logStreamInterval, undefined);
    assert.equal(
      parseGatewayArgs([...base, '--log-stream-interval', '30s']).logStreamInterval,
      30_000,
    );
    const env = { HIJACK_GATEWAY_LOG_STREAM_INTERVAL: '2m' };
    assert.equal(parseGatewayArgs(base, env).logStreamInterval, 120_000);
    writeFileSync(join(dir, 'c.yaml'), 'allow: [GET /x]\nlogStreamInterval: 5m\n');
    const file = { HIJACK_GATEWAY_CONFIG: join(dir, 'c.yaml') };
    assert.equal(parseGatewayArgs([], file).logStreamInterval, 300_000);
    assert.equal(parseGatewayArgs([], { ...file, ...env }).logStreamInterval, 120_000);
    assert.equal(
      parseGatewayArgs(['--log-stream-interval', '1s'], { ...file, ...env }).logStreamInterval,
      1000,
    );
    assert.equal(
      parseGatewayArgs([...base, '--log-stream-interval', '0']).logStreamInterval,
      undefined,
    );
    assert.throws(() => parseGatewayArgs([...base, '--log-stream-interval', 'soon']), {
      code: 'ERR_USAGE',
      message: /--log-stream-interval/,
    });
    assert.throws(() => parseGatewayArgs(base, { HIJACK_GATEWAY_LOG_STREAM_INTERVAL: 'x' }), {
      code: 'ERR_CONFIG',
      message: /HIJACK_GATEWAY_LOG_STREAM_INTERVAL/,
    });
    assert.throws(() => createAccessLog(new EventEmitter(), { streamInterval: -1 }), {
      code: 'ERR_CONFIG',
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test(
  'hijack gateway --log-stream-interval: the CLI writes takeover progress lines on stdout',
  { timeout: 30_000 },
  async () => {
    const cli = await startCliGateway(['--log-stream-interval', '100ms']);
    try {
      const conn = await execCat({ port: cli.port, base: cli.base } as Parameters<
        typeof execCat
      >[0]);
      conn.socket.write('hello\n');
      const lines = () =>
        cli
          .stdout()
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as Line);
      await until(() => lines().some((l) => l.msg === 'takeover progress'), 'a progress line');
      conn.socket.end();
      await readAll(conn.socket);
      await until(() => lines().some((l) => l.msg === 'takeover end'), 'the end line');
      const progress = lines().find((l) => l.msg === 'takeover progress')!;
      assert.equal(progress.takeover!.end, 'open');
      assert.equal(progress.url!.path!.startsWith('/exec/'), true);
      assert.equal(progress.pid !== process.pid, true, 'written by the CLI process');
    } finally {
      await cli.stop();
    }
  },
);
