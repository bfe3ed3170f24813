/**
 * The real Docker CLI 28 through the gateway (TCP and unix listeners) to a real dockerd.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startDockerd, needDockerd, type Dockerd } from '../helpers/dockerd.js';
import { requirePeer } from '../helpers/peers.js';
import {
  createGateway,
  parseRule,
  type Gateway,
  type GatewayTakeoverEvent,
} from '../../src/gateway/index.js';

const DOCKER = '/usr/local/bin/docker';
const RULES = [
  'GET,HEAD /_ping',
  'GET /version',
  'GET /info',
  'GET /containers/json',
  'GET /containers/{id}/json',
  'POST /containers/{id}/exec',
  'POST /exec/{id}/start',
  'POST /exec/{id}/resize',
  'GET /exec/{id}/json',
  'POST /containers/{id}/attach',
  'POST /containers/{id}/wait',
  'POST /containers/{id}/resize',
  'GET /containers/{id}/logs',
  'GET /events',
];

let d: Dockerd | null = null;
let gw: Gateway | undefined;
let tcpHost = '';
let unixHost = '';
let dir = '';
const takeovers: GatewayTakeoverEvent[] = [];

before(async () => {
  d = await startDockerd();
  if (!d) return;
  dir = mkdtempSync(join(tmpdir(), 'gwe-'));
  gw = createGateway({
    listen: [
      { kind: 'tcp', host: '127.0.0.1', port: 0 },
      { kind: 'unix', path: join(dir, 'gw.sock'), mode: 0o600 },
    ],
    upstream: d.target,
    policy: { rules: RULES.map((r) => parseRule(r, 'allow', 'e2e')) },
    // Short on purpose: `logs -f` and `events` below run past all of them. The stream
    // timeout keeps its default (off), which is what the gateway claims.
    timeouts: { connect: 1000, head: 1000, idle: 1000 },
  });
  gw.on('takeover', (e) => takeovers.push(e));
  const [tcp, unix] = await gw.listen();
  tcpHost = tcp!.url;
  unixHost = unix!.url;
});

after(async () => {
  await gw?.close({ timeout: 2000, grace: 500 });
  await d?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function docker(host: string, args: string[], stdin?: string, ms = 20_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(DOCKER, ['-H', host, ...args], {
      env: { ...process.env, DOCKER_CONFIG: join(dir, 'cfg'), DOCKER_CLI_HINTS: 'false' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`docker ${args.join(' ')} timed out; stdout=${stdout} stderr=${stderr}`));
    }, ms);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    if (stdin !== undefined) child.stdin.end(stdin);
    else child.stdin.end();
  });
}

test('docker version and ps through the gateway (tcp)', { timeout: 30_000 }, async (t) => {
  if (!requirePeer(t, DOCKER) || !needDockerd(t, d)) return;
  const v = await docker(tcpHost, ['version', '--format', '{{.Server.Version}}']);
  assert.equal(v.code, 0, v.stderr);
  assert.match(v.stdout, /^\d+\.\d+/);
  const ps = await docker(tcpHost, ['ps']);
  assert.equal(ps.code, 0, ps.stderr);
  assert.match(ps.stdout, /CONTAINER ID/);
});

test(
  'docker exec -i: stdin with EOF, stdout/stderr split, exit code (tcp and unix)',
  { timeout: 30_000 },
  async (t) => {
    if (!requirePeer(t, DOCKER) || !needDockerd(t, d)) return;
    const id = await d!.run(['sleep', '600']);
    for (const host of [tcpHost, unixHost]) {
      const cat = await docker(host, ['exec', '-i', id, 'cat'], 'hello through the gateway\n');
      assert.equal(cat.code, 0, cat.stderr);
      assert.equal(cat.stdout, 'hello through the gateway\n');
      // The last frames arrive after stdin EOF (half-close carried both ways).
      const late = await docker(
        host,
        ['exec', '-i', id, 'sh', '-c', 'cat >/dev/null; sleep 0.3; echo after-eof'],
        'x\n',
      );
      assert.equal(late.code, 0, late.stderr);
      assert.equal(late.stdout, 'after-eof\n');
      const split = await docker(host, ['exec', id, 'sh', '-c', 'echo out; echo err >&2; exit 3']);
      assert.equal(split.code, 3);
      assert.equal(split.stdout, 'out\n');
      assert.equal(split.stderr, 'err\n');
    }
    const tcp = takeovers.filter((e) => e.protocol === 'tcp');
    assert.ok(tcp.length >= 6, `takeover events: ${tcp.length}`);
    assert.ok(
      tcp.every((e) => e.end === 'half-close' || e.end === 'closed'),
      JSON.stringify(tcp.map((e) => e.end)),
    );
  },
);

test(
  'docker attach --sig-proxy=false: stdin in, output out, exit',
  { timeout: 30_000 },
  async (t) => {
    if (!requirePeer(t, DOCKER) || !needDockerd(t, d)) return;
    const id = await d!.run(['cat'], { openStdin: true, stdinOnce: true });
    const r = await docker(tcpHost, ['attach', '--sig-proxy=false', id], 'attached line\n');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'attached line\n');
  },
);

test(
  'docker logs -f and docker events run past the short head/idle timeouts',
  { timeout: 30_000 },
  async (t) => {
    if (!requirePeer(t, DOCKER) || !needDockerd(t, d)) return;
    const ev = spawn(
      DOCKER,
      ['-H', tcpHost, 'events', '--filter', 'type=container', '--format', '{{.Action}}'],
      {
        env: { ...process.env, DOCKER_CONFIG: join(dir, 'cfg') },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let evOut = '';
    ev.stdout.on('data', (c: Buffer) => (evOut += c.toString()));
    try {
      // Gaps of 1.5 s between lines, longer than every gateway timeout set above (1 s).
      const id = await d!.run(['sh', '-c', 'echo one; sleep 1.5; echo two; sleep 1.5; echo three']);
      const logs = await docker(tcpHost, ['logs', '-f', id]);
      assert.equal(logs.code, 0, logs.stderr);
      assert.equal(logs.stdout, 'one\ntwo\nthree\n');
      // The events stream has been quiet for longer than the timeouts; a new event still arrives.
      const before = evOut.length;
      await d!.run(['true']);
      for (let i = 0; i < 100 && !evOut.slice(before).includes('start'); i++) await sleep(50);
      assert.match(evOut.slice(before), /start/);
      assert.equal(ev.exitCode, null, 'docker events still runs');
    } finally {
      ev.kill('SIGKILL');
    }
  },
);

test(
  'denied calls show the gateway message in the CLI, over tcp and unix',
  { timeout: 30_000 },
  async (t) => {
    if (!requirePeer(t, DOCKER) || !needDockerd(t, d)) return;
    for (const host of [tcpHost, unixHost]) {
      const r = await docker(host, ['images']);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /hijack gateway: /);
      const rm = await docker(host, ['rm', '-f', 'nope']);
      assert.notEqual(rm.code, 0);
      assert.match(rm.stderr, /hijack gateway: /);
    }
  },
);
