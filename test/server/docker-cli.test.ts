/**
 * The real Docker CLI (28 at /usr/local/bin/docker, 20.10 at /usr/bin/docker) against the
 * demo engine (src/demo/engine), whose exec and attach streams are taken over with
 * hijack() from an ordinary request handler: output, stream separation, exit status,
 * stdin half-close, the legacy API version, and errors as the CLI prints them.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEngine, type EngineOptions } from '../../src/demo/engine/index.js';
import { requirePeer } from '../helpers/peers.js';

const CLIS = [
  { label: 'docker 28', path: '/usr/local/bin/docker' },
  { label: 'docker 20.10', path: '/usr/bin/docker' },
];

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

async function startEngine(t: TestContext, opts: EngineOptions = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'hj-dk-'));
  const engine = createEngine({ socketPath: join(dir, 'engine.sock'), ...opts });
  const host = await engine.listen();
  t.after(async () => {
    await engine.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { engine, host, dir };
}

/** Runs the docker CLI with its own config dir; `input` is piped to stdin (then EOF). */
function docker(
  cli: string,
  env: { host: string; dir: string },
  args: string[],
  input: string | Buffer = '',
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(cli, ['-H', env.host, ...args], {
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: env.dir,
        DOCKER_CONFIG: join(env.dir, 'docker-config'),
        DOCKER_CLI_HINTS: 'false',
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.stdin.on('error', () => {});
    child.stdin.end(input);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({
        code,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
  });
}

const show = (r: Run) => `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;

for (const { label, path } of CLIS) {
  const opts = { timeout: 30_000 };

  test(`${label}: echo data | docker exec -i c1 cat`, opts, async (t) => {
    const cli = requirePeer(t, path, 'the real Docker CLI');
    if (!cli) return;
    const env = await startEngine(t);
    const r = await docker(cli, env, ['exec', '-i', 'c1', 'cat'], 'data\n');
    assert.equal(r.code, 0, show(r));
    assert.equal(r.stdout, 'data\n');
    assert.equal(r.stderr, '');
    assert.equal(env.engine.openStreams, 0);
  });

  test(
    `${label}: stdout and stderr stay apart and the exit status comes through`,
    opts,
    async (t) => {
      const cli = requirePeer(t, path, 'the real Docker CLI');
      if (!cli) return;
      const env = await startEngine(t);
      const r = await docker(cli, env, ['exec', 'c1', 'fail', '7', 'disk', 'on', 'fire']);
      assert.equal(r.code, 7, show(r));
      assert.equal(r.stdout, 'fail: about to exit with status 7\n');
      assert.equal(r.stderr, 'fail: disk on fire\n');
    },
  );

  test(
    `${label}: stdin half-close: wc -l counts everything and answers after EOF`,
    opts,
    async (t) => {
      const cli = requirePeer(t, path, 'the real Docker CLI');
      if (!cli) return;
      const env = await startEngine(t);
      const lines = Array.from({ length: 5000 }, (_, i) => `line ${i}`).join('\n') + '\n';
      const r = await docker(cli, env, ['exec', '-i', 'c1', 'wc', '-l'], lines);
      assert.equal(r.code, 0, show(r));
      assert.equal(r.stdout, '5000\n');
    },
  );

  test(`${label}: 2 MiB through exec -i cat arrive unchanged`, opts, async (t) => {
    const cli = requirePeer(t, path, 'the real Docker CLI');
    if (!cli) return;
    const env = await startEngine(t);
    const data = Buffer.alloc(2 << 20);
    for (let i = 0; i < data.length; i++) data[i] = 0x20 + ((i * 13) % 90);
    const r = await docker(cli, env, ['exec', '-i', 'c1', 'cat'], data);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.length, data.length);
    assert.ok(r.stdout === data.toString('utf8'), 'the bytes differ');
  });

  test(`${label}: echo with arguments, date, and an unknown command`, opts, async (t) => {
    const cli = requirePeer(t, path, 'the real Docker CLI');
    if (!cli) return;
    const env = await startEngine(t);
    const e = await docker(cli, env, ['exec', 'c1', 'echo', 'hello', 'world']);
    assert.equal(e.code, 0, show(e));
    assert.equal(e.stdout, 'hello world\n');
    const d = await docker(cli, env, ['exec', 'c1', 'date', '-u']);
    assert.equal(d.code, 0, show(d));
    assert.match(d.stdout, /^\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d UTC \d{4}\n$/);
    const n = await docker(cli, env, ['exec', 'c1', 'bash']);
    assert.equal(n.code, 126, show(n));
    assert.match(n.stdout, /executable file not found/);
  });

  test(
    `${label}: errors as the CLI prints them: no such container, stopped container`,
    opts,
    async (t) => {
      const cli = requirePeer(t, path, 'the real Docker CLI');
      if (!cli) return;
      const env = await startEngine(t);
      const missing = await docker(cli, env, ['exec', 'c9', 'cat']);
      assert.equal(missing.code, 1, show(missing));
      assert.match(missing.stderr, /No such container: c9/);
      const stopped = await docker(cli, env, ['exec', 'c3', 'cat']);
      assert.notEqual(stopped.code, 0, show(stopped));
      assert.match(stopped.stderr, /is not running/);
      const attach = await docker(cli, env, ['attach', '--sig-proxy=false', 'c3']);
      assert.notEqual(attach.code, 0, show(attach));
      assert.match(attach.stderr, /cannot attach to a stopped container/);
    },
  );

  test(
    `${label}: echo hi | docker attach c2 (cat as the main process, stdin once)`,
    opts,
    async (t) => {
      const cli = requirePeer(t, path, 'the real Docker CLI');
      if (!cli) return;
      const env = await startEngine(t);
      const r = await docker(cli, env, ['attach', '--sig-proxy=false', 'c2'], 'hi\nthere\n');
      assert.equal(r.code, 0, show(r));
      assert.equal(r.stdout, 'hi\nthere\n');
      assert.equal(env.engine.container('c2')?.running, false, 'stdin EOF ended cat');
    },
  );

  test(`${label}: docker ps, ps -a, inspect, version`, opts, async (t) => {
    const cli = requirePeer(t, path, 'the real Docker CLI');
    if (!cli) return;
    const env = await startEngine(t);
    const ps = await docker(cli, env, ['ps', '--format', '{{.Names}} {{.Status}}']);
    assert.equal(ps.code, 0, show(ps));
    assert.deepEqual(
      ps.stdout
        .trim()
        .split('\n')
        .map((l) => l.split(' ')[0]),
      ['c2', 'c1'],
    );
    // Newest first, as dockerd lists them.
    const all = await docker(cli, env, ['ps', '-a', '--format', '{{.Names}}']);
    assert.deepEqual(all.stdout.trim().split('\n'), ['c3', 'c2', 'c1']);
    const ins = await docker(cli, env, ['inspect', 'c1']);
    assert.equal(ins.code, 0, show(ins));
    const [doc] = JSON.parse(ins.stdout) as {
      Id: string;
      Name: string;
      State: { Running: boolean };
    }[];
    assert.equal(doc?.Name, '/c1');
    assert.equal(doc?.State.Running, true);
    assert.equal(doc?.Id, env.engine.container('c1')?.id);
    const ver = await docker(cli, env, ['version', '--format', '{{.Server.APIVersion}}']);
    assert.equal(ver.code, 0, show(ver));
    assert.equal(ver.stdout.trim(), '1.43');
  });
}

test(
  'docker 28 against an engine announcing API 1.41 (raw-stream media type): exec works',
  { timeout: 30_000 },
  async (t) => {
    const cli = requirePeer(t, '/usr/local/bin/docker', 'the real Docker CLI');
    if (!cli) return;
    const env = await startEngine(t, { apiVersion: '1.41' });
    const r = await docker(cli, env, ['exec', '-i', 'c1', 'fail', '2', 'oops'], '');
    assert.equal(r.code, 2, show(r));
    assert.equal(r.stdout, 'fail: about to exit with status 2\n');
    assert.equal(r.stderr, 'fail: oops\n');
  },
);
