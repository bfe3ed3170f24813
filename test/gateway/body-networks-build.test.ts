/**
 * Body rules for POST /networks/create and the query of POST /build: each escape refused
 * naming its field and rule, what the sandbox allows, ambiguous readings refused (400), and
 * admission applying them per identity.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseGatewayArgs } from '../../src/cli/gateway-args.js';
import {
  checkBodyRules,
  OPEN_BODY_RULES,
  sandboxBodyRules,
  violationMessage,
} from '../../src/gateway/policy/body-rules.js';
import { readDockerBody } from '../../src/gateway/policy/docker-bodies.js';
import { admitBuildQuery, readBuildQuery } from '../../src/gateway/policy/build-query.js';
import { admit, type AdmitContext, type AdmitRequest } from '../../src/gateway/admit.js';
import { createAuthenticator } from '../../src/gateway/identity/index.js';
import { compilePolicy, parseRule } from '../../src/gateway/policy/index.js';
import { DOCKER_RAW_STREAM_PATHS } from '../../src/gateway/server.js';
import { openAuth } from '../../src/gateway/defaults.js';

const sandbox = sandboxBodyRules([], ['mini:*']);

/** The refusal message for a network-create body under `rules`, 'ok', or 'unreadable: …'. */
function network(body: string, rules = sandbox): string {
  const read = readDockerBody('network-create', Buffer.from(body));
  if (!read.ok) return `unreadable: ${read.reason}`;
  const v = checkBodyRules('network-create', read.value, rules);
  return v ? violationMessage(v, rules) : 'ok';
}

/** What the Docker CLI 28 sends for `docker network create n1`. */
const CLI_PLAIN =
  '{"Name":"n1","Driver":"bridge","Scope":"","EnableIPv4":null,"EnableIPv6":null,"IPAM":{"Driver":"default","Options":{},"Config":[]},"Internal":false,"Attachable":false,"Ingress":false,"ConfigOnly":false,"ConfigFrom":null,"Options":{},"Labels":{}}';

test('network rules: each escape is refused naming its field and rule', () => {
  const s = 'preset sandbox';
  const cases: [string, string][] = [
    [
      '{"Name":"n","Driver":"host"}',
      `Driver "host" is not allowed (rule: networks.driver from ${s})`,
    ],
    [
      '{"Name":"n","driver":"macvlan"}',
      `Driver "macvlan" is not allowed (rule: networks.driver from ${s})`,
    ],
    [
      '{"Name":"n","\\u0044river":"ipvlan"}',
      `Driver "ipvlan" is not allowed (rule: networks.driver from ${s})`,
    ],
    [
      '{"Name":"n","Driver":"Bridge"}',
      `Driver "Bridge" is not allowed (rule: networks.driver from ${s})`,
    ],
    [
      '{"Name":"n","Options":{"com.docker.network.bridge.name":"docker0"}}',
      `Options["com.docker.network.bridge.name"] is not allowed (rule: networks.options from ${s})`,
    ],
    [
      '{"Name":"n","IPAM":{"Driver":"dhcp"}}',
      `IPAM.Driver "dhcp" is not allowed (rule: networks.ipam from ${s})`,
    ],
    [
      '{"Name":"n","ipam":{"options":{"a":"b"}}}',
      `IPAM.Options is not allowed (rule: networks.ipam from ${s})`,
    ],
    [
      '{"Name":"n","IPAM":{"Config":[{"Subnet":"192.168.1.0/24"}]}}',
      `IPAM.Config is not allowed (rule: networks.ipam from ${s})`,
    ],
    [
      '{"Name":"n","ConfigFrom":{"Network":"lan-macvlan"}}',
      `ConfigFrom "lan-macvlan" is not allowed (rule: networks.configFrom from ${s})`,
    ],
    [
      '{"Name":"n","ConfigOnly":true}',
      `ConfigOnly is not allowed (rule: networks.configFrom from ${s})`,
    ],
    ['{"Name":"n","ingress":true}', `Ingress is not allowed (rule: networks.ingress from ${s})`],
  ];
  for (const [body, want] of cases) assert.equal(network(body), want, body);
  // Open rules allow every one of them.
  for (const [body] of cases) assert.equal(network(body, OPEN_BODY_RULES), 'ok', body);
});

test('network rules: what the sandbox allows, and bodies read as dockerd reads them', () => {
  assert.equal(network(CLI_PLAIN), 'ok');
  assert.equal(network('{"Name":"n1"}'), 'ok');
  assert.equal(network('{"Name":"n1","Internal":true,"EnableIPv6":true,"Labels":{"a":"b"}}'), 'ok');
  assert.equal(
    network('{"Name":"n1","IPAM":{"Driver":"default","Config":null,"Options":null}}'),
    'ok',
  );
  // Two spellings of one field: dockerd keeps the last, a naive reader the first: refused.
  assert.match(network('{"Driver":"bridge","driver":"host"}'), /unreadable: Driver is given twice/);
  assert.match(network('{"Driver":["host"]}'), /unreadable: Driver: cannot read a JSON array/);
  assert.match(
    network('{"IPAM":{"Config":{"Subnet":"x"}}}'),
    /unreadable: IPAM\.Config: cannot read/,
  );
  // Map keys are exact, last wins (as in Go): the later duplicate option is checked too.
  assert.match(
    network(
      '{"Options":{"com.docker.network.driver.mtu":"1400","com.docker.network.driver.mtu":"1"}}',
    ),
    /Options\["com\.docker\.network\.driver\.mtu"\] is not allowed/,
  );
  const mtu = { ...sandbox, networkOptions: ['com.docker.network.driver.mtu'] };
  assert.equal(network('{"Options":{"com.docker.network.driver.mtu":"1400"}}', mtu), 'ok');
  assert.match(
    network('{"Options":{"com.docker.network.bridge.name":"x"}}', mtu),
    /networks\.options/,
  );
});

/** The refusal of a build query, as status and message, or 'ok'. */
function build(query: string, rules = sandbox, headers: string[] = []): string {
  const d = admitBuildQuery(rules, query, headers, '/build');
  return d ? `${d.status} ${d.message.replace(/^hijack gateway: /, '')}` : 'ok';
}

test('build query: each escape is refused naming its parameter and rule', () => {
  const s = 'preset sandbox';
  const cases: [string, string][] = [
    [
      'networkmode=host',
      `403 networkmode "host" is not allowed (rule: builds.networkMode from ${s})`,
    ],
    [
      'networkmode=ho%73t&t=mini:1',
      `403 networkmode "host" is not allowed (rule: builds.networkMode from ${s})`,
    ],
    [
      'networkmode=container:abc',
      `403 networkmode "container:abc" is not allowed (rule: builds.networkMode from ${s})`,
    ],
    [
      'remote=https://example.test/ctx.tar',
      `403 remote "https://example.test/ctx.tar" is not allowed (dockerd would fetch it) (rule: builds.remote from ${s})`,
    ],
    [
      't=mini:1&t=evil:latest',
      `403 t[1] "evil:latest" is not allowed (rule: builds.tag from ${s})`,
    ],
    [
      'securityopt=seccomp%3Dunconfined',
      `403 securityopt[0] "seccomp=unconfined" is not allowed (rule: builds.securityOpt from ${s})`,
    ],
    [
      `outputs=${encodeURIComponent('[{"Type":"image","Attrs":{"name":"mini:a,evil:b"}}]')}`,
      `403 outputs[0].Attrs.name "evil:b" is not allowed (rule: builds.tag from ${s})`,
    ],
  ];
  for (const [q, want] of cases) assert.equal(build(q), want, q);
  for (const [q] of cases) assert.equal(build(q, OPEN_BODY_RULES), 'ok', q);
});

test('build query: what the sandbox allows; ambiguous readings are refused (400)', () => {
  const cli =
    't=mini%3Abuilt&buildargs=%7B%7D&cachefrom=%5B%5D&cgroupparent=&cpuperiod=0&labels=%7B%7D&memory=0&networkmode=default&rm=1&shmsize=0&target=&ulimits=null&version=1';
  assert.equal(build(cli), 'ok');
  assert.equal(build(''), 'ok');
  assert.equal(build('networkmode=none'), 'ok');
  // dockerd reads query keys exactly: `NetworkMode` is not its `networkmode`.
  assert.equal(build('NetworkMode=host'), 'ok');
  const refused: [string, RegExp][] = [
    ['networkmode=none&networkmode=host', /400 .*networkmode is given more than once/],
    ['remote=&remote=git://x', /400 .*remote is given more than once/],
    ['networkmode=host;x=1', /400 .*';'/],
    ['networkmode=%zz', /400 .*malformed percent-escape/],
    [`buildargs=${encodeURIComponent('{"a":"1"} x')}`, /400 .*buildargs: invalid JSON/],
    [`labels=${encodeURIComponent('{"a":1}')}`, /400 .*labels\["a"\]: cannot read a JSON number/],
    [
      `ulimits=${encodeURIComponent('[{"Name":"nofile","name":"x"}]')}`,
      /400 .*ulimits\[0\]\.Name is given twice/,
    ],
    [`ulimits=${encodeURIComponent('[{"Hard":1.5}]')}`, /400 .*ulimits\[0\]\.Hard/],
    [`cachefrom=${encodeURIComponent('"x"')}`, /400 .*cachefrom: cannot read a JSON string/],
    [`outputs=${encodeURIComponent('\ufeff[]')}`, /400 .*outputs starts with a byte order mark/],
  ];
  for (const [q, want] of refused) assert.match(build(q), want, q);
  assert.match(
    build('networkmode=none', sandbox, ['Content-Type', 'Multipart/Form-Data; boundary=x']),
    /400 .*multipart\/form-data body/,
  );
  assert.equal(build('', sandbox, ['Content-Type', 'application/x-tar']), 'ok');
  const read = readBuildQuery(
    `buildargs=${encodeURIComponent('{"A":null,"A":"2","b":null}')}&t=a&t=b`,
  );
  assert.ok(read.ok);
  assert.deepEqual(read.value.t, ['a', 'b']);
  assert.deepEqual({ ...(read.value.buildargs as object) }, { A: '2', b: null });
});

function req(method: string, url: string, fields: [string, string][]): AdmitRequest {
  const headers: Record<string, string> = {};
  for (const [k, v] of fields) headers[k.toLowerCase()] ??= v;
  return {
    method,
    url,
    httpVersion: '1.1',
    httpVersionMajor: 1,
    rawHeaders: fields.flat(),
    headers,
  };
}

test("admit: build queries and network bodies are checked with the identity's body rules", () => {
  const ctx: AdmitContext = {
    policy: compilePolicy({
      rules: [
        parseRule('POST /build', 'allow', 't'),
        parseRule('POST /networks/create', 'allow', 't'),
      ],
      blocks: [{ when: { uid: [0] }, rules: [], body: OPEN_BODY_RULES }],
      body: sandbox,
    }),
    auth: createAuthenticator({ ...openAuth(), allowUid: [0, 1000] }),
    forwardProxy: { enabled: false, connectAllow: [] },
    maxHeadersCount: 50,
    maxBody: 0,
    rawStreamPaths: DOCKER_RAW_STREAM_PATHS,
  };
  const user = { transport: 'unix' as const, peer: { pid: 1, uid: 1000, gid: 1000 } };
  const rootUser = { transport: 'unix' as const, peer: { pid: 1, uid: 0, gid: 0 } };
  const tar: [string, string][] = [
    ['Host', 'd'],
    ['Content-Type', 'application/x-tar'],
    ['Content-Length', '10'],
  ];
  const b = admit(req('POST', '/v1.41/build?networkmode=host&t=mini:x', tar), user, ctx);
  assert.equal(b.action, 'deny');
  assert.equal((b as { status: number }).status, 403);
  assert.match(
    (b as { message: string }).message,
    /networkmode "host" is not allowed \(rule: builds\.networkMode/,
  );
  assert.equal(
    admit(req('POST', '/v1.41/build?networkmode=host', tar), rootUser, ctx).action,
    'allow',
  );
  assert.equal(
    admit(req('POST', '/build?networkmode=none&t=mini:x', tar), user, ctx).action,
    'allow',
  );
  // A network create's body is read before it is forwarded.
  const json: [string, string][] = [
    ['Host', 'd'],
    ['Content-Type', 'application/json'],
    ['Content-Length', '20'],
  ];
  const n = admit(req('POST', '/v1.41/networks/create', json), user, ctx);
  assert.equal(n.action, 'allow');
  assert.equal((n as { body?: { kind: string } }).body?.kind, 'network-create');
  // Without body rules nothing is read or checked.
  const plain = {
    ...ctx,
    policy: compilePolicy({ rules: [parseRule('POST /build', 'allow', 't')], blocks: [] }),
  };
  assert.equal(admit(req('POST', '/build?networkmode=host', tar), user, plain).action, 'allow');
});

test('config file: network and build rules under body:, refusals name file and line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gw-netb-'));
  try {
    const file = join(dir, 'gateway.yaml');
    writeFileSync(
      file,
      [
        'preset: exec',
        "allow: ['POST /networks/create', 'POST /build']",
        '# the lines below are the rules',
        'body:',
        '  networkDrivers: [bridge, overlay]',
        '  networkOptions: [com.docker.network.driver.mtu]',
        '  buildNetworkModes: "*"',
        '  buildRemote: false',
        '  networkIpam: true',
        '',
      ].join('\n'),
    );
    const body = parseGatewayArgs(['--config', file], {}).policy.body!;
    assert.deepEqual(body.networkDrivers, ['bridge', 'overlay']);
    assert.equal(body.buildNetworkModes, '*');
    assert.equal(body.networkIngress, false);
    assert.equal(
      network('{"Driver":"overlay","IPAM":{"Config":[{"Subnet":"10.1.0.0/16"}]}}', body),
      'ok',
    );
    assert.equal(
      network('{"Driver":"host"}', body),
      `Driver "host" is not allowed (rule: networks.driver from ${file}:4)`,
    );
    assert.equal(build('networkmode=host', body), 'ok');
    assert.equal(
      build('remote=git://x', body),
      `403 remote "git://x" is not allowed (dockerd would fetch it) (rule: builds.remote from ${file}:4)`,
    );
    writeFileSync(file, 'preset: exec\nbody:\n  buildRemote: sometimes\n');
    assert.throws(
      () => parseGatewayArgs(['--config', file], {}),
      /gateway\.yaml:3:\d+: body\.buildRemote must be true or false/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
