import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import {
  DOCKER_ROUTES,
  bindingSpansSegments,
  routeHasMultiSegmentVar,
  routeOf,
  routeSegments,
} from '../../src/gateway/policy/docker-routes.js';

const root = new URL('../..', import.meta.url).pathname;
/** Debian's golang-github-gorilla-mux-dev puts github.com/gorilla/mux here. */
const GOCODE = '/usr/share/gocode';

/** Builds test/peers/go/docker-routes with gorilla/mux on GOPATH (buildGoPeer has no extra GOPATH). */
function buildRoutesPeer(): string {
  const dir = join(root, 'test', 'peers', 'go', 'docker-routes');
  const src = readFileSync(join(dir, 'main.go'));
  const hash = createHash('sha256').update(src).digest('hex').slice(0, 16);
  const outDir = join(tmpdir(), 'hijack-go-peers');
  mkdirSync(outDir, { recursive: true });
  const out = join(outDir, `docker-routes-${hash}`);
  if (existsSync(out)) return out;
  const r = spawnSync('go', ['build', '-o', out + '.tmp', '.'], {
    cwd: dir,
    encoding: 'utf8',
    env: {
      ...process.env,
      GOCACHE: join(outDir, 'gocache'),
      GOPATH: `${join(outDir, 'gopath')}:${GOCODE}`,
      GO111MODULE: 'off',
      CGO_ENABLED: '0',
    },
  });
  if (r.status !== 0) throw new Error(`go build docker-routes failed:\n${r.stderr}${r.stdout}`);
  spawnSync('mv', [out + '.tmp', out]);
  return out;
}

type GoAnswer = { none: true } | { m: string; t: string; v: Record<string, string> | null };

function goRoutes(inputs: (readonly [string, string])[]): GoAnswer[] {
  const bin = buildRoutesPeer();
  const tmp = mkdtempSync(join(tmpdir(), 'docker-routes-'));
  const table = join(tmp, 'routes.txt');
  writeFileSync(table, DOCKER_ROUTES.map((r) => `${r.method} ${r.template}`).join('\n') + '\n');
  const stdin = inputs.map(([m, p]) => `${m} ${Buffer.from(p).toString('hex')}`).join('\n') + '\n';
  const r = spawnSync(bin, [table], { input: stdin, encoding: 'utf8', maxBuffer: 1 << 30 });
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, inputs.length);
  return lines.map((l) => JSON.parse(l) as GoAnswer);
}

function ours(method: string, path: string, versioned = false): GoAnswer {
  const m = routeOf(method, path, versioned);
  if (!m) return { none: true };
  return { m: m.route.method, t: m.route.template, v: { ...m.bindings } };
}

function norm(a: GoAnswer): GoAnswer {
  return 'none' in a ? a : { m: a.m, t: a.t, v: { ...(a.v ?? {}) } };
}

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH'];
const LITERALS = [
  'json',
  'exec',
  'start',
  'stop',
  'archive',
  'attach',
  'ws',
  'get',
  'history',
  'push',
  'tag',
  'create',
  'prune',
  'checkpoints',
  'containers',
  'images',
  'networks',
  'connect',
  'logs',
  'update',
  'debug',
  'pprof',
  'vars',
  'v1.41',
  'resize',
  'kill',
  'plugins',
  'set',
  '_ping',
];
const seg = fc.oneof(
  fc.constantFrom(...LITERALS),
  fc.constantFrom('reg.local:5000', 'ns', 'bb:latest', 'app@sha256:0123abcd', 'web', 'db', ''),
  fc.stringMatching(/^[a-zA-Z0-9._:@-]{1,8}$/),
  fc.constantFrom('a\nb', 'a\rb', 'x\u2028y', 'é', '%2F', ' '),
);
const name = fc.array(seg, { minLength: 1, maxLength: 4 }).map((s) => s.join('/'));

/** Paths shaped like routes: each template's variables replaced by generated names. */
const shaped = fc
  .tuple(fc.constantFrom(...DOCKER_ROUTES), fc.array(name, { minLength: 3, maxLength: 3 }))
  .map(([r, names]) => {
    let i = 0;
    return r.template.replace(/\{[^}]*\}/g, () => names[i++]!);
  });
const random = fc.array(seg, { minLength: 0, maxLength: 6 }).map((s) => '/' + s.join('/'));

test(
  'docker-routes: routeOf equals gorilla/mux with dockerd registration, 12000 paths',
  { timeout: 30000 },
  () => {
    const inputs: [string, string][] = [];
    const fixed = [
      ['DELETE', '/images/reg.local/ns/bb:latest'],
      ['POST', '/containers/web/db/exec'],
      ['GET', '/images/json'],
      ['GET', '/images/json/json'],
      ['HEAD', '/_ping'],
      ['HEAD', '/containers/x/archive'],
      ['HEAD', '/containers/json'],
      ['DELETE', '/containers/a/checkpoints/b'],
      ['DELETE', '/containers/a/b/checkpoints/c'],
      ['GET', '/networks/'],
      ['GET', '/networks'],
      ['GET', '/networks/a/b'],
      ['OPTIONS', '/anything/at/all'],
      ['PATCH', '/debug/pprof/heap'],
      ['GET', '/containers/a\nb/json'],
      ['GET', '/containers/a\u2028b/json'],
      ['POST', '/exec//start'],
      ['GET', '/'],
      ['GET', ''],
    ] as const;
    for (const [m, p] of fixed) inputs.push([m, p]);
    // Shaped paths with their own route's method (matches) or a random one (405s, 404s).
    const own = fc
      .tuple(fc.constantFrom(...DOCKER_ROUTES), fc.array(name, { minLength: 3, maxLength: 3 }))
      .map(([r, names]): [string, string] => {
        let i = 0;
        const p = r.template.replace(/\{[^}]*\}/g, () => names[i++]!);
        return [r.method === '*' ? 'GET' : r.method, p];
      });
    const other = fc.tuple(fc.constantFrom(...METHODS), fc.oneof(shaped, random));
    fc.assert(
      fc.property(fc.oneof(own, own, own, other), (mp) => {
        inputs.push(mp);
      }),
      { numRuns: 12000 },
    );
    const go = goRoutes(inputs);
    // Same paths under dockerd's version prefix: the same route, except debug routes (unversioned).
    const versioned = goRoutes(inputs.map(([m, p]) => [m, '/v1.41' + p] as const));
    let matched = 0;
    let multi = 0;
    for (let i = 0; i < inputs.length; i++) {
      const [m, p] = inputs[i]!;
      const where = `${m} ${JSON.stringify(p)}`;
      // Unversioned request p: a leading /vX.Y/ is dockerd's version prefix, folded away.
      const pre = /^\/v[0-9.]+(?=\/)/.exec(p);
      const plain = pre ? ours(m, p.slice(pre[0].length), true) : ours(m, p);
      assert.deepEqual(plain, norm(go[i]!), where);
      // Versioned request /v1.41 + p, folded to p.
      const mine = ours(m, p, true);
      assert.deepEqual(mine, norm(versioned[i]!), 'versioned ' + where);
      if (!('none' in mine)) {
        matched++;
        if (Object.values(mine.v ?? {}).some((x) => x.includes('/'))) multi++;
      }
    }
    assert.ok(matched > 2000, `matched ${matched}`);
    assert.ok(multi > 1000, `multi-segment ${multi}`);
  },
);

test('docker-routes: bindings and segments of known requests', { timeout: 5000 }, () => {
  const d = routeOf('DELETE', '/images/reg.local/ns/bb:latest')!;
  assert.equal(d.route.template, '/images/{name:.*}');
  assert.deepEqual(routeSegments(d), ['images', 'reg.local/ns/bb:latest']);
  assert.equal(routeHasMultiSegmentVar(d.route), true);
  assert.equal(bindingSpansSegments(d), true);
  const e = routeOf('POST', '/containers/web/db/exec')!;
  assert.deepEqual([e.route.template, e.bindings.name], ['/containers/{name:.*}/exec', 'web/db']);
  assert.deepEqual(routeSegments(e), ['containers', 'web/db', 'exec']);
  assert.equal(routeOf('GET', '/images/json')!.route.template, '/images/json');
  assert.equal(routeOf('GET', '/images/a/json')!.bindings.name, 'a');
  assert.equal(routeOf('HEAD', '/images/json'), undefined);
  assert.equal(routeOf('PUT', '/images/x'), undefined);
  const c = routeOf('DELETE', '/containers/a/checkpoints/b')!;
  assert.equal(c.route.template, '/containers/{name}/checkpoints/{checkpoint}');
  assert.equal(routeHasMultiSegmentVar(c.route), false);
  assert.equal(
    routeOf('DELETE', '/containers/a/b/checkpoints/c')!.bindings.name,
    'a/b/checkpoints/c',
  );
  assert.equal(routeOf('GET', '/containers/a\nb/json'), undefined);
  assert.equal(DOCKER_ROUTES.length, 121);
});

test('docker-routes: lookup is fast', { timeout: 5000 }, () => {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < 100000; i++) routeOf('POST', '/containers/web/db/exec');
  const ns = Number(process.hrtime.bigint() - t0) / 100000;
  assert.ok(ns < 20000, `${ns} ns per lookup`);
});
