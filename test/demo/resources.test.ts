/**
 * The demo engine's logs, events, ps filters, version, image inspect and 501 answers,
 * driven by the real Docker CLI 28 and 20.10 and by docker-py (Debian python3-docker).
 */
import { test, before, after, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createEngine, type Command, type Engine } from '../../src/demo/engine/index.js';
import { requirePeer } from '../helpers/peers.js';
import { runPeer, type RunResult } from '../helpers/run.js';

const CLIS = [
  ['Docker CLI 28', '/usr/local/bin/docker'],
  ['Docker CLI 20.10', '/usr/bin/docker'],
] as const;
const T = { timeout: 60_000 };

let dir: string;
let engine: Engine;
let host: string;

/** Prints `out N` / `err N` every 50 ms (at most 2000 lines) until killed. */
const ticker: Command = async ({ stdout, stderr, signal }) => {
  for (let i = 0; i < 2000 && !signal.aborted; i++) {
    stdout.write(`out ${i}\n`);
    stderr.write(`err ${i}\n`);
    await sleep(50, undefined, { signal }).catch(() => {});
  }
  return 0;
};
/** Prints two lines to each stream, then sleeps until killed. */
const chatty: Command = async ({ stdout, stderr, signal }) => {
  stdout.write('one\ntwo\n');
  stderr.write('uno\ndos\n');
  await new Promise((r) => signal.addEventListener('abort', r, { once: true }));
  return 0;
};

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hj-rs-'));
  engine = createEngine({
    socketPath: join(dir, 'e.sock'),
    commands: { ticker, chatty },
    containers: [
      { name: 'c1' },
      { name: 'c3', cmd: ['echo', 'done'], running: false },
      { name: 'talk', cmd: ['chatty'], labels: { app: 'web', tier: 'front' } },
      { name: 'tick', cmd: ['ticker'], image: 'other/img:1' },
      { name: 'ttalk', cmd: ['chatty'], tty: true },
    ],
  });
  host = await engine.listen();
});
after(async () => {
  await engine.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Runs a docker CLI against the engine; killed after `ms` (default 15 s). */
function docker(bin: string, args: string[], ms = 15_000): Promise<RunResult> {
  return runPeer(bin, ['-H', host, ...args], {
    env: { ...process.env, DOCKER_CONFIG: dir },
    timeout: ms,
  });
}

function cli(t: TestContext, bin: string): boolean {
  return requirePeer(t, bin, 'the real Docker CLI') !== null;
}

for (const [name, bin] of CLIS) {
  test(`${name}: logs with stdout/stderr split, --tail, -t, --since, --until`, T, async (t) => {
    if (!cli(t, bin)) return;
    const all = await docker(bin, ['logs', 'talk']);
    assert.equal(all.code, 0, all.stderr);
    assert.equal(all.stdout, 'one\ntwo\n');
    assert.equal(all.stderr, 'uno\ndos\n');
    const tail = await docker(bin, ['logs', '--tail', '1', 'talk']);
    // The last entry of both streams together, as dockerd counts --tail.
    assert.equal(tail.stdout + tail.stderr, 'dos\n');
    const ts = await docker(bin, ['logs', '-t', 'talk']);
    assert.match(ts.stdout, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z one\n\S+ two\n$/);
    const future = await docker(bin, ['logs', '--since', String(Date.now() / 1000 + 3600), 'talk']);
    assert.equal(future.stdout + future.stderr, '');
    const past = await docker(bin, ['logs', '--until', '1', 'talk']);
    assert.equal(past.code, 0, past.stderr);
    assert.equal(past.stdout + past.stderr, '');
    const none = await docker(bin, ['logs', 'nope']);
    assert.notEqual(none.code, 0);
    assert.match(none.stderr, /No such container: nope/);
  });

  test(`${name}: logs -f follows until the container stops`, T, async (t) => {
    if (!cli(t, bin)) return;
    const follow = docker(bin, ['logs', '-f', '--tail', '0', 'tick']);
    // Wait for a few new lines to be written, then kill: the follower ends with exit 0.
    const before = engine.container('tick')!.logs.entries.length;
    for (let i = 0; i < 200 && engine.container('tick')!.logs.entries.length < before + 6; i++) {
      await sleep(25);
    }
    await sleep(100);
    await engine.container('tick')!.kill();
    const r = await follow;
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^(out \d+\n)+$/);
    assert.match(r.stderr, /^(err \d+\n)+$/);
    engine.container('tick')!.start(9999);
  });

  test(`${name}: a TTY container's logs are raw (one stream)`, T, async (t) => {
    if (!cli(t, bin)) return;
    const r = await docker(bin, ['logs', 'ttalk']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    assert.deepEqual(r.stdout.split(/\r?\n/).filter(Boolean).sort(), ['dos', 'one', 'two', 'uno']);
  });

  test(
    `${name}: events bounded by --since/--until, with filters and dockerd's shape`,
    T,
    async (t) => {
      if (!cli(t, bin)) return;
      const since = (Date.now() / 1000).toFixed(3);
      const ex = await docker(bin, ['exec', 'c1', 'fail', '4', 'x']);
      assert.equal(ex.code, 4);
      const until = (Date.now() / 1000 + 0.5).toFixed(3);
      await sleep(600);
      const r = await docker(bin, [
        'events',
        '--since',
        since,
        '--until',
        until,
        '--format',
        '{{json .}}',
      ]);
      assert.equal(r.code, 0, r.stderr);
      const events = r.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      const actions = events.map((e) => e.Action);
      assert.deepEqual(actions, ['exec_create: fail 4 x', 'exec_start: fail 4 x', 'exec_die']);
      const die = events[2];
      assert.equal(die.Type, 'container');
      assert.equal(die.status, 'exec_die');
      assert.equal(die.id, engine.container('c1')!.id);
      assert.equal(die.from, 'hijack/demo:latest');
      assert.equal(die.scope, 'local');
      assert.deepEqual(Object.keys(die.Actor.Attributes).sort(), [
        'execID',
        'exitCode',
        'image',
        'name',
      ]);
      assert.equal(die.Actor.Attributes.exitCode, '4');
      assert.equal(String(die.timeNano).slice(0, 10), String(die.time));
      const filtered = await docker(bin, [
        'events',
        '--since',
        since,
        '--until',
        until,
        '--filter',
        'event=exec_die',
        '--format',
        '{{.Action}}',
      ]);
      assert.equal(filtered.stdout, 'exec_die\n');
    },
  );

  test(`${name}: events live until --until, then exit 0`, T, async (t) => {
    if (!cli(t, bin)) return;
    const until = (Date.now() / 1000 + 3).toFixed(3);
    const live = docker(bin, [
      'events',
      '--until',
      until,
      '--filter',
      'container=c1',
      '--format',
      '{{.Action}}',
    ]);
    // Start an exec after the CLI is listening (the engine counts listeners).
    for (let i = 0; i < 200 && !(await listening()); i++) {
      await sleep(25);
    }
    await docker(bin, ['exec', 'c1', 'true']);
    const r = await live;
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'exec_create: true\nexec_start: true\nexec_die\n');
  });

  test(`${name}: ps --filter id, name, label, status, ancestor`, T, async (t) => {
    if (!cli(t, bin)) return;
    const names = async (...f: string[]) => {
      const r = await docker(bin, [
        'ps',
        '-a',
        ...f.flatMap((x) => ['--filter', x]),
        '--format',
        '{{.Names}}',
      ]);
      assert.equal(r.code, 0, r.stderr);
      return r.stdout.split('\n').filter(Boolean).sort();
    };
    assert.deepEqual(await names('name=c1'), ['c1']);
    assert.deepEqual(await names('name=^/t'), ['talk', 'tick', 'ttalk']);
    assert.deepEqual(await names(`id=${engine.container('c3')!.id.slice(0, 8)}`), ['c3']);
    assert.deepEqual(await names('label=app'), ['talk']);
    assert.deepEqual(await names('label=app=web', 'label=tier=front'), ['talk']);
    assert.deepEqual(await names('label=app=db'), []);
    assert.deepEqual(await names('status=exited'), ['c3']);
    assert.deepEqual(await names('ancestor=other/img:1'), ['tick']);
    assert.deepEqual(await names('ancestor=hijack/demo', 'status=running'), [
      'c1',
      'talk',
      'ttalk',
    ]);
    // Without -a, as dockerd: a status filter lists stopped containers too, the others
    // narrow the running ones (the gateway's scope owner adds a label filter to every ps).
    const running = async (f: string) => {
      const r = await docker(bin, ['ps', '--filter', f, '--format', '{{.Names}}']);
      assert.equal(r.code, 0, r.stderr);
      return r.stdout.split('\n').filter(Boolean).sort();
    };
    assert.deepEqual(await running('name=c3'), []);
    assert.deepEqual(await running(`id=${engine.container('c3')!.id.slice(0, 8)}`), []);
    assert.deepEqual(await running('exited=0'), []);
    assert.deepEqual(await running('name=c1'), ['c1']);
    assert.deepEqual(await running('status=exited'), ['c3']);
    const bad = await docker(bin, ['ps', '--filter', 'status=sleepy']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /invalid filter 'status=sleepy'/);
  });

  test(
    `${name}: version has every field; image inspect of the demo image; 501 names the demo`,
    T,
    async (t) => {
      if (!cli(t, bin)) return;
      const v = await docker(bin, ['version']);
      assert.equal(v.code, 0, v.stderr);
      const server = v.stdout.slice(v.stdout.indexOf('Server'));
      assert.match(server, /API version:\s+1\.43 \(minimum version 1\.24\)/);
      assert.match(server, /OS\/Arch:\s+linux\/\w+/);
      assert.match(server, /Go version:\s+node v\d+/);
      const i = await docker(bin, [
        'image',
        'inspect',
        'hijack/demo:latest',
        '--format',
        '{{.RepoTags}} {{.Os}}',
      ]);
      assert.equal(i.code, 0, i.stderr);
      assert.equal(i.stdout, '[hijack/demo:latest] linux\n');
      const info = await docker(bin, [
        'info',
        '--format',
        '{{.ServerVersion}} {{.OSType}} {{.Containers}}',
      ]);
      assert.equal(info.stdout, `0.1.0 linux 5\n`);
      const top = await docker(bin, ['top', 'c1']);
      assert.notEqual(top.code, 0);
      assert.match(top.stderr, /the demo engine has no GET \/containers\/\{id\}\/top endpoint/);
    },
  );
}

for (const [name, bin] of CLIS) {
  test(`${name}: run --rm (with -i), create/start/rm, an image the demo lacks`, T, async (t) => {
    if (!cli(t, bin)) return;
    const before = engine.containers.length;
    const hi = await docker(bin, ['run', '--rm', 'hijack/demo', 'echo', 'hi', 'there']);
    assert.deepEqual(hi, { code: 0, stdout: 'hi there\n', stderr: '' });
    const fail = await docker(bin, ['run', '--rm', 'hijack/demo', 'sh', '-c', 'fail 3 x']);
    assert.equal(fail.code, 3);
    assert.equal(fail.stderr, 'fail: x\n');
    const piped = await runPeer(bin, ['-H', host, 'run', '--rm', '-i', 'hijack/demo', 'cat'], {
      env: { ...process.env, DOCKER_CONFIG: dir },
      input: 'piped in\n',
    });
    assert.deepEqual(piped, { code: 0, stdout: 'piped in\n', stderr: '' });
    assert.equal(engine.containers.length, before, '--rm removed them');
    const id = (
      await docker(bin, ['create', '--name', 'made', '-l', 'k=v', 'hijack/demo', 'sleep', '100'])
    ).stdout.trim();
    assert.match(id, /^[0-9a-f]{64}$/);
    assert.deepEqual(
      await docker(bin, ['ps', '-a', '--filter', 'status=created', '--format', '{{.Names}}']),
      {
        code: 0,
        stdout: 'made\n',
        stderr: '',
      },
    );
    assert.equal((await docker(bin, ['start', 'made'])).code, 0);
    const busy = await docker(bin, ['rm', 'made']);
    assert.notEqual(busy.code, 0);
    assert.match(busy.stderr, /You cannot remove a running container/);
    assert.equal((await docker(bin, ['rm', '-f', 'made'])).code, 0);
    assert.equal(engine.container('made'), undefined);
    const alpine = await docker(bin, ['run', '--rm', 'alpine', 'true']);
    assert.notEqual(alpine.code, 0);
    assert.match(alpine.stderr, /the demo engine has no POST \/images\/create endpoint/);
  });
}

test('docker-compose 1.29: up -d, ps, exec -T, logs, down on the demo image', T, async (t) => {
  const compose = requirePeer(t, '/usr/bin/docker-compose', 'docker-compose 1.29 (Debian)');
  if (!compose) return;
  const proj = mkdtempSync(join(dir, 'proj-'));
  writeFileSync(
    join(proj, 'docker-compose.yml'),
    'version: "3"\nservices:\n  web:\n    image: hijack/demo:latest\n' +
      '    command: ["sh", "-c", "echo started; sleep infinity"]\n',
  );
  const dc = (...args: string[]) =>
    runPeer(compose, ['-p', 'demo', '-f', join(proj, 'docker-compose.yml'), ...args], {
      env: { ...process.env, DOCKER_HOST: host, DOCKER_CONFIG: dir },
      timeout: 30_000,
    });
  const up = await dc('up', '-d');
  assert.equal(up.code, 0, up.stderr);
  assert.match(up.stderr, /Creating demo_web_1 \.\.\. done/);
  const ps = await dc('ps');
  assert.equal(ps.code, 0, ps.stderr);
  assert.match(ps.stdout, /demo_web_1\s+sh -c echo started; sleep .*\s+Up/);
  const ex = await dc('exec', '-T', 'web', 'fail', '4', 'boom');
  assert.equal(ex.code, 4);
  assert.equal(ex.stdout, 'fail: about to exit with status 4\n');
  assert.equal(ex.stderr, 'fail: boom\n');
  const logs = await dc('logs', '--no-color');
  assert.equal(logs.code, 0, logs.stderr);
  assert.match(logs.stdout, /web_1 +\| started/);
  const again = await dc('up', '-d');
  assert.match(again.stderr, /demo_web_1 is up-to-date/);
  const down = await dc('down');
  assert.equal(down.code, 0, down.stderr);
  assert.match(down.stderr, /Removing demo_web_1 \.\.\. done/);
  assert.match(down.stderr, /Removing network demo_default/);
  assert.doesNotMatch(down.stderr, /orphan/i);
  assert.equal(engine.container('demo_web_1'), undefined);
});

/** True once some client holds GET /events open. */
async function listening(): Promise<boolean> {
  const r = await fetchJson('/info');
  return (r as { NEventsListener: number }).NEventsListener > 0;
}

async function fetchJson(path: string): Promise<unknown> {
  const { request } = await import('node:http');
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: join(dir, 'e.sock'), path }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c));
      res.on('end', () => resolve(JSON.parse(body)));
    });
    req.on('error', reject);
    req.end();
  });
}

test('docker-py: logs(stream=True), events() bounded, exec_run', T, async (t) => {
  // Debian's python3 with python3-docker (not a pyenv shim that may lack the package).
  const py = requirePeer(t, '/usr/bin/python3', 'docker-py');
  if (!py) return;
  const probe = spawnSync(py, ['-c', 'import docker'], { encoding: 'utf8' });
  if (probe.status !== 0) {
    if (process.env.CI === 'true') assert.fail('python3-docker is not installed');
    t.skip('python3-docker is not installed');
    return;
  }
  const script = `
import docker, json, sys, time
c = docker.DockerClient(base_url=${JSON.stringify(host)}, timeout=10)
t0 = time.time()
# Output right behind the 101 head must still reach docker-py (it reads the head buffered).
lost = sum(1 for _ in range(10) if c.containers.get('c1').exec_run(['echo', 'x'], demux=True).output[0] is None)
print(json.dumps({'lost': lost}))
r = c.containers.get('c1').exec_run(['fail', '5', 'boom'], demux=True)
print(json.dumps({'exit': r.exit_code, 'out': r.output[0].decode(), 'err': r.output[1].decode()}))
g = c.containers.get('talk').logs(stream=True, follow=False, stdout=True, stderr=True)
print(json.dumps({'logs': b''.join(g).decode()}))
f = c.containers.get('tick').logs(stream=True, follow=True, tail=0)
print(json.dumps({'follow': [next(f).decode() for _ in range(4)]}))
f.close()
ev = list(c.events(since=t0 - 1, until=time.time() + 0.5, decode=True, filters={'event': 'exec_die'}))
print(json.dumps({'events': [(e['Action'], e['Actor']['Attributes']['exitCode']) for e in ev]}))
`;
  // Asynchronously: the engine runs in this process and must keep answering.
  const r = await runPeer(py, ['-c', script], { timeout: 30_000 });
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.deepEqual(lines.shift(), { lost: 0 });
  assert.deepEqual(lines[0], {
    exit: 5,
    out: 'fail: about to exit with status 5\n',
    err: 'fail: boom\n',
  });
  assert.equal(lines[1].logs.split('\n').filter(Boolean).sort().join(','), 'dos,one,two,uno');
  assert.equal(lines[2].follow.length, 4);
  for (const l of lines[2].follow) assert.match(l, /^(out|err) \d+\n$/);
  assert.deepEqual(lines[3].events.at(-1), ['exec_die', '5']);
});
