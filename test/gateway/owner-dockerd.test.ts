/**
 * Scope owner in front of a real dockerd: two clients with two tokens behind `--preset
 * sandbox` (which implies `--scope owner`), driven by the real Docker CLI 28, docker-py and
 * dockerode. Each works with its own containers; the other's behave as if they did not
 * exist (every answer compared with the one for a truly missing name); references to the
 * other's containers in a create body and a client-supplied owner label are refused.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { startDockerd, needDockerd, type Dockerd } from '../helpers/dockerd.js';
import { requirePeer } from '../helpers/peers.js';
import { createGateway, type Gateway } from '../../src/gateway/index.js';
import { parseGatewayArgs } from '../../src/cli/gateway-args.js';

const DOCKER = '/usr/local/bin/docker';
const PY = '/usr/bin/python3';
const TOKENS = { alice: 'alice-token-0123456789abcdef', bob: 'bob-token-0123456789abcdef00' };
type Who = keyof typeof TOKENS;
let d: Dockerd | null = null;
let gw: Gateway | undefined;
let port = 0;
let dir = '';

before(async () => {
  d = await startDockerd();
  if (!d) return;
  dir = mkdtempSync(join(tmpdir(), 'gwown-'));
  const tokens = join(dir, 'tokens');
  writeFileSync(tokens, `alice:${TOKENS.alice}\nbob:${TOKENS.bob}\n`);
  for (const who of Object.keys(TOKENS) as Who[]) {
    mkdirSync(join(dir, who));
    writeFileSync(
      join(dir, who, 'config.json'),
      JSON.stringify({ HttpHeaders: { Authorization: `Bearer ${TOKENS[who]}` } }),
    );
  }
  const more = ['top', 'stats', 'changes', 'export', 'attach/ws'].map(
    (r) => `GET /containers/{id}/${r}`,
  );
  more.push(...['pause', 'rename', 'update'].map((r) => `POST /containers/{id}/${r}`));
  more.push('POST /volumes/create', 'GET /volumes', 'GET,DELETE /volumes/{name}');
  more.push('POST /networks/create', 'GET /networks', 'GET,DELETE /networks/{id}');
  more.push('POST /networks/{id}/connect', 'POST /networks/{id}/disconnect');
  const o = parseGatewayArgs(
    ['--preset', 'sandbox', '--token-file', tokens, ...more.flatMap((r) => ['--allow', r])],
    {},
  );
  gw = createGateway({
    listen: [{ kind: 'tcp', host: '127.0.0.1', port: 0 }],
    upstream: d.target,
    policy: o.policy,
    auth: o.auth,
  });
  const [tcp] = await gw.listen();
  port = Number(new URL(tcp!.url.replace(/^tcp:/, 'http:')).port);
});

after(async () => {
  await gw?.close({ timeout: 2000, grace: 500 });
  await d?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Removes every container (directly on dockerd), so each test starts from none. */
async function clean(): Promise<void> {
  const all = await d!.api('GET', '/containers/json?all=1');
  for (const c of all.body as { Id: string }[])
    await d!.api('DELETE', `/containers/${c.Id}?force=1`);
}

interface Ran {
  code: number | null;
  out: string;
  err: string;
}

function run(bin: string, args: string[], env: NodeJS.ProcessEnv, input?: string, ms = 20_000) {
  return new Promise<Ran>((resolve, reject) => {
    const child = spawn(bin, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.stdin.on('error', () => {});
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${bin} ${args.join(' ')} timed out; ${out} ${err}`));
    }, ms);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
    child.stdin.end(input);
  });
}

/** The Docker CLI as `who` (its token in its config's HttpHeaders). */
function docker(who: Who, args: string[], input?: string): Promise<Ran> {
  return run(
    DOCKER,
    ['-H', `tcp://127.0.0.1:${port}`, ...args],
    {
      ...process.env,
      DOCKER_CONFIG: join(dir, who),
      DOCKER_CLI_HINTS: 'false',
    },
    input,
  );
}

/** A raw request through the gateway as `who`: status, content type and body. */
function raw(
  who: Who | null,
  method: string,
  path: string,
  body?: string,
): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { 'Content-Type': 'application/json' };
    if (who) headers['Authorization'] = `Bearer ${TOKENS[who]}`;
    const opts = who
      ? { host: '127.0.0.1', port, method, path, headers }
      : { socketPath: d!.socketPath, method, path, headers };
    const req = http.request(opts, (res) => {
      let b = '';
      res.on('data', (c: Buffer) => (b += c.toString()));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          type: String(res.headers['content-type']),
          body: b,
        }),
      );
    });
    req.setTimeout(15_000, () => req.destroy(new Error(`${method} ${path} timed out`)));
    req.on('error', reject);
    req.end(body);
  });
}

test(
  'scope owner on dockerd: the Docker CLI sees only its own containers',
  { timeout: 120_000 },
  async (t) => {
    if (!requirePeer(t, DOCKER) || !needDockerd(t, d)) return;
    await clean();
    const img = d!.image;
    const since = Math.floor(Date.now() / 1000) - 1;
    const net = ['--network', 'none'];
    const a = await docker('alice', [
      'run',
      '-d',
      ...net,
      '--name',
      'a1',
      img,
      'sh',
      '-c',
      'echo from-a1; sleep 600',
    ]);
    assert.equal(a.code, 0, a.err);
    const b = await docker('bob', [
      'run',
      '-d',
      ...net,
      '--name',
      'b1',
      img,
      'sh',
      '-c',
      'echo from-b1; sleep 600',
    ]);
    assert.equal(b.code, 0, b.err);
    const bobId = b.out.trim();
    const info = await d!.api('GET', `/containers/${bobId}/json`);
    assert.equal(info.body.Config.Labels['hijack.owner'], 'bob');

    // Its own: run -i with stdin, exec -i, logs, cp both ways, ps.
    const cat = await docker('alice', ['run', '-i', '--rm', ...net, img, 'cat'], 'through stdin\n');
    assert.equal(cat.code, 0, cat.err);
    assert.equal(cat.out, 'through stdin\n');
    const ex = await docker('alice', ['exec', '-i', 'a1', 'cat'], 'exec stdin\n');
    assert.equal(ex.code, 0, ex.err);
    assert.equal(ex.out, 'exec stdin\n');
    const logs = await docker('alice', ['logs', 'a1']);
    assert.equal(logs.out, 'from-a1\n', logs.err);
    const file = join(dir, 'f.txt');
    writeFileSync(file, 'copied in\n');
    const cpIn = await docker('alice', ['cp', file, 'a1:/tmp/f.txt']);
    assert.equal(cpIn.code, 0, cpIn.err);
    const back = await docker('alice', ['exec', 'a1', 'cat', '/tmp/f.txt']);
    assert.equal(back.out, 'copied in\n', back.err);
    const ps = await docker('alice', ['ps', '-a', '--format', '{{.Names}}']);
    assert.equal(ps.code, 0, ps.err);
    assert.deepEqual(ps.out.trim().split('\n'), ['a1']);
    const psB = await docker('bob', ['ps', '-a', '--format', '{{.Names}}']);
    assert.deepEqual(psB.out.trim().split('\n'), ['b1']);
    // A client's own filters are kept (and ANDed with the owner's).
    const filtered = await docker('alice', [
      'ps',
      '-a',
      '--filter',
      'name=b1',
      '--format',
      '{{.Names}}',
    ]);
    assert.equal(filtered.out.trim(), '');

    // The other's container, by name, by id and by id prefix, answers as a missing one.
    const missing = 'no-such-container-here';
    const same = async (args: (x: string) => string[]) => {
      // (`rm -f` of a missing container exits 0: the CLI ignores "No such container" then.)
      const want = await docker('alice', args(missing));
      for (const ref of ['b1', bobId, bobId.slice(0, 12)]) {
        const got = await docker('alice', args(ref));
        assert.equal(got.code, want.code, `${args(ref).join(' ')}: ${got.err}`);
        assert.equal(got.err.replaceAll(ref, missing), want.err, args(ref).join(' '));
        assert.equal(got.out.replaceAll(ref, missing), want.out, args(ref).join(' '));
      }
    };
    await same((x) => ['inspect', x]);
    await same((x) => ['exec', x, 'true']);
    await same((x) => ['logs', x]);
    await same((x) => ['attach', '--sig-proxy=false', x]);
    await same((x) => ['rm', '-f', x]);
    await same((x) => ['cp', `${x}:/etc/hostname`, '-']);
    await same((x) => ['stop', '-t', '0', x]);
    await same((x) => ['start', x]);
    await same((x) => ['wait', x]);
    assert.equal((await d!.api('GET', `/containers/${bobId}/json`)).body.State.Running, true);

    // Create bodies naming the other's container, or setting the owner label, are refused.
    const refused: [string[], RegExp][] = [
      [
        ['--network', 'container:b1'],
        /HostConfig\.NetworkMode names container "b1", which is not yours/,
      ],
      [
        [...net, '--volumes-from', 'b1'],
        /HostConfig\.VolumesFrom\[0\] names container "b1", which is not yours/,
      ],
      [
        [...net, '--volumes-from', missing],
        /HostConfig\.VolumesFrom\[0\] names container "no-such-container-here", which is not yours/,
      ],
      [['--pid', 'container:b1', ...net], /HostConfig\.PidMode names container "b1"/],
      [[...net, '--label', 'hijack.owner=bob'], /Labels\["hijack\.owner"\] is set by the gateway/],
      [
        [...net, '--label', 'hijack.owner=alice'],
        /Labels\["hijack\.owner"\] is set by the gateway/,
      ],
    ];
    for (const [args, want] of refused) {
      const r = await docker('alice', ['run', '--rm', ...args, img, 'true']);
      assert.notEqual(r.code, 0, args.join(' '));
      assert.match(r.err, want, args.join(' '));
    }
    // Its own container's namespaces and volumes are fine.
    const mine = await docker('alice', [
      'run',
      '--rm',
      '--network',
      'container:a1',
      '--volumes-from',
      'a1',
      img,
      'true',
    ]);
    assert.equal(mine.code, 0, mine.err);

    // A `container:` mode is stored with the full id that was checked, not the name (dockerd
    // resolves it again at start, when the name may be someone else's).
    const pinned = await docker('alice', ['create', '--network', 'container:a1', img, 'true']);
    assert.equal(pinned.code, 0, pinned.err);
    const stored = await d!.api('GET', `/containers/${pinned.out.trim()}/json`);
    assert.equal(stored.body.HostConfig.NetworkMode, `container:${a.out.trim()}`);
    await d!.api('DELETE', `/containers/${pinned.out.trim()}?force=1`);

    // Events: only its own containers'.
    const until = Math.floor(Date.now() / 1000) + 1;
    const ev = await docker('alice', [
      'events',
      '--since',
      String(since),
      '--until',
      String(until),
      '--format',
      '{{.Actor.Attributes.name}}',
    ]);
    assert.equal(ev.code, 0, ev.err);
    const names = new Set(ev.out.trim().split('\n'));
    assert.ok(names.has('a1'), ev.out);
    assert.ok(!names.has('b1'), ev.out);
    const evB = await docker('bob', [
      'events',
      '--since',
      String(since),
      '--until',
      String(until),
      '--format',
      '{{.Actor.Attributes.name}}',
    ]);
    assert.ok(new Set(evB.out.trim().split('\n')).has('b1'), evB.out);
    assert.ok(!new Set(evB.out.trim().split('\n')).has('a1'), evB.out);

    // Its own: rm works.
    const rm = await docker('alice', ['rm', '-f', 'a1']);
    assert.equal(rm.code, 0, rm.err);
    const rmB = await docker('bob', ['rm', '-f', 'b1']);
    assert.equal(rmB.code, 0, rmB.err);
  },
);

test(
  'scope owner on dockerd: raw answers equal dockerd’s for a missing object',
  { timeout: 60_000 },
  async (t) => {
    if (!needDockerd(t, d)) return;
    await clean();
    const created = await raw(
      'bob',
      'POST',
      '/v1.41/containers/create?name=braw',
      JSON.stringify({
        Image: d!.image,
        Cmd: ['sleep', '600'],
        HostConfig: { NetworkMode: 'none' },
      }),
    );
    assert.equal(created.status, 201, created.body);
    const id = (JSON.parse(created.body) as { Id: string }).Id;
    assert.equal((await raw('bob', 'POST', `/v1.41/containers/${id}/start`)).status, 204);
    const exec = await raw(
      'bob',
      'POST',
      `/v1.41/containers/braw/exec`,
      JSON.stringify({ Cmd: ['true'] }),
    );
    assert.equal(exec.status, 201, exec.body);
    const execId = (JSON.parse(exec.body) as { Id: string }).Id;
    const missing = 'zz-missing';
    const probes: [string, (x: string) => string, string?][] = [
      ['GET', (x) => `/v1.41/containers/${x}/json`],
      ['GET', (x) => `/v1.41/containers/${x}/logs?stdout=1`],
      ['GET', (x) => `/v1.41/containers/${x}/top`],
      ['GET', (x) => `/v1.41/containers/${x}/stats?stream=0`],
      ['GET', (x) => `/v1.41/containers/${x}/changes`],
      ['GET', (x) => `/v1.41/containers/${x}/export`],
      ['GET', (x) => `/v1.41/containers/${x}/archive?path=/`],
      ['HEAD', (x) => `/v1.41/containers/${x}/archive?path=/`],
      ['GET', (x) => `/v1.41/containers/${x}/attach/ws?stream=1`],
      ['POST', (x) => `/v1.41/containers/${x}/attach?stream=1&stdout=1`],
      ['POST', (x) => `/v1.41/containers/${x}/wait`],
      ['POST', (x) => `/v1.41/containers/${x}/pause`],
      ['POST', (x) => `/v1.41/containers/${x}/kill`],
      ['POST', (x) => `/v1.41/containers/${x}/rename?name=stolen`],
      ['POST', (x) => `/v1.41/containers/${x}/resize?h=10&w=10`],
      ['POST', (x) => `/v1.41/containers/${x}/exec`, JSON.stringify({ Cmd: ['true'] })],
      ['DELETE', (x) => `/v1.41/containers/${x}?force=1`],
      ['GET', (x) => `/v1.23/containers/${x}/json`],
      ['GET', (x) => `/containers/${x}/json`],
    ];
    for (const [method, path, body] of probes) {
      const want = await raw(null, method, path(missing), body);
      for (const ref of ['braw', id, id.slice(0, 5)]) {
        const got = await raw('alice', method, path(ref), body);
        const what = `${method} ${path(ref)}`;
        assert.equal(got.status, want.status, `${what}: ${got.body}`);
        assert.equal(got.type, want.type, what);
        assert.equal(got.body.replaceAll(ref, missing), want.body, what);
      }
    }
    const execProbes: [string, (x: string) => string, string?][] = [
      ['GET', (x) => `/v1.41/exec/${x}/json`],
      ['POST', (x) => `/v1.41/exec/${x}/resize?h=1&w=1`],
      ['POST', (x) => `/v1.41/exec/${x}/start`, JSON.stringify({ Detach: true })],
    ];
    for (const [method, path, body] of execProbes) {
      const want = await raw(null, method, path(missing), body);
      const got = await raw('alice', method, path(execId), body);
      assert.equal(got.status, want.status, `${method} ${path(execId)}`);
      assert.equal(got.body.replaceAll(execId, missing), want.body);
    }
    assert.equal((await raw('bob', 'GET', `/v1.41/exec/${execId}/json`)).status, 200);
    // A list filter naming the other's container answers as for a missing one.
    const f = (x: string) =>
      `/v1.41/containers/json?filters=${encodeURIComponent(JSON.stringify({ before: [x] }))}`;
    const want = await raw(null, 'GET', f(missing));
    const got = await raw('alice', 'GET', f('braw'));
    assert.equal(got.status, want.status);
    assert.equal(got.body.replaceAll('braw', missing), want.body);
    // Both legacy filter forms keep the client's filters and add the owner's.
    for (const filters of [{ name: ['braw'] }, { name: { braw: true } }]) {
      const q = `/v1.41/containers/json?all=1&filters=${encodeURIComponent(JSON.stringify(filters))}`;
      assert.equal((await raw('alice', 'GET', q)).body, '[]\n');
      assert.equal((JSON.parse((await raw('bob', 'GET', q)).body) as unknown[]).length, 1);
    }
    const unreadable = await raw(
      'alice',
      'GET',
      `/v1.41/containers/json?filters=${encodeURIComponent('{"label":{"a":"x"}}')}`,
    );
    assert.equal(unreadable.status, 400, unreadable.body);
    // Raw create bodies naming the other's container in spellings Go reads alike, by name,
    // full id and id prefix; the owner label in escaped and folded spellings.
    const img = d!.image;
    const bodies: [string, number, RegExp][] = [];
    for (const ref of ['braw', id, id.slice(0, 7)]) {
      bodies.push(
        [
          `{"Image":"${img}","hostconfig":{"volumesfrom":["${ref}:ro"],"NetworkMode":"none"}}`,
          403,
          /HostConfig\.VolumesFrom\[0\] names container/,
        ],
        [
          `{"Image":"${img}","HostConfig":{"Network\u004dode":"container:${ref}"}}`,
          403,
          /HostConfig\.NetworkMode names container/,
        ],
        [
          `{"Image":"${img}","HostConfig":{"NetworkMode":"none","IPCMODE":"container:${ref}"}}`,
          403,
          /HostConfig\.IpcMode names container/,
        ],
        [
          `{"Image":"${img}","HostConfig":{"NetworkMode":"none","Links":["${ref}:x"]}}`,
          403,
          /HostConfig\.Links\[0\] names container/,
        ],
      );
    }
    bodies.push(
      [
        `{"Image":"${img}","HostConfig":{"NetworkMode":"none"},"labels":{"hijack\\u002eowner":"bob"}}`,
        403,
        /Labels\["hijack\.owner"\] is set by the gateway/,
      ],
      [
        `{"Image":"${img}","HostConfig":{"NetworkMode":"none"},"Labels":{},"LABELS":{"hijack.owner":"bob"}}`,
        400,
        /Labels is given twice/,
      ],
    );
    for (const [body, status, want] of bodies) {
      const r = await raw('alice', 'POST', '/v1.41/containers/create', body);
      assert.equal(r.status, status, `${body}: ${r.body}`);
      assert.match(JSON.parse(r.body).message as string, want, body);
    }
    // A lower-case labels object gets the owner label; dockerd reads it.
    const lc = await raw(
      'alice',
      'POST',
      '/v1.41/containers/create',
      `{"Image":"${img}","Cmd":["true"],"labels":{"k":"v"},"HostConfig":{"NetworkMode":"none"}}`,
    );
    assert.equal(lc.status, 201, lc.body);
    const lcInfo = await d!.api(
      'GET',
      `/containers/${(JSON.parse(lc.body) as { Id: string }).Id}/json`,
    );
    assert.deepEqual(lcInfo.body.Config.Labels, { k: 'v', 'hijack.owner': 'alice' });
    // The other's container is untouched.
    const still = await d!.api('GET', `/containers/${id}/json`);
    assert.equal(still.body.Name, '/braw');
    assert.equal(still.body.State.Running, true);
    await d!.api('DELETE', `/containers/${id}?force=1`);
  },
);

test(
  'scope owner on dockerd: docker-py and dockerode see only their own containers',
  { timeout: 90_000 },
  async (t) => {
    if (!requirePeer(t, PY, 'docker-py') || !needDockerd(t, d)) return;
    await clean();
    const img = d!.image;
    const bob = new Docker({
      host: '127.0.0.1',
      port,
      headers: { Authorization: `Bearer ${TOKENS.bob}` },
    });
    const c = await bob.createContainer({
      Image: img,
      name: 'node1',
      Cmd: ['sh', '-c', 'echo node-log; sleep 600'],
      HostConfig: { NetworkMode: 'none' },
    });
    await c.start();
    const info = await c.inspect();
    assert.equal(info.Config.Labels['hijack.owner'], 'bob');
    const ex = await c.exec({ Cmd: ['echo', 'node-exec'], AttachStdout: true });
    const stream = await ex.start({ hijack: true, stdin: false });
    let got = '';
    await new Promise<void>((resolve) => {
      stream.on('data', (b: Buffer) => (got += b.toString('latin1')));
      stream.on('end', () => resolve());
    });
    assert.match(got, /node-exec/);
    const list = await bob.listContainers({ all: true });
    assert.deepEqual(
      list.map((x) => x.Names[0]),
      ['/node1'],
    );

    const script = `
import docker, json, sys
c = docker.DockerClient(base_url='tcp://127.0.0.1:${port}', version='1.41')
c.api.headers['Authorization'] = 'Bearer ${TOKENS.alice}'
out = {}
mine = c.containers.run('${img}', ['sh', '-c', 'echo py-log; sleep 600'], detach=True, network_mode='none', name='py1')
out['label'] = mine.labels.get('hijack.owner')
out['exec'] = mine.exec_run(['echo', 'py-exec']).output.decode()
import time
for _ in range(50):
    out['logs'] = mine.logs().decode()
    if out['logs']: break
    time.sleep(0.1)
out['list'] = sorted(x.name for x in c.containers.list(all=True))
out['filtered'] = sorted(x.name for x in c.containers.list(all=True, filters={'name': 'node1'}))
import io, tarfile, socket, struct
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode='w') as tf:
    data = b'py-put\\n'
    info = tarfile.TarInfo('put.txt')
    info.size = len(data)
    tf.addfile(info, io.BytesIO(data))
out['put'] = mine.put_archive('/tmp', buf.getvalue())
bits, stat = mine.get_archive('/tmp/put.txt')
tar = tarfile.open(fileobj=io.BytesIO(b''.join(bits)))
out['archive'] = tar.extractfile('put.txt').read().decode()
# exec -i: stdin through the hijacked stream, half-closed, the framed output read to the end.
ex = c.api.exec_create(mine.id, ['cat'], stdin=True)
s = c.api.exec_start(ex['Id'], socket=True)._sock
s.sendall(b'py-stdin\\n')
s.shutdown(socket.SHUT_WR)
raw = b''
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    raw += chunk
text = b''
while len(raw) >= 8:
    n = struct.unpack('>I', raw[4:8])[0]
    text += raw[8:8 + n]
    raw = raw[8 + n:]
out['stdin'] = text.decode()
for ref in ['node1', 'no-such-py']:
    try:
        c.containers.get(ref)
        out[ref] = 'found'
    except docker.errors.NotFound as e:
        out[ref] = str(e.explanation).replace(ref, 'X')
    try:
        c.api.remove_container(ref, force=True)
        out['rm ' + ref] = 'removed'
    except docker.errors.NotFound as e:
        out['rm ' + ref] = str(e.explanation).replace(ref, 'X')
mine.remove(force=True)
print(json.dumps(out))
`;
    const py = await run(PY, ['-c', script], process.env, undefined, 60_000);
    assert.equal(py.code, 0, py.err);
    const out = JSON.parse(py.out) as Record<string, unknown>;
    assert.equal(out['label'], 'alice');
    assert.equal(out['exec'], 'py-exec\n');
    assert.equal(out['logs'], 'py-log\n');
    assert.deepEqual(out['list'], ['py1']);
    assert.deepEqual(out['filtered'], []);
    assert.equal(out['put'], true);
    assert.equal(out['archive'], 'py-put\n');
    assert.equal(out['stdin'], 'py-stdin\n');
    assert.equal(out['node1'], out['no-such-py']);
    assert.equal(out['rm node1'], out['rm no-such-py']);
    assert.equal(out['node1'], 'No such container: X');

    // dockerode as alice: bob's container is missing, like a name that never was.
    const alice = new Docker({
      host: '127.0.0.1',
      port,
      headers: { Authorization: `Bearer ${TOKENS.alice}` },
    });
    const err = async (ref: string) => {
      try {
        await alice.getContainer(ref).inspect();
        return 'found';
      } catch (e) {
        return `${(e as { statusCode?: number }).statusCode} ${String((e as Error).message).replaceAll(ref, 'X')}`;
      }
    };
    assert.equal(await err('node1'), await err('never-was'));
    assert.match(await err('node1'), /^404 /);
    assert.deepEqual(await alice.listContainers({ all: true }), []);
    await c.remove({ force: true });
  },
);

test(
  'scope owner on dockerd: volumes and networks, a second gateway agrees, names that collide with ids',
  { timeout: 90_000 },
  async (t) => {
    if (!requirePeer(t, DOCKER) || !needDockerd(t, d)) return;
    await clean();
    const img = d!.image;
    const vc = await docker('alice', ['volume', 'create', 'av']);
    assert.equal(vc.code, 0, vc.err);
    assert.equal((await d!.api('GET', '/volumes/av')).body.Labels['hijack.owner'], 'alice');
    const same = async (who: Who, args: (x: string) => string[], ref: string) => {
      const want = await docker(who, args('never-was'));
      const got = await docker(who, args(ref));
      assert.equal(got.code, want.code, `${args(ref).join(' ')}: ${got.err}`);
      assert.equal(got.err.replaceAll(ref, 'never-was'), want.err, args(ref).join(' '));
      assert.equal(got.out.replaceAll(ref, 'never-was'), want.out, args(ref).join(' '));
    };
    const steal = await docker('bob', ['volume', 'create', 'av']);
    assert.notEqual(steal.code, 0);
    assert.match(steal.err, /Name "av" is taken by a volume that is not yours/);
    assert.equal((await docker('alice', ['volume', 'create', 'av'])).code, 0);
    await same('bob', (x) => ['volume', 'inspect', x], 'av');
    await same('bob', (x) => ['volume', 'rm', x], 'av');
    const lsA = await docker('alice', ['volume', 'ls', '-q']);
    assert.deepEqual(lsA.out.trim().split('\n'), ['av']);
    assert.equal((await docker('bob', ['volume', 'ls', '-q'])).out.trim(), '');
    const useB = await docker('bob', [
      'run',
      '--rm',
      '--network',
      'none',
      '-v',
      'av:/x',
      img,
      'true',
    ]);
    assert.notEqual(useB.code, 0);
    assert.match(useB.err, /HostConfig\.Binds\[0\] names volume "av", which is not yours/);
    const mountB = await docker('bob', [
      'run',
      '--rm',
      '--network',
      'none',
      '--mount',
      'type=volume,src=av,dst=/x',
      img,
      'true',
    ]);
    assert.match(mountB.err, /HostConfig\.Mounts\[0\]\.Source names volume "av"/);
    const useA = await docker('alice', [
      'run',
      '--rm',
      '--network',
      'none',
      '-v',
      'av:/x',
      img,
      'sh',
      '-c',
      'echo kept > /x/f',
    ]);
    assert.equal(useA.code, 0, useA.err);
    const fresh = await docker('alice', [
      'run',
      '--rm',
      '--network',
      'none',
      '-v',
      'nonesuch:/x',
      img,
      'true',
    ]);
    assert.match(fresh.err, /HostConfig\.Binds\[0\] names volume "nonesuch", which is not yours/);
    assert.equal((await d!.api('GET', '/volumes/nonesuch')).status, 404);

    const nc = await docker('alice', ['network', 'create', 'an']);
    assert.equal(nc.code, 0, nc.err);
    {
      const info = await d!.api('GET', '/networks/an');
      assert.equal(info.body.Labels['hijack.owner'], 'alice');
      await same('bob', (x) => ['network', 'inspect', x], 'an');
      await same('bob', (x) => ['network', 'rm', x], 'an');
      assert.ok(
        !(await docker('bob', ['network', 'ls', '--format', '{{.Name}}'])).out.includes('an'),
      );
      assert.ok(
        (await docker('alice', ['network', 'ls', '--format', '{{.Name}}'])).out.includes('an'),
      );
      const join = await docker('bob', ['run', '--rm', '--network', 'an', img, 'true']);
      assert.match(join.err, /HostConfig\.NetworkMode names network "an", which is not yours/);
      // Connect: the network and the container must both be the client's.
      const bc = await docker('bob', [
        'create',
        '--network',
        'none',
        '--name',
        'bnet',
        img,
        'true',
      ]);
      assert.equal(bc.code, 0, bc.err);
      const steal = await docker('alice', ['network', 'connect', 'an', 'bnet']);
      assert.match(steal.err, /Container names container "bnet", which is not yours/);
      await same('bob', (x) => ['network', 'connect', x, 'bnet'], 'an');
      await same('bob', (x) => ['network', 'disconnect', x, 'bnet'], 'an');
      assert.equal((await docker('alice', ['network', 'rm', 'an'])).code, 0);
    }

    // A second gateway in front of the same daemon agrees (the label is the only state).
    const o = parseGatewayArgs(['--preset', 'sandbox', '--token-file', join(dir, 'tokens')], {});
    const gw2 = createGateway({
      listen: [{ kind: 'tcp', host: '127.0.0.1', port: 0 }],
      upstream: d!.target,
      policy: o.policy,
      auth: o.auth,
    });
    const [tcp2] = await gw2.listen();
    try {
      const b = await docker('bob', [
        'run',
        '-d',
        '--network',
        'none',
        '--name',
        'bx',
        img,
        'sleep',
        '600',
      ]);
      assert.equal(b.code, 0, b.err);
      const bobId = b.out.trim();
      const dup = await docker('alice', [
        'create',
        '--network',
        'none',
        '--name',
        'bx',
        img,
        'true',
      ]);
      assert.match(dup.err, /name "bx" is taken by a container that is not yours/);
      assert.ok(!dup.err.includes(bobId.slice(0, 12)), dup.err);
      const via2 = (who: Who, args: string[]) =>
        run(DOCKER, ['-H', tcp2!.url, ...args], {
          ...process.env,
          DOCKER_CONFIG: join(dir, who),
          DOCKER_CLI_HINTS: 'false',
        });
      assert.equal((await via2('bob', ['ps', '--format', '{{.Names}}'])).out.trim(), 'bx');
      assert.equal((await via2('alice', ['ps', '-a', '--format', '{{.Names}}'])).out.trim(), '');
      assert.match((await via2('alice', ['rm', '-f', 'bx'])).err, /^$|No such container/);

      // Alice names a container after a prefix of bob's id: by that string dockerd resolves
      // the name first, so bob reaches only... nothing (alice's is hidden), and never alice's.
      const prefix = bobId.slice(0, 6);
      const a = await docker('alice', [
        'run',
        '-d',
        '--network',
        'none',
        '--name',
        prefix,
        img,
        'sleep',
        '600',
      ]);
      assert.equal(a.code, 0, a.err);
      const aliceId = a.out.trim();
      assert.match(
        (await docker('alice', ['inspect', '-f', '{{.Id}}', prefix])).out,
        new RegExp(aliceId),
      );
      await docker('bob', ['rm', '-f', prefix]);
      await docker('bob', ['exec', prefix, 'true']);
      assert.equal((await d!.api('GET', `/containers/${aliceId}/json`)).body.State.Running, true);
      assert.equal((await d!.api('GET', `/containers/${bobId}/json`)).body.State.Running, true);
      // Paths that could read as another object are refused before any lookup.
      for (const p of [
        '/v1.41/containers/%2e%2e/json',
        '/v1.41/containers/a%2Fb/json',
        '/v1.41/containers/../containers/bx/json',
      ]) {
        const r = await raw('alice', 'GET', p);
        assert.equal(r.status, 400, `${p}: ${r.body}`);
      }
      // A multi-segment name (dockerd's {name:.*}) is one object, looked up as such.
      const multi = await raw('alice', 'GET', `/v1.41/containers/bx/json/json`);
      assert.equal(multi.status, 404);
      assert.equal(multi.body, '{"message":"No such container: bx/json"}\n');
    } finally {
      await gw2.close({ timeout: 1000, grace: 200 });
    }
    await clean();
    await d!.api('DELETE', '/volumes/av');
  },
);
