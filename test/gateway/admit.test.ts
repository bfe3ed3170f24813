/**
 * admit(): the pure admission step. The order of checks is the one its module comment
 * and docs/security.md give: a request that fails several checks gets the first one's
 * answer. No socket: heads are plain objects.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { admit, type AdmitContext, type AdmitRequest } from '../../src/gateway/admit.js';
import { createAuthenticator } from '../../src/gateway/identity/index.js';
import { compilePolicy, parseRule } from '../../src/gateway/policy/index.js';
import { DOCKER_RAW_STREAM_PATHS } from '../../src/gateway/server.js';
import { openAuth } from '../../src/gateway/defaults.js';
import type { ConnectionFacts } from '../../src/gateway/types.js';

const token = { name: 'ci', sha256: createHash('sha256').update('t0k').digest() };
const ctx: AdmitContext = {
  policy: compilePolicy({
    rules: [
      parseRule('GET,HEAD /_ping', 'allow', 't'),
      parseRule('POST /containers/create', 'allow', 't'),
      parseRule('POST /containers/{id}/attach', 'allow', 't'),
      parseRule('GET /events', 'allow', 't'),
      parseRule('GET /containers/{id}/logs', 'allow', 't'),
      parseRule('POST /exec/{id}/start', 'allow', 't'),
    ],
    blocks: [],
  }),
  auth: createAuthenticator({ ...openAuth(), tokens: [token], allowCidr: ['127.0.0.0/8'] }),
  forwardProxy: { enabled: true, connectAllow: ['example.test:443'] },
  maxHeadersCount: 10,
  maxBody: 1000,
  rawStreamPaths: DOCKER_RAW_STREAM_PATHS,
};
const local: ConnectionFacts = { transport: 'tcp', address: '127.0.0.1', port: 5000 };
const remote: ConnectionFacts = { transport: 'tcp', address: '10.9.9.9', port: 5000 };

function req(
  method: string,
  url: string,
  fields: [string, string][],
  version = '1.1',
): AdmitRequest {
  const rawHeaders = fields.flat();
  const headers: Record<string, string> = {};
  for (const [k, v] of fields) headers[k.toLowerCase()] ??= v;
  return {
    method,
    url,
    httpVersion: version,
    httpVersionMajor: Number(version[0]),
    rawHeaders,
    headers,
  };
}
const auth: [string, string] = ['Authorization', 'Bearer t0k'];
const host: [string, string] = ['Host', 'd'];

test('the order of checks: version, header count, connection, framing, identity, policy, body size', () => {
  const many = Array.from({ length: 11 }, (_, i): [string, string] => [`X-${i}`, '1']);
  const status = (r: AdmitRequest, f = local) => {
    const a = admit(r, f, ctx);
    return a.action === 'deny' ? `${a.status} ${a.reason}` : 'allow';
  };
  assert.equal(status(req('GET', '/x', many, '2.0'), remote), '400 bad-framing');
  assert.equal(status(req('GET', '/x', many), remote), '431 too-many-headers');
  assert.equal(
    status(
      req('GET', '/x', [host, ['Content-Length', '1'], ['Transfer-Encoding', 'chunked']]),
      remote,
    ),
    '403 forbidden-client',
  );
  assert.equal(
    status(req('GET', '/x', [host, ['Content-Length', '1'], ['Transfer-Encoding', 'chunked']])),
    '400 bad-framing',
  );
  assert.equal(
    status(req('GET', '/x', [host, ['Connection', 'content-length']])),
    '400 bad-framing',
  );
  assert.equal(status(req('GET', '/x', [host, ['Expect', 'magic']])), '417 expectation-failed');
  assert.equal(status(req('GET', '/x', [host, auth, auth])), '401 unauthenticated');
  assert.equal(status(req('GET', '/x', [host])), '401 unauthenticated');
  assert.equal(status(req('GET', '/x', [host, auth])), '403 no-rule');
  assert.equal(
    status(req('POST', '/containers/create', [host, auth, ['Content-Length', '1001']])),
    '413 body-too-large',
  );
  assert.equal(
    status(req('POST', '/containers/create', [host, auth, ['Content-Length', '1000']])),
    'allow',
  );
});

test('the decision: how it is carried and which fields are forwarded', () => {
  const a = admit(
    req('POST', '/v1.41/containers/c1/attach?stream=1', [
      host,
      auth,
      ['Connection', 'Upgrade, X-Hop'],
      ['Upgrade', 'tcp'],
      ['X-Hop', '1'],
      ['Keep-Alive', 'timeout=5'],
      ['Content-Length', '2'],
      ['Expect', '100-continue'],
      ['Content-Type', 'application/json'],
    ]),
    local,
    ctx,
  );
  assert.equal(a.action, 'allow');
  if (a.action !== 'allow') return;
  assert.equal(a.carry, 'upgrade');
  assert.equal(a.upgrade, 'tcp');
  assert.deepEqual(a.framing, { kind: 'length', length: 2 });
  assert.equal(a.expectContinue, true);
  assert.deepEqual(a.headers, ['Host', 'd', 'Content-Type', 'application/json']);
  assert.equal(a.identity.token, 'ci');
  assert.equal(a.decision.target, '/v1.41/containers/c1/attach?stream=1');

  const carry = (method: string, url: string, fields: [string, string][] = []) => {
    const d = admit(req(method, url, [host, auth, ...fields]), local, ctx);
    return d.action === 'allow' ? d.carry : d.reason;
  };
  assert.equal(carry('GET', '/_ping'), 'ordinary');
  assert.equal(carry('GET', '/events'), 'stream');
  assert.equal(carry('GET', '/containers/c1/logs?follow=1'), 'stream');
  assert.equal(carry('GET', '/containers/c1/logs?follow=0'), 'ordinary');
  assert.equal(carry('POST', '/exec/e1/start'), 'raw-stream');
  assert.equal(carry('CONNECT', 'example.test:443'), 'connect');
  const c = admit(req('CONNECT', 'example.test:443', [host, auth]), local, ctx);
  assert.deepEqual(c.action === 'allow' && c.connect, { host: 'example.test', port: 443 });
});
