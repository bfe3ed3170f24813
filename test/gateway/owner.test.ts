/**
 * Scope owner, the pure parts (policy/owner.ts): owner names, the plan per route (objects
 * named, pinned targets, merged filters), Go-exact reading of dockerd's `filters`, the owner
 * label inserted into create bodies (proven against Go's encoding/json: the docker-body peer
 * reads the rewritten body as the original plus the label), and the objects a body names.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { buildGoPeer } from '../helpers/go.js';
import { requirePeer } from '../helpers/peers.js';
import { compilePolicy } from '../../src/gateway/policy/index.js';
import { parseRule } from '../../src/gateway/policy/rule.js';
import { readDockerBody } from '../../src/gateway/policy/docker-bodies.js';
import {
  formatFilters,
  insertOwnerLabel,
  mergeOwnerFilter,
  notFound,
  ownedBody,
  ownerName,
  ownerPlan,
  pinBody,
  readFilters,
  type OwnerPlan,
} from '../../src/gateway/policy/owner.js';
import { lookupPathPart } from '../../src/gateway/forward/owner-lookup.js';
import { admit, type AdmitContext, type AdmitRequest } from '../../src/gateway/admit.js';
import { createAuthenticator } from '../../src/gateway/identity/index.js';
import { openAuth } from '../../src/gateway/defaults.js';
import { DOCKER_RAW_STREAM_PATHS } from '../../src/gateway/server.js';
import { parseGatewayArgs } from '../../src/cli/gateway-args.js';
import { parseConfigText } from '../../src/gateway/config/file.js';
import { checkBodyRules } from '../../src/gateway/policy/body-rules.js';
import type { ClientIdentity, PolicyDecision } from '../../src/gateway/types.js';

const alice: ClientIdentity = { transport: 'tcp', address: '127.0.0.1', token: 'alice' };
const policy = compilePolicy({
  rules: [parseRule('* /**', 'allow', 'test')],
  blocks: [],
});

/** The owner plan of `method url` for alice (throws on a refusal). */
function plan(method: string, url: string): OwnerPlan {
  const d = policy.decide({ method, url }, alice) as Extract<PolicyDecision, { action: 'allow' }>;
  assert.equal(d.action, 'allow', url);
  const p = ownerPlan(method, d, alice);
  assert.ok(!('action' in p), `${url}: ${JSON.stringify(p)}`);
  return p;
}

test('owner: names from token, certificate, unix uid, address', () => {
  assert.equal(ownerName(alice), 'alice');
  assert.equal(
    ownerName({
      transport: 'tls',
      cert: { subject: 'ci', fingerprint256: 'AA', authorized: true },
    }),
    'cert:ci',
  );
  assert.equal(
    ownerName({
      transport: 'tls',
      cert: { subject: 'ci', fingerprint256: 'AA', authorized: false },
      address: '10.0.0.1',
    }),
    'addr:10.0.0.1',
  );
  assert.equal(
    ownerName({ transport: 'unix', peer: { pid: 1, uid: 1000, gid: 1000 } }),
    'uid:1000',
  );
});

test('owner: the plan pins the object the path names to what the daemon resolves', () => {
  const p = plan('GET', '/v1.41/containers/web/json?size=1');
  assert.deepEqual(p.refs, [{ kind: 'container', ref: 'web', answer: 'missing' }]);
  assert.equal(p.pin!.before + 'ID' + p.pin!.after, '/v1.41/containers/ID/json?size=1');
  // A legacy link name spans segments (dockerd's {name:.*}).
  const multi = plan('DELETE', '/containers/a/b?force=1');
  assert.equal(multi.refs[0]!.ref, 'a/b');
  assert.equal(multi.pin!.before + 'ID' + multi.pin!.after, '/containers/ID?force=1');
  // Percent-escapes are decoded as dockerd decodes the path.
  assert.equal(plan('POST', '/v1.43/containers/w%65b/stop').refs[0]!.ref, 'web');
  const exec = plan('POST', '/v1.41/exec/abc/start');
  assert.deepEqual(exec.refs, [{ kind: 'exec', ref: 'abc', answer: 'missing' }]);
  assert.equal(plan('GET', '/v1.41/exec/abc/json').refs[0]!.kind, 'exec');
  assert.equal(plan('POST', '/exec/abc/resize?h=1&w=1').refs[0]!.kind, 'exec');
  assert.equal(plan('POST', '/containers/web/exec').refs[0]!.kind, 'container');
  assert.equal(plan('GET', '/containers/web/attach/ws').refs[0]!.ref, 'web');
  assert.equal(plan('HEAD', '/containers/web/archive?path=/').refs[0]!.ref, 'web');
  assert.equal(plan('PUT', '/containers/web/archive?path=/').refs[0]!.ref, 'web');
  assert.equal(plan('GET', '/volumes/data').refs[0]!.kind, 'volume');
  assert.equal(plan('DELETE', '/volumes/data').refs[0]!.kind, 'volume');
  const conn = plan('POST', '/networks/n1/connect');
  assert.equal(conn.refs[0]!.kind, 'network');
  assert.equal(conn.body!.kind, 'network-connect');
  assert.equal(plan('POST', '/commit?container=web&repo=x').refs[0]!.ref, 'web');
  for (const [url, kind] of [
    ['/containers/create', 'container-create'],
    ['/volumes/create', 'volume-create'],
    ['/networks/create', 'network-create'],
  ] as const) {
    const c = plan('POST', url);
    assert.equal(c.body!.kind, kind);
    assert.deepEqual(c.refs, []);
  }
  // Nothing to do for routes without owned objects.
  assert.deepEqual(plan('GET', '/_ping'), { owner: 'alice', refs: [] });
  assert.deepEqual(plan('GET', '/images/json'), { owner: 'alice', refs: [] });
  // A route that shows everybody's objects is refused.
  const d = policy.decide({ method: 'GET', url: '/system/df' }, alice);
  const refused = ownerPlan('GET', d as Extract<PolicyDecision, { action: 'allow' }>, alice);
  assert.ok('action' in refused);
  assert.equal(refused.status, 403);
  assert.match(refused.message, /not available under scope owner/);
});

test('owner: filters are read as dockerd reads them (modern, legacy, null, refused)', () => {
  const show = (raw: string) => {
    const r = readFilters(raw);
    return typeof r === 'string'
      ? 'refused'
      : Object.fromEntries([...r].map(([k, v]) => [k, [...v].sort()]));
  };
  assert.deepEqual(show(''), {});
  assert.deepEqual(show('null'), {});
  assert.deepEqual(show('{"label":{"a=1":true,"b":false}}'), { label: ['a=1', 'b'] });
  assert.deepEqual(show('{"label":["a=1","b"]}'), { label: ['a=1', 'b'] });
  assert.deepEqual(show('{"label":null}'), { label: [] });
  assert.deepEqual(show('{"label":{"a":null}}'), { label: ['a'] });
  assert.deepEqual(show('{"label":[null]}'), { label: [''] });
  // Duplicate keys: the last wins, as Go's map decoding does.
  assert.deepEqual(show('{"label":{"a":true},"label":{"b":true}}'), { label: ['b'] });
  // Mixed forms, wrong types, bad JSON: dockerd refuses them too (400/500); so do we.
  assert.equal(show('{"label":{"a":true},"name":["x"]}'), 'refused');
  assert.equal(show('{"label":{"a":"x"}}'), 'refused');
  assert.equal(show('{"label":"a"}'), 'refused');
  assert.equal(show('["a"]'), 'refused');
  assert.equal(show('{"label":{"a":true}} x'), 'refused');
  assert.equal(
    formatFilters(readFilters('{"a":["x"]}') as Map<string, Set<string>>),
    '{"a":{"x":true}}',
  );
});

test('owner: the owner filter is merged into the first filters; every other parameter kept', () => {
  const m = mergeOwnerFilter(
    `/v1.41/containers/json?all=1&filters=${encodeURIComponent('{"name":["web"],"label":["x=1"]}')}&size=%31&filt%65rs=${encodeURIComponent('{"label":["evil"]}')}`,
    'alice',
    true,
  );
  assert.ok(typeof m !== 'string');
  const [path, query] = m.target.split('?');
  assert.equal(path, '/v1.41/containers/json');
  const parts = query!.split('&');
  assert.deepEqual(parts.slice(0, 2), ['all=1', 'size=%31']);
  assert.equal(parts.length, 3);
  const f = readFilters(decodeURIComponent(parts[2]!.slice('filters='.length))) as Map<
    string,
    Set<string>
  >;
  assert.deepEqual([...f.get('label')!].sort(), ['hijack.owner=alice', 'x=1']);
  assert.deepEqual([...f.get('name')!], ['web']);
  assert.deepEqual(m.refs, []);
  const none = mergeOwnerFilter('/events', 'bob');
  assert.ok(typeof none !== 'string');
  assert.equal(
    none.target,
    `/events?filters=${encodeURIComponent('{"label":{"hijack.owner=bob":true}}')}`,
  );
  const named = mergeOwnerFilter(
    `/containers/json?filters=${encodeURIComponent('{"before":{"a":true},"since":{"b":true}}')}`,
    'x',
    true,
  );
  assert.ok(typeof named !== 'string');
  assert.deepEqual(named.refs, ['a', 'b']);
  assert.equal(typeof mergeOwnerFilter('/containers/json?filters=%7B', 'x'), 'string');
  // Through the plan: a list gets the merged target.
  const p = plan('GET', '/v1.41/volumes?filters=%7B%22dangling%22%3A%5B%22true%22%5D%7D');
  assert.match(p.target!, /^\/v1\.41\/volumes\?filters=/);
  assert.match(decodeURIComponent(p.target!), /"hijack\.owner=alice":true/);
});

test('owner: a missing object is answered as dockerd answers it', () => {
  assert.deepEqual(
    notFound('container', 'web', 'missing', 'GET /containers/{name:.*}/json', '1.41'),
    {
      status: 404,
      message: 'No such container: web',
      contentType: 'application/json',
      body: '{"message":"No such container: web"}\n',
    },
  );
  assert.equal(
    notFound('exec', 'e', 'missing', undefined, undefined).message,
    'No such exec instance: e',
  );
  assert.equal(
    notFound('volume', 'v', 'missing', undefined, undefined).message,
    'get v: no such volume',
  );
  assert.equal(
    notFound('network', 'n', 'missing', undefined, undefined).message,
    'network n not found',
  );
  assert.equal(
    notFound('container', 'w', 'missing', undefined, '1.23').contentType,
    'text/plain; charset=utf-8',
  );
  assert.equal(
    notFound('container', 'w', 'missing', 'POST /containers/{name:.*}/attach', '1.41').body,
    'No such container: w\r\n',
  );
  assert.equal(notFound('container', 'w', 'list-filter', undefined, '1.41').status, 500);
  assert.equal(lookupPathPart('a/b c?#%é'), 'a/b%20c%3F%23%25%C3%A9');
});

/** Labels of a decoded body (create: Config.Labels). */
function labelsOf(kind: 'container-create' | 'volume-create', body: Buffer): unknown {
  const r = readDockerBody(kind, body);
  assert.ok(r.ok, r.ok ? '' : r.reason);
  const v = r.value as Record<string, Record<string, unknown>>;
  return kind === 'container-create' ? v['Config']!['Labels'] : v['Labels'];
}

/** Create bodies whose Labels is spelled, placed and filled in every way Go reads alike. */
function labelBodies(): string[] {
  const keys = ['Labels', 'labels', 'LABELS', '\\u004cabels', 'Label\u017f', 'lAbElS'];
  const values = [
    'null',
    '{}',
    '{ }',
    '{"a":"1"}',
    '{"a":"1","a":"2"}',
    ' {"x":"é\\u00e9","y":""} ',
    '{"Hijack.Owner":"bob","hijack.owner ":"x"}',
  ];
  const others = [
    '',
    '"Image":"mini"',
    '"Image":"mini","HostConfig":{"NetworkMode":"none"}',
    '"Env":["A=1"],"Cmd":["true"]',
  ];
  const out: string[] = [];
  for (const o of others) {
    out.push(`{${o}}`, ` { ${o} } `);
    for (const k of keys) {
      for (const v of values) {
        const m = `"${k}":${v}`;
        out.push(o === '' ? `{${m}}` : `{${m},${o}}`, o === '' ? `{\n${m}\n}` : `{${o},\n ${m}}`);
      }
    }
  }
  return out;
}

test('owner: the owner label is inserted in place; dockerd (Go) reads the body plus the label', (t) => {
  const bodies = labelBodies();
  const edited: Buffer[] = [];
  for (const text of bodies) {
    const body = Buffer.from(text);
    for (const kind of ['container-create', 'volume-create'] as const) {
      const r = ownedBody(kind, body, 'alice', 'POST /x', '/x');
      assert.ok(r.ok, `${text}: ${r.ok ? '' : r.refusal.message}`);
      const before = (labelsOf(kind, body) ?? {}) as Record<string, string>;
      assert.deepEqual(
        { ...(labelsOf(kind, r.body) as object) },
        { 'hijack.owner': 'alice', ...before },
      );
      if (kind === 'container-create') edited.push(body, r.body);
    }
  }
  assert.ok(bodies.length >= 340, String(bodies.length));
  if (requirePeer(t, 'go', 'Go 1.19 encoding/json oracle') === null) return;
  const bin = buildGoPeer('docker-body');
  const input = edited.map((b) => `container-create ${b.toString('hex')}\n`).join('');
  const go = spawnSync(bin, [], { input, encoding: 'utf8', maxBuffer: 1 << 28 });
  assert.equal(go.status, 0, go.stderr);
  const lines = go.stdout.trim().split('\n');
  assert.equal(lines.length, edited.length);
  for (let i = 0; i < lines.length; i += 2) {
    const was = JSON.parse(lines[i]!) as { Config: { Labels: Record<string, string> | null } };
    const now = JSON.parse(lines[i + 1]!) as typeof was;
    const want = structuredClone(was);
    want.Config.Labels = { ...(was.Config.Labels ?? {}), 'hijack.owner': 'alice' };
    assert.deepEqual(now, want, `${edited[i]} → ${edited[i + 1]}`);
  }
});

test('owner: a client-supplied owner label is refused, in any spelling Go reads', () => {
  for (const text of [
    '{"Labels":{"hijack.owner":"bob"}}',
    '{"labels":{"hijack\\u002eowner":"alice"}}',
    '{"Image":"x","Labels":{"a":"1","hijack.owner":""}}',
  ]) {
    const r = ownedBody(
      'container-create',
      Buffer.from(text),
      'alice',
      'POST /containers/create',
      '/containers/create',
    );
    assert.ok(!r.ok, text);
    assert.equal(r.refusal.status, 403);
    assert.match(r.refusal.message, /Labels\["hijack\.owner"\] is set by the gateway/);
  }
  // The label key is case-sensitive in Docker: another case is just another label.
  const other = ownedBody(
    'volume-create',
    Buffer.from('{"Labels":{"Hijack.Owner":"bob"}}'),
    'alice',
    'r',
    '/',
  );
  assert.ok(other.ok);
  // Duplicate Labels under Go's folding: refused (Go would merge the two maps).
  const dup = ownedBody(
    'container-create',
    Buffer.from('{"Labels":{"a":"1"},"labels":{"hijack.owner":"bob"}}'),
    'alice',
    'r',
    '/',
  );
  assert.ok(!dup.ok);
  assert.equal(dup.refusal.status, 400);
  assert.equal(typeof insertOwnerLabel(Buffer.from('[1]'), 'a'), 'string');
});

test('owner: references are pinned to the checked ids in place; dockerd reads just that change', () => {
  const text =
    '{"Image":"x","hostconfig":{"VolumesFrom":["a:ro", "\\u0062"],"pidmode":"container:c","Binds":["/h:/h"]}}';
  const r = ownedBody('container-create', Buffer.from(text), 'me', 'r', '/');
  assert.ok(r.ok);
  const pins = r.refs.map((x, i) => ({ pin: x.pin!, id: `ID${i}` }));
  const out = pinBody(r.body, pins);
  assert.ok(Buffer.isBuffer(out), String(out));
  assert.equal(
    out.toString(),
    '{"Labels":{"hijack.owner":"me"},"Image":"x","hostconfig":{"VolumesFrom":["ID0:ro", "ID1"],"pidmode":"container:ID2","Binds":["/h:/h"]}}',
  );
  assert.equal(pinBody(r.body, []), r.body);
});

test('owner: the objects a create body names', () => {
  const body = {
    Image: 'x',
    HostConfig: {
      VolumesFrom: ['c1:ro', '/c2'],
      NetworkMode: 'container:c3',
      PidMode: 'container:c4',
      IpcMode: 'container:c5',
      Links: ['/c6:/me/alias', 'c7'],
      Binds: ['vol1:/a', '/host:/b', 'anon'],
      Mounts: [
        { Type: 'volume', Source: 'vol2', Target: '/c' },
        { Type: 'volume', Target: '/d' },
      ],
    },
    NetworkingConfig: { EndpointsConfig: { net1: {}, bridge: {} } },
  };
  const r = ownedBody('container-create', Buffer.from(JSON.stringify(body)), 'a', 'r', '/');
  assert.ok(r.ok);
  assert.deepEqual(r.refs, [
    {
      kind: 'container',
      ref: 'c1',
      field: 'HostConfig.VolumesFrom[0]',
      pin: { path: ['HostConfig', 'VolumesFrom', 0], prefix: '', suffix: ':ro' },
    },
    {
      kind: 'container',
      ref: 'c2',
      field: 'HostConfig.VolumesFrom[1]',
      byName: true,
      pin: { path: ['HostConfig', 'VolumesFrom', 1], prefix: '', suffix: '' },
    },
    ...['NetworkMode', 'PidMode', 'IpcMode'].map((f, i) => ({
      kind: 'container',
      ref: `c${i + 3}`,
      field: `HostConfig.${f}`,
      pin: { path: ['HostConfig', f], prefix: 'container:', suffix: '' },
    })),
    { kind: 'volume', ref: 'vol1', field: 'HostConfig.Binds[0]' },
    { kind: 'volume', ref: 'vol2', field: 'HostConfig.Mounts[0].Source' },
    { kind: 'container', ref: 'c6', field: 'HostConfig.Links[0]', byName: true },
    { kind: 'container', ref: 'c7', field: 'HostConfig.Links[1]' },
    { kind: 'network', ref: 'net1', field: 'NetworkingConfig.EndpointsConfig["net1"]' },
  ]);
  // A user-defined network mode is a network to own; dockerd's `container:` is case-sensitive.
  const net = ownedBody(
    'container-create',
    Buffer.from('{"HostConfig":{"NetworkMode":"Container:x"}}'),
    'a',
    'r',
    '/',
  );
  assert.ok(net.ok);
  assert.deepEqual(net.refs, [
    { kind: 'network', ref: 'Container:x', field: 'HostConfig.NetworkMode' },
  ]);
  const conn = ownedBody(
    'network-connect',
    Buffer.from('{"container":"c9","EndpointConfig":{}}'),
    'a',
    'r',
    '/',
  );
  assert.ok(conn.ok);
  assert.deepEqual(conn.refs, [{ kind: 'container', ref: 'c9', field: 'Container' }]);
  assert.equal(conn.body.toString(), '{"container":"c9","EndpointConfig":{}}');
  const twice = ownedBody(
    'network-connect',
    Buffer.from('{"Container":"a","container":"b"}'),
    'a',
    'r',
    '/',
  );
  assert.ok(!twice.ok);
});

test('owner: scope from --scope, config scope:, blocks, and the sandbox preset', () => {
  assert.equal(parseGatewayArgs(['--preset', 'sandbox'], {}).policy.scope, 'owner');
  assert.equal(parseGatewayArgs(['--preset', 'sandbox', '--scope', 'all'], {}).policy.scope, 'all');
  assert.equal(parseGatewayArgs(['--allow', 'GET /_ping'], {}).policy.scope, undefined);
  assert.equal(
    parseGatewayArgs(['--allow', 'GET /_ping', '--scope', 'owner'], {}).policy.scope,
    'owner',
  );
  assert.throws(
    () => parseGatewayArgs(['--allow', 'GET /_ping', '--scope', 'mine'], {}),
    /--scope: unknown scope 'mine' \(use all, owner\)/,
  );
  const s = parseConfigText(
    "scope: owner\nallow: ['GET /_ping']\nblocks:\n  - when: { token: [admin] }\n    scope: all\n",
    'gw.yaml',
  );
  assert.equal(s.scope, 'owner');
  assert.equal(s.blocks![0]!.scope, 'all');
  assert.throws(
    () => parseConfigText('scope: mine\n', 'gw.yaml'),
    /gw\.yaml:1:8: unknown scope 'mine'/,
  );
  const p = compilePolicy({
    rules: [],
    blocks: [{ when: { token: ['admin'] }, rules: [], scope: 'all' }],
    scope: 'owner',
  });
  assert.equal(p.scope(alice), 'owner');
  assert.equal(p.scope({ ...alice, token: 'admin' }), 'all');
  assert.equal(compilePolicy({ rules: [], blocks: [] }).scope(alice), 'all');
});

test('owner: admission under scope owner reads create bodies whole and lets container:<own> past the body rules', () => {
  const spec = parseGatewayArgs(
    ['--preset', 'sandbox', '--allow', 'POST /networks/create'],
    {},
  ).policy;
  const ctx: AdmitContext = {
    policy: compilePolicy(spec),
    auth: createAuthenticator(openAuth()),
    forwardProxy: { enabled: false, connectAllow: [] },
    maxHeadersCount: 100,
    maxBody: 0,
    rawStreamPaths: DOCKER_RAW_STREAM_PATHS,
  };
  const req = (method: string, url: string, type = 'application/json'): AdmitRequest => ({
    method,
    url,
    httpVersion: '1.1',
    httpVersionMajor: 1,
    rawHeaders: ['Host', 'd', 'Content-Type', type, 'Content-Length', '2'],
    headers: { host: 'd', 'content-type': type, 'content-length': '2' },
  });
  const facts = { transport: 'tcp' as const, address: '127.0.0.1' };
  const net = admit(req('POST', '/v1.41/networks/create'), facts, ctx);
  assert.equal(net.action, 'allow');
  // The sandbox's network rules read the body, and scope owner labels it.
  assert.ok(
    net.action === 'allow' &&
      net.owner?.body?.kind === 'network-create' &&
      net.body?.kind === 'network-create',
  );
  assert.equal(net.action === 'allow' && net.bodyLimit, 1 << 20);
  // Scope owner without body rules still reads a create body whole, to label it.
  const bare = parseGatewayArgs(['--scope', 'owner', '--allow', 'POST /networks/create'], {});
  const bareNet = admit(req('POST', '/v1.41/networks/create'), facts, {
    ...ctx,
    policy: compilePolicy(bare.policy),
  });
  assert.ok(
    bareNet.action === 'allow' &&
      bareNet.owner?.body?.kind === 'network-create' &&
      bareNet.body === undefined &&
      bareNet.bodyLimit === 1 << 20,
  );
  const text = admit(req('POST', '/v1.41/networks/create', 'text/plain'), facts, ctx);
  assert.equal(text.action === 'deny' && text.status, 400);
  const create = admit(req('POST', '/v1.41/containers/create'), facts, ctx);
  assert.ok(create.action === 'allow' && create.body?.rules.ownedRefs === true);
  const rules = create.action === 'allow' ? create.body!.rules : undefined;
  const mode = (m: string) =>
    checkBodyRules(
      'container-create',
      { Config: { Image: 'x' }, HostConfig: { NetworkMode: m, VolumesFrom: ['c'] } },
      rules!,
    );
  assert.equal(mode('container:web'), undefined);
  assert.equal(mode('host')?.field, 'HostConfig.NetworkMode');
  assert.equal(mode('Container:web')?.field, 'HostConfig.NetworkMode');
  // Without scope owner, the sandbox refuses both.
  const plain = checkBodyRules(
    'container-create',
    { HostConfig: { NetworkMode: 'container:web' } },
    { ...rules!, ownedRefs: false },
  );
  assert.equal(plain?.field, 'HostConfig.NetworkMode');
  const ps = admit(req('GET', '/v1.41/containers/json?all=1'), facts, ctx);
  assert.ok(ps.action === 'allow');
  assert.match(ps.owner!.target!, /^\/v1\.41\/containers\/json\?all=1&filters=/);
  assert.match(decodeURIComponent(ps.owner!.target!), /"hijack\.owner=addr:127\.0\.0\.1":true/);
});

/** Random `filters` values: both forms, mixed, duplicates, nulls, wrong types, escapes, junk. */
function filterValues(n: number, seed: number): string[] {
  let x = seed >>> 0 || 1;
  const rnd = (k: number) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % k;
  };
  const pick = <T>(a: readonly T[]) => a[rnd(a.length)]!;
  const keys = ['"label"', '"name"', '"Label"', '"l\\u0061bel"', '"id"', '"a\\"b"', '"é😀"', '""'];
  const strs = ['"x"', '"hijack.owner=bob"', '"a=1"', '"\\u00e9"', '"😀"', '""', '"x\\u0000y"'];
  const inner = () => {
    switch (rnd(12)) {
      case 0:
        return 'null';
      case 1:
        return `[${Array.from({ length: rnd(3) }, () => pick([...strs, 'null', '1'])).join(',')}]`;
      case 2:
        return pick(['"x"', '1', 'true', '{"x":"s"}', '{"x":1}', '[[]]']);
      default:
        return `{${Array.from({ length: rnd(3) }, () => `${pick(strs)}:${pick(['true', 'false', 'null', 'true', 'true', '0'])}`).join(',')}}`;
    }
  };
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = rnd(20);
    if (r === 0)
      out.push(pick(['', 'null', '[]', '{}', '1', '"s"', '{', '{"a":[}', ' {} ', '{}x', 'nul']));
    else {
      const entries = Array.from(
        { length: 1 + rnd(3) },
        () => `${pick(keys)}${pick(['', ' '])}:${pick(['', ' '])}${inner()}`,
      );
      out.push(`${pick(['', ' ', '\n'])}{${entries.join(',')}}${pick(['', ' ', '\t'])}`);
    }
  }
  return out;
}

test('owner: filters are read exactly as dockerd’s filters.FromJSON (Go) or refused', (t) => {
  if (requirePeer(t, 'go', 'Go 1.19 encoding/json oracle') === null) return;
  const seed = Number(process.env['FILTER_SEED'] ?? Date.now() % 1e9);
  t.diagnostic(`seed ${seed} (FILTER_SEED=${seed} replays)`);
  const values = filterValues(3000, seed);
  const bin = buildGoPeer('docker-filters');
  const input = values.map((v) => `${Buffer.from(v).toString('hex')}\n`).join('');
  const go = spawnSync(bin, [], { input, encoding: 'utf8', maxBuffer: 1 << 28 });
  assert.equal(go.status, 0, go.stderr);
  const lines = go.stdout.split('\n');
  lines.pop();
  assert.equal(lines.length, values.length);
  let agreed = 0;
  let goErrors = 0;
  for (let i = 0; i < values.length; i++) {
    const ours = readFilters(values[i]!);
    const where = `seed ${seed}: ${JSON.stringify(values[i])} go: ${lines[i]}`;
    if (lines[i] === 'ERR') {
      goErrors++;
      assert.equal(typeof ours, 'string', `Go refused, we read it: ${where}`);
      continue;
    }
    if (typeof ours === 'string') continue;
    agreed++;
    const sorted = (o: Record<string, string[]>) =>
      Object.fromEntries(Object.entries(o).map(([k, v]) => [k, [...v].sort()]));
    const mine = sorted(Object.fromEntries([...ours].map(([k, v]) => [k, [...v]])));
    assert.deepEqual(mine, sorted(JSON.parse(lines[i]!) as Record<string, string[]>), where);
  }
  t.diagnostic(
    `${agreed} read alike, ${goErrors} refused by Go, ${values.length - agreed - goErrors} refused by us only`,
  );
  assert.ok(agreed > 1000 && goErrors > 300, `${agreed} ${goErrors}`);
});
