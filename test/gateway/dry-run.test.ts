/**
 * dryRun(): a raw request decided in-process as the gateway decides it, for each kind of
 * --identity; what the parser refuses is refused as the gateway's listener would.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dryRun, parseDryRunIdentity } from '../../src/gateway/dry-run.js';
import { parseGatewayArgs } from '../../src/cli/gateway-args.js';
import { isHijackError } from '../../src/errors.js';

const raw = (head: string[], body = '') =>
  Buffer.from(
    [...head, ...(body ? [`Content-Length: ${Buffer.byteLength(body)}`] : []), '', body].join(
      '\r\n',
    ),
  );

test('dryRun: identities by address, unix peer and certificate subject', async () => {
  const o = parseGatewayArgs(
    [
      '--preset',
      'readonly',
      '--allow-cidr',
      '10.0.0.0/8',
      '--allow-uid',
      '1000',
      '--allow-subject',
      'ci-runner',
    ],
    {},
  );
  const ping = raw(['GET /_ping HTTP/1.1', 'Host: d']);
  const run = (who: string) => dryRun(o, ping, parseDryRunIdentity(who, o));
  assert.equal((await run('ip:10.1.2.3')).allowed, true);
  const outside = await run('ip:192.168.1.1');
  assert.equal(outside.allowed, false);
  assert.equal(outside.status, 403);
  assert.equal((await run('uid:1000')).allowed, true);
  assert.equal((await run('uid:0:1000')).allowed, false);
  // Every list given must hold: a TLS client from 127.0.0.1 is outside --allow-cidr.
  assert.match((await run('cn:ci-runner')).message, /127\.0\.0\.1 is not in --allow-cidr/);
  const tls = parseGatewayArgs(['--preset', 'readonly', '--allow-subject', 'ci-runner'], {});
  const cn = (who: string) => dryRun(tls, ping, parseDryRunIdentity(who, tls));
  assert.equal((await cn('cn:ci-runner')).allowed, true);
  assert.equal((await cn('cn:someone')).allowed, false);
  assert.throws(
    () => parseDryRunIdentity('uid:x', o),
    (e: unknown) => isHijackError(e, 'ERR_USAGE'),
  );
});

test('dryRun: Expect 100-continue, an attach upgrade, a repeated Host, a head too large', async () => {
  const o = parseGatewayArgs(['--preset', 'sandbox'], {});
  const who = parseDryRunIdentity(undefined, o);
  const body = '{"Image":"mini","HostConfig":{"Privileged":true}}';
  const cont = await dryRun(
    o,
    raw(
      [
        'POST /v1.41/containers/create HTTP/1.1',
        'Host: d',
        'Content-Type: application/json',
        'Expect: 100-continue',
      ],
      body,
    ),
    who,
  );
  assert.equal(cont.status, 403);
  assert.match(cont.message, /HostConfig\.Privileged is not allowed/);
  const attach = await dryRun(
    o,
    raw([
      'POST /v1.41/containers/abc/attach?stream=1&stdin=1 HTTP/1.1',
      'Host: d',
      'Connection: Upgrade',
      'Upgrade: tcp',
    ]),
    who,
  );
  assert.equal(attach.allowed, true, attach.message);
  assert.match(attach.rule!, /^allow POST \/containers\/\{id\}\/attach from preset sandbox$/);
  const twoHosts = await dryRun(o, raw(['GET /_ping HTTP/1.1', 'Host: a', 'Host: b']), who);
  assert.equal(twoHosts.status, 400);
  assert.match(twoHosts.message, /more than one Host header/);
  const huge = await dryRun(
    o,
    raw(['GET /_ping HTTP/1.1', 'Host: d', `X: ${'a'.repeat(20000)}`]),
    who,
  );
  assert.equal(huge.status, 400);
  assert.match(huge.message, /cannot be parsed \(HPE_HEADER_OVERFLOW\)/);
  const empty = await dryRun(o, Buffer.alloc(0), who);
  assert.equal(empty.allowed, false);
  assert.match(empty.message, /no complete HTTP\/1 request/);
});
