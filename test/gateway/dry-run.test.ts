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

test('dryRun under scope owner: the conditions only the daemon can answer, and the rewrites', async () => {
  const o = parseGatewayArgs(
    [
      '--preset',
      'sandbox',
      '--allow',
      'POST /containers/{id}/rename',
      '--allow',
      'GET /system/df',
      '--allow',
      'POST /networks/{id}/connect',
      '--allow',
      'POST /networks/create',
    ],
    {},
  );
  const who = parseDryRunIdentity('uid:1000', o);
  const json = ['Host: d', 'Content-Type: application/json'];
  const run = (line: string, body = '', head = json) => dryRun(o, raw([line, ...head], body), who);
  const inspect = await run('GET /v1.41/containers/web/json HTTP/1.1');
  assert.equal(inspect.allowed, true);
  assert.deepEqual(inspect.scope, { scope: 'owner', source: 'preset sandbox', owner: 'uid:1000' });
  assert.deepEqual(inspect.ownership, [
    'allowed if uid:1000 owns container "web"; else 404 No such container: web, as dockerd answers for a missing one',
    'forwarded as /v1.41/containers/<full id of web>/json, pinned to the object whose owner was checked',
  ]);
  // dockerd's own missing-object answers, per route and kind.
  const kill = await run('POST /containers/web/kill HTTP/1.1');
  assert.match(kill.ownership![0]!, /else 404 Cannot kill container: web: No such container: web,/);
  const exec = await run('POST /exec/e1/start HTTP/1.1', '{"Detach":true}');
  assert.match(
    exec.ownership![0]!,
    /^allowed if uid:1000 owns exec instance "e1"; else 404 No such exec instance: e1,/,
  );
  // A list: the owner filter merged into the client's filters, before/since must be owned.
  const list = await run(
    `GET /containers/json?all=1&filters=${encodeURIComponent('{"status":["running"],"before":["old"]}')} HTTP/1.1`,
  );
  assert.deepEqual(list.ownership, [
    'allowed if uid:1000 owns container "old" (named by a before/since filter); else 500 no such container old, as dockerd answers for a missing one',
    `forwarded as /containers/json?all=1&filters=${encodeURIComponent('{"status":{"running":true},"before":{"old":true},"label":{"hijack.owner=uid:1000":true}}')}: label=hijack.owner=uid:1000 merged into filters, so only uid:1000's objects are listed`,
  ]);
  // A create: the label added, its name and the containers it names checked, modes pinned.
  const create = await run(
    'POST /containers/create?name=job HTTP/1.1',
    '{"Image":"mini","HostConfig":{"VolumesFrom":["web:ro"],"NetworkMode":"container:/db"}}',
  );
  assert.equal(create.allowed, true, create.message);
  assert.deepEqual(create.ownership, [
    'the body is forwarded with the label hijack.owner=uid:1000 added to its Labels',
    'refused (403) if container "/job" (name) exists and is not uid:1000\'s',
    'allowed if uid:1000 owns container "web" (HostConfig.VolumesFrom[0]); else 403 HostConfig.VolumesFrom[0] names container "web", which is not yours (scope owner); HostConfig.VolumesFrom[0] is then forwarded as the full id of "web"',
    'allowed if uid:1000 owns container "/db" (HostConfig.NetworkMode); else 403 HostConfig.NetworkMode names container "/db", which is not yours (scope owner); HostConfig.NetworkMode is then forwarded as the full id of "db"',
  ]);
  // The owner label is the gateway's: a client's own is refused, however its key is spelt.
  for (const labels of ['"Labels":{"hijack.owner":"x"}', '"labels":{"hijack\\u002eowner":"x"}']) {
    const own = await run('POST /containers/create HTTP/1.1', `{"Image":"mini",${labels}}`);
    assert.equal(own.allowed, false, labels);
    assert.equal(own.status, 403);
    assert.match(own.message, /^Labels\["hijack\.owner"\] is set by the gateway \(scope owner\)/);
  }
  const net = await run('POST /networks/create HTTP/1.1', '{"Name":"n1"}');
  assert.deepEqual(net.ownership, [
    'the body is forwarded with the label hijack.owner=uid:1000 added to its Labels',
  ]);
  const connect = await run('POST /networks/n1/connect HTTP/1.1', '{"Container":"web"}');
  assert.deepEqual(connect.ownership, [
    'allowed if uid:1000 owns network "n1"; else 404 network n1 not found, as dockerd answers for a missing one',
    'forwarded as /networks/<full id of n1>/connect, pinned to the object whose owner was checked',
    'allowed if uid:1000 owns container "web" (Container); else 403 Container names container "web", which is not yours (scope owner)',
  ]);
  const rename = await run('POST /containers/web/rename?name=other HTTP/1.1');
  assert.match(
    rename.ownership![1]!,
    /^refused \(403\) if a container named "other" exists and is not uid:1000's$/,
  );
  const df = await run('GET /system/df HTTP/1.1');
  assert.equal(df.status, 403);
  assert.match(df.message, /GET \/system\/df is not available under scope owner/);
  const ping = await run('GET /_ping HTTP/1.1');
  assert.deepEqual(ping.ownership, [
    'nothing to check: the request names no container, exec, volume or network of anyone',
  ]);
  // Scope all: no ownership step at all.
  const all = parseGatewayArgs(['--preset', 'sandbox', '--scope', 'all'], {});
  const plain = await dryRun(all, raw(['GET /containers/web/json HTTP/1.1', 'Host: d']), who);
  assert.deepEqual(plain.scope, { scope: 'all', source: 'flag --scope' });
  assert.equal(plain.ownership, undefined);
});

test('dryRun under scope owner without body rules: a create body is still read whole, to its limit', async () => {
  const o = parseGatewayArgs(['--scope', 'owner', '--allow', 'POST /containers/create'], {});
  const who = parseDryRunIdentity('ip:127.0.0.1', o);
  const chunked = (body: string) =>
    Buffer.from(
      'POST /containers/create HTTP/1.1\r\nHost: d\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n' +
        `${Buffer.byteLength(body).toString(16)}\r\n${body}\r\n0\r\n\r\n`,
    );
  const ok = await dryRun(o, chunked('{"Image":"mini","HostConfig":{"Privileged":true}}'), who);
  assert.equal(ok.allowed, true, ok.message);
  assert.equal(ok.bodyRules, undefined);
  assert.deepEqual(ok.ownership, [
    'the body is forwarded with the label hijack.owner=addr:127.0.0.1 added to its Labels',
  ]);
  const big = await dryRun(o, chunked(`{"Image":"${'x'.repeat(1 << 20)}"}`), who);
  assert.equal(big.status, 413);
  assert.match(big.message, /over the 1048576 bytes the policy reads/);
});
