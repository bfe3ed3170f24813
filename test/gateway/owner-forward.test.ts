/**
 * Scope owner, what the gateway sends up: a real HTTP upstream (a small daemon stand-in on a
 * unix socket that answers the owner lookups and records every other request) behind a real
 * gateway. The path object is pinned to the full id the lookup resolved; a list gets the
 * owner filter; a create body goes up with the label inserted and its own Content-Length
 * (from a chunked client body too); an exec's owner is its container's, cached by full Id;
 * a failed lookup is a 502, never a pass.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGateway, type Gateway } from '../../src/gateway/index.js';
import { parseRule } from '../../src/gateway/policy/index.js';
import { hashToken } from '../../src/gateway/identity/tokens.js';
import { dryRun, parseDryRunIdentity } from '../../src/gateway/dry-run.js';
import { parseGatewayArgs } from '../../src/cli/gateway-args.js';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const containers = [
  { Id: A, Name: '/web', Config: { Labels: { 'hijack.owner': 'alice' } } },
  { Id: B, Name: '/db', Config: { Labels: { 'hijack.owner': 'bob' } } },
];
const execs: Record<string, string> = { e1: A, e2: A };
let failLookups = false;
const seen: { method: string; url: string; headers: http.IncomingHttpHeaders; body: string }[] = [];
const lookups: string[] = [];
let upstream: http.Server;
let gw: Gateway;
let port = 0;
let dir = '';

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gwof-'));
  const sock = join(dir, 'up.sock');
  upstream = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const url = req.url ?? '';
      const json = (status: number, v: unknown) => {
        res.writeHead(status, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify(v) + '\n');
      };
      const c = /^\/containers\/(.+)\/json$/.exec(url);
      const e = /^\/exec\/(.+)\/json$/.exec(url);
      if (req.method === 'GET' && (c || e)) {
        lookups.push(url);
        if (failLookups) return json(500, { message: 'daemon trouble' });
        if (c) {
          const ref = c[1]!;
          const hit =
            containers.find((x) => x.Id === ref) ??
            containers.find((x) => x.Name === `/${ref}`) ??
            containers.find((x) => x.Id.startsWith(ref));
          return hit ? json(200, hit) : json(404, { message: `No such container: ${ref}` });
        }
        const cid = execs[e![1]!];
        return cid
          ? json(200, { ID: e![1], ContainerID: cid })
          : json(404, { message: `No such exec instance: ${e![1]}` });
      }
      seen.push({ method: req.method ?? '', url, headers: req.headers, body });
      json(req.method === 'POST' ? 201 : 200, { ok: true });
    });
  });
  await new Promise<void>((r) => upstream.listen(sock, r));
  gw = createGateway({
    listen: [{ kind: 'tcp', host: '127.0.0.1', port: 0 }],
    upstream: `unix://${sock}`,
    policy: { rules: [parseRule('* /**', 'allow', 'test')], blocks: [], scope: 'owner' },
    auth: {
      tokens: [
        { name: 'alice', sha256: hashToken('alice-secret-0123456789') },
        { name: 'bob', sha256: hashToken('bob-secret-0123456789ab') },
      ],
    },
  });
  const [a] = await gw.listen();
  port = Number(new URL(a!.url.replace(/^tcp:/, 'http:')).port);
});

after(async () => {
  await gw?.close({ timeout: 1000, grace: 100 });
  await new Promise((r) => upstream?.close(r));
  rmSync(dir, { recursive: true, force: true });
});

function send(
  who: 'alice' | 'bob',
  method: string,
  path: string,
  body?: string,
  chunked = false,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {
      Authorization: `Bearer ${who}-secret-0123456789${who === 'bob' ? 'ab' : ''}`,
      'Content-Type': 'application/json',
    };
    if (body !== undefined && !chunked) headers['Content-Length'] = String(Buffer.byteLength(body));
    const req = http.request({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      let b = '';
      res.on('data', (c: Buffer) => (b += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: b }));
    });
    req.on('error', reject);
    if (body !== undefined && chunked) {
      req.write(body.slice(0, 5));
      req.write(body.slice(5));
    } else if (body !== undefined) req.write(body);
    req.end();
  });
}

test('owner forward: the path object is pinned to the full id the daemon resolved', async () => {
  seen.length = 0;
  lookups.length = 0;
  assert.equal((await send('alice', 'POST', '/v1.41/containers/web/stop?t=1')).status, 201);
  assert.deepEqual(lookups, ['/containers/web/json']);
  assert.deepEqual(
    seen.map((x) => `${x.method} ${x.url}`),
    [`POST /v1.41/containers/${A}/stop?t=1`],
  );
  // By id prefix, the same container.
  assert.equal((await send('alice', 'GET', '/containers/aaaa/logs?stdout=1')).status, 200);
  assert.equal(seen[1]!.url, `/containers/${A}/logs?stdout=1`);
  // Another's: dockerd's answer for a missing one, and nothing forwarded.
  const r = await send('bob', 'POST', '/v1.41/containers/web/stop');
  assert.equal(r.status, 404);
  assert.equal(r.body, '{"message":"No such container: web"}\n');
  assert.equal(seen.length, 2);
  // Renaming to another's name is refused; to a free one it goes to the pinned id.
  const taken = await send('alice', 'POST', '/containers/web/rename?name=db');
  assert.equal(taken.status, 403);
  assert.match(taken.body, /name \\"db\\" is taken by a container that is not yours/);
  assert.equal((await send('alice', 'POST', '/containers/web/rename?name=%2Fbb')).status, 201);
  assert.equal(seen[2]!.url, `/containers/${A}/rename?name=%2Fbb`);
});

test('owner forward: a create body goes up labelled, with its own Content-Length', async () => {
  seen.length = 0;
  const body = '{"Image":"x", "labels":{"k":"v"},"HostConfig":{"NetworkMode":"none"}}';
  for (const chunked of [false, true]) {
    const r = await send('alice', 'POST', '/v1.41/containers/create?name=n', body, chunked);
    assert.equal(r.status, 201, r.body);
  }
  for (const s of seen) {
    assert.equal(s.url, '/v1.41/containers/create?name=n');
    assert.equal(
      s.body,
      '{"Image":"x", "labels":{"hijack.owner":"alice","k":"v"},"HostConfig":{"NetworkMode":"none"}}',
    );
    assert.equal(s.headers['content-length'], String(Buffer.byteLength(s.body)));
    assert.equal(s.headers['transfer-encoding'], undefined);
  }
  const own = await send(
    'alice',
    'POST',
    '/containers/create',
    '{"Labels":{"hijack.owner":"bob"}}',
  );
  assert.equal(own.status, 403);
  const ref = await send(
    'bob',
    'POST',
    '/containers/create',
    '{"HostConfig":{"VolumesFrom":["web:ro"]}}',
  );
  assert.equal(ref.status, 403);
  assert.match(
    ref.body,
    /HostConfig\.VolumesFrom\[0\] names container \\"web\\", which is not yours/,
  );
  const mine = await send(
    'alice',
    'POST',
    '/containers/create',
    '{"HostConfig":{"VolumesFrom":["web:ro"],"NetworkMode":"container:aaa"}}',
  );
  assert.equal(mine.status, 201);
  // Sent up with the full id that was checked (dockerd resolves a mode again at start).
  assert.equal(
    seen[seen.length - 1]!.body,
    `{"Labels":{"hijack.owner":"alice"},"HostConfig":{"VolumesFrom":["${A}:ro"],"NetworkMode":"container:${A}"}}`,
  );
  // `/db` must resolve by name: an id prefix `db…` of someone's container is not it.
  const byName = await send(
    'bob',
    'POST',
    '/containers/create',
    '{"HostConfig":{"Links":["/db:x"]}}',
  );
  assert.equal(byName.status, 201, byName.body);
  const prefix = await send(
    'bob',
    'POST',
    '/containers/create',
    '{"HostConfig":{"Links":["/bb:x"]}}',
  );
  assert.equal(prefix.status, 403, prefix.body);
  assert.match(prefix.body, /HostConfig\.Links\[0\] names container \\"\/bb\\"/);
  assert.equal(seen.length, 4);
  // A name another identity's container has: refused without naming that container.
  const taken = await send('alice', 'POST', '/containers/create?name=db', '{}');
  assert.equal(taken.status, 403, taken.body);
  assert.match(taken.body, /name \\"db\\" is taken by a container that is not yours/);
  assert.equal((await send('bob', 'POST', '/containers/create?name=db', '{}')).status, 201);
  // A name that only matches an id prefix (`bb…`) is free.
  assert.equal((await send('alice', 'POST', '/containers/create?name=bb', '{}')).status, 201);
  assert.equal(seen.length, 6);
});

test('owner forward: lists get the owner filter; the client’s filters are kept', async () => {
  seen.length = 0;
  const f = encodeURIComponent('{"name":["web"]}');
  assert.equal((await send('bob', 'GET', `/v1.41/containers/json?all=1&filters=${f}`)).status, 200);
  const q = new URL(`http://x${seen[0]!.url}`).searchParams;
  assert.equal(q.get('all'), '1');
  assert.deepEqual(JSON.parse(q.get('filters')!), {
    name: { web: true },
    label: { 'hijack.owner=bob': true },
  });
  assert.equal((await send('bob', 'GET', '/events?since=1')).status, 200);
  assert.equal(
    seen[1]!.url,
    `/events?since=1&filters=${encodeURIComponent('{"label":{"hijack.owner=bob":true}}')}`,
  );
});

test('owner forward: an exec is its container’s, the owner cached by full Id', async () => {
  lookups.length = 0;
  seen.length = 0;
  const bob = await send('bob', 'GET', '/v1.41/exec/e1/json');
  assert.equal(bob.status, 404);
  assert.equal(bob.body, '{"message":"No such exec instance: e1"}\n');
  assert.equal((await send('alice', 'POST', '/exec/e2/resize?h=1&w=1')).status, 201);
  assert.equal(seen[0]!.url, '/exec/e2/resize?h=1&w=1');
  // The container was inspected by its full Id (or not at all, once cached); never by a name.
  for (const l of lookups.filter((x) => x.startsWith('/containers/'))) {
    assert.equal(l, `/containers/${A}/json`);
  }
  assert.ok(lookups.filter((x) => x.startsWith('/containers/')).length <= 1, lookups.join(' '));
});

test('owner forward: a lookup that fails is a 502, nothing forwarded', async () => {
  seen.length = 0;
  failLookups = true;
  try {
    const r = await send('alice', 'POST', '/containers/web/stop');
    assert.equal(r.status, 502);
    assert.match(r.body, /answered 500 to the owner lookup/);
    const body = await send(
      'alice',
      'POST',
      '/containers/create',
      '{"HostConfig":{"VolumesFrom":["web"]}}',
    );
    assert.equal(body.status, 502);
    assert.equal(seen.length, 0);
  } finally {
    failLookups = false;
  }
});

test('owner forward: the dry run (hijack policy check --request) says what this gateway sends up', async () => {
  const tokens = join(dir, 'tokens');
  writeFileSync(tokens, 'alice:alice-secret-0123456789\nbob:bob-secret-0123456789ab\n');
  const options = parseGatewayArgs(
    ['--allow', '* /**', '--scope', 'owner', '--token-file', tokens],
    {},
  );
  const who = parseDryRunIdentity('alice', options);
  const both = async (method: string, path: string, body?: string) => {
    const head = [`${method} ${path} HTTP/1.1`, 'Host: d', 'Content-Type: application/json'];
    if (body !== undefined) head.push(`Content-Length: ${Buffer.byteLength(body)}`);
    const dry = await dryRun(
      options,
      Buffer.from(`${head.join('\r\n')}\r\n\r\n${body ?? ''}`),
      who,
    );
    seen.length = 0;
    const live = await send('alice', method, path, body);
    return { dry, live, up: seen[0] };
  };
  // A path object: the dry run's pinned target, with the full id the daemon gave.
  const stop = await both('POST', '/v1.41/containers/web/stop?t=1');
  assert.equal(stop.live.status, 201);
  const pinned = /^forwarded as (.+), pinned/.exec(stop.dry.ownership![1]!)![1]!;
  assert.equal(pinned.replace('<full id of web>', A), stop.up!.url);
  // Another's: the dry run's "else" is the gateway's answer.
  const other = await both('POST', '/containers/db/stop');
  assert.equal(other.live.status, 404);
  assert.match(
    other.dry.ownership![0]!,
    new RegExp(`; else 404 ${JSON.parse(other.live.body).message}, as dockerd answers`),
  );
  // A list: the dry run's target is the one forwarded, byte for byte.
  const f = encodeURIComponent('{"status":["running"]}');
  const list = await both('GET', `/v1.41/containers/json?all=1&filters=${f}`);
  assert.equal(/^forwarded as (\S+): /.exec(list.dry.ownership![0]!)![1]!, list.up!.url);
  // A create: labelled as the dry run says; a body naming another's container is refused by both.
  const create = await both('POST', '/containers/create', '{"Image":"x"}');
  assert.deepEqual(create.dry.ownership, [
    'the body is forwarded with the label hijack.owner=alice added to its Labels',
  ]);
  assert.equal(create.up!.body, '{"Labels":{"hijack.owner":"alice"},"Image":"x"}');
  const foreign = await both('POST', '/containers/create', '{"HostConfig":{"VolumesFrom":["db"]}}');
  assert.equal(foreign.live.status, 403);
  assert.match(
    foreign.dry.ownership![1]!,
    /^allowed if alice owns container "db" \(HostConfig\.VolumesFrom\[0\]\); else 403 (.*); HostConfig/,
  );
  const elseMsg = /; else 403 (.*); HostConfig/.exec(foreign.dry.ownership![1]!)![1]!;
  assert.equal(`hijack gateway: ${elseMsg}`, JSON.parse(foreign.live.body).message);
});
