/**
 * `--preset sandbox` in front of a real dockerd, driven by the real Docker CLI: every escape
 * is refused with its field named, a bind under the allowed root works.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDockerd, needDockerd, type Dockerd } from '../helpers/dockerd.js';
import { requirePeer } from '../helpers/peers.js';
import { createGateway, type Gateway } from '../../src/gateway/index.js';
import { parseGatewayArgs } from '../../src/cli/gateway-args.js';

const DOCKER = '/usr/local/bin/docker';
let d: Dockerd | null = null;
let gw: Gateway | undefined;
let host = '';
let dir = '';
let root = '';

before(async () => {
  d = await startDockerd();
  if (!d) return;
  dir = mkdtempSync(join(tmpdir(), 'gwsb-'));
  root = join(dir, 'work');
  mkdirSync(join(root, 'sub'), { recursive: true });
  writeFileSync(join(root, 'sub', 'hello.txt'), 'hello from the allowed root\n');
  const o = parseGatewayArgs(
    [
      '--preset',
      'sandbox',
      '--allow-bind-root',
      root,
      '--allow',
      'POST /volumes/create',
      '--allow',
      'POST /networks/create',
      '--allow',
      'POST /build',
    ],
    {},
  );
  gw = createGateway({
    listen: [{ kind: 'tcp', host: '127.0.0.1', port: 0 }],
    upstream: d.target,
    policy: o.policy,
  });
  const [tcp] = await gw.listen();
  host = tcp!.url;
});

after(async () => {
  await gw?.close({ timeout: 2000, grace: 500 });
  await d?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function docker(
  args: string[],
  ms = 20_000,
  extraEnv: Record<string, string> = {},
): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(DOCKER, ['-H', host, ...args], {
      env: {
        ...process.env,
        DOCKER_CONFIG: join(dir, 'cfg'),
        DOCKER_CLI_HINTS: 'false',
        ...extraEnv,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`docker ${args.join(' ')} timed out; ${out} ${err}`));
    }, ms);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
}

test(
  'sandbox on dockerd: each escape is refused naming its field',
  { timeout: 120_000 },
  async (t) => {
    if (!requirePeer(t, DOCKER) || !needDockerd(t, d)) return;
    // The proof is with the Docker CLI 28 (its create bodies are what is checked).
    const version = await docker(['version', '--format', '{{.Client.Version}}']);
    assert.match(version.out, /^28\./, version.err);
    const img = d!.image;
    const none = ['--network', 'none'];
    const cases: [string[], RegExp][] = [
      [
        [...none, '--privileged'],
        /HostConfig\.Privileged is not allowed \(rule: containers\.privileged from preset sandbox\)/,
      ],
      [
        [...none, '-v', '/:/host'],
        /HostConfig\.Binds\[0\] binds host path "\/", outside the allowed roots/,
      ],
      [
        [...none, '--mount', 'type=bind,src=/etc,dst=/e'],
        /HostConfig\.Mounts\[0\]\.Source binds host path "\/etc"/,
      ],
      [
        [...none, '-v', `${root}/../..:/x`],
        /HostConfig\.Binds\[0\] binds host path ".*\/\.\.\/\.\."/,
      ],
      [
        ['--network', 'host'],
        /HostConfig\.NetworkMode "host" is not allowed \(rule: containers\.namespaces/,
      ],
      [[...none, '--pid', 'host'], /HostConfig\.PidMode "host" is not allowed/],
      [[...none, '--ipc', 'host'], /HostConfig\.IpcMode "host" is not allowed/],
      [[...none, '--userns', 'host'], /HostConfig\.UsernsMode "host" is not allowed/],
      [
        [...none, '--cap-add', 'SYS_ADMIN'],
        /HostConfig\.CapAdd\[0\] "(CAP_)?SYS_ADMIN" is not allowed \(rule: containers\.capAdd/,
      ],
      [
        [...none, '--device', '/dev/null'],
        /HostConfig\.Devices is not allowed \(rule: containers\.devices/,
      ],
      [
        [...none, '--security-opt', 'seccomp=unconfined'],
        /HostConfig\.SecurityOpt\[0\] "seccomp=unconfined" is not allowed/,
      ],
    ];
    for (const [args, want] of cases) {
      const r = await docker(['run', '--rm', ...args, img, 'true']);
      assert.notEqual(r.code, 0, args.join(' '));
      assert.match(r.err, want, args.join(' '));
    }
    const vol = await docker([
      'volume',
      'create',
      '--opt',
      'type=none',
      '--opt',
      'o=bind',
      '--opt',
      'device=/',
      'escape',
    ]);
    assert.notEqual(vol.code, 0);
    assert.match(
      vol.err,
      /DriverOpts\.device makes a bind of host path "\/", .*rule: volumes\.bind/,
    );
    // Nothing was created behind the refusals.
    const list = await d!.api('GET', '/containers/json?all=1');
    assert.equal(list.body.length, 0, JSON.stringify(list.body));
  },
);

test(
  'sandbox on dockerd: a bind under the allowed root works; exec --privileged is refused',
  { timeout: 60_000 },
  async (t) => {
    if (!requirePeer(t, DOCKER) || !needDockerd(t, d)) return;
    const img = d!.image;
    const cat = await docker([
      'run',
      '--rm',
      '--network',
      'none',
      '-v',
      `${root}/sub:/w:ro`,
      img,
      'cat',
      '/w/hello.txt',
    ]);
    assert.equal(cat.code, 0, cat.err);
    assert.equal(cat.out, 'hello from the allowed root\n');
    // The root check is lexical, as dockerd cleans the path: `//`, `..` that stays under the
    // root and a trailing `/` are the same bind.
    const odd = await docker([
      'run',
      '--rm',
      '--network',
      'none',
      '--mount',
      `type=bind,src=${root}//sub/../sub/,dst=/w,readonly`,
      img,
      'cat',
      '/w/hello.txt',
    ]);
    assert.equal(odd.code, 0, odd.err);
    assert.equal(odd.out, 'hello from the allowed root\n');
    const run = await docker(['run', '-d', '--network', 'none', img, 'sleep', '600']);
    assert.equal(run.code, 0, run.err);
    const id = run.out.trim();
    try {
      const ok = await docker(['exec', id, 'echo', 'inside']);
      assert.equal(ok.code, 0, ok.err);
      assert.equal(ok.out, 'inside\n');
      const priv = await docker(['exec', '--privileged', id, 'true']);
      assert.notEqual(priv.code, 0);
      assert.match(
        priv.err,
        /Privileged is not allowed on an exec \(rule: execs\.privileged from preset sandbox\)/,
      );
    } finally {
      await docker(['rm', '-f', id]);
    }
  },
);

/** POSTs a raw JSON body through the gateway; the status and the message. */
async function rawPost(path: string, body: string): Promise<{ status: number; message: string }> {
  const url = new URL(host.replace(/^tcp:/, 'http:'));
  const res = await fetch(`http://${url.host}${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body,
  });
  const text = await res.text();
  let message = text;
  try {
    message = (JSON.parse(text) as { message?: string }).message ?? text;
  } catch {
    // not JSON
  }
  return { status: res.status, message };
}

test(
  'sandbox on dockerd: raw bodies with lower-case, escaped, duplicate and top-level keys',
  { timeout: 60_000 },
  async (t) => {
    if (!requirePeer(t, DOCKER) || !needDockerd(t, d)) return;
    const img = d!.image;
    const cases: [string, number, RegExp][] = [
      [
        `{"Image":"${img}","hostconfig":{"privileged":true,"NetworkMode":"none"}}`,
        403,
        /HostConfig\.Privileged is not allowed/,
      ],
      [
        `{"Image":"${img}","HostConfig":{"\\u0050rivileged":true,"NetworkMode":"none"}}`,
        403,
        /HostConfig\.Privileged is not allowed/,
      ],
      [
        `{"Image":"${img}","HostConfig":{"Binds":["/:/h"],"binds":[],"NetworkMode":"none"}}`,
        400,
        /HostConfig\.Binds is given twice/,
      ],
      [
        `{"Image":"${img}","HostConfig":{"NetworkMode":"none"},"Privileged":true}`,
        400,
        /top level of a create body/,
      ],
      [
        `{"Image":"${img}","HostConfig":{"NetworkMode":"none","CapAdd":"SYS_ADMIN"}}`,
        403,
        /HostConfig\.CapAdd\[0\] "SYS_ADMIN"/,
      ],
    ];
    cases.push([
      `{"Image":"${img}","Cmd":["true"],"NetworkMode":"none","Privileged":true}`,
      400,
      /"NetworkMode": a host-config field at the top level of a create body is refused/,
    ]);
    for (const [body, status, want] of cases) {
      const r = await rawPost('/v1.41/containers/create', body);
      assert.equal(r.status, status, `${body}: ${r.message}`);
      assert.match(r.message, want, body);
    }
    // What dockerd itself does with the legacy shape (why it is refused), for the log: 20.10
    // reads a top-level Privileged as the host config when there is no HostConfig.
    const direct = await d!.api('POST', `${d!.apiPrefix}/containers/create`, {
      Image: img,
      Cmd: ['true'],
      NetworkMode: 'none',
      Privileged: true,
    });
    if (direct.status === 201) {
      const info = await d!.api('GET', `/containers/${direct.body.Id}/json`);
      t.diagnostic(
        `dockerd with a top-level Privileged: HostConfig.Privileged=${info.body.HostConfig.Privileged}`,
      );
      await d!.api('DELETE', `/containers/${direct.body.Id}?force=1`);
    }
    const list = await d!.api('GET', '/containers/json?all=1');
    assert.equal(list.body.length, 0, JSON.stringify(list.body));
  },
);

test(
  'sandbox on dockerd: network create with a host driver or a host bridge is refused, a plain one works',
  { timeout: 60_000 },
  async (t) => {
    if (!requirePeer(t, DOCKER) || !needDockerd(t, d)) return;
    const cases: [string[], RegExp][] = [
      [
        ['--driver', 'host'],
        /Driver "host" is not allowed \(rule: networks\.driver from preset sandbox\)/,
      ],
      [['--driver', 'macvlan'], /Driver "macvlan" is not allowed \(rule: networks\.driver/],
      [
        ['-o', 'com.docker.network.bridge.name=docker0'],
        /Options\["com\.docker\.network\.bridge\.name"\] is not allowed \(rule: networks\.options from preset sandbox\)/,
      ],
      [['--subnet', '192.168.77.0/24'], /IPAM\.Config is not allowed \(rule: networks\.ipam/],
      [['--config-from', 'lan'], /ConfigFrom "lan" is not allowed \(rule: networks\.configFrom/],
    ];
    for (const [args, want] of cases) {
      const r = await docker(['network', 'create', ...args, 'escape']);
      assert.notEqual(r.code, 0, args.join(' '));
      assert.match(r.err, want, args.join(' '));
    }
    const before = await d!.api('GET', '/networks');
    assert.ok(!before.body.some((n: { Name: string }) => n.Name === 'escape'));
    const ok = await docker(['network', 'create', 'n1']);
    try {
      assert.equal(ok.code, 0, ok.err);
      const info = await d!.api('GET', '/networks/n1');
      assert.equal(info.status, 200);
      assert.equal(info.body.Driver, 'bridge');
    } finally {
      await d!.api('DELETE', '/networks/n1');
    }
  },
);

test(
  'sandbox on dockerd: docker build --network host is refused, a build with --network none works',
  { timeout: 60_000 },
  async (t) => {
    if (!requirePeer(t, DOCKER) || !needDockerd(t, d)) return;
    const ctx = join(dir, 'ctx');
    mkdirSync(ctx, { recursive: true });
    writeFileSync(join(ctx, 'Dockerfile'), `FROM ${d!.image}\nLABEL built=by-test\n`);
    const env = { DOCKER_BUILDKIT: '0' };
    const hostNet = await docker(
      ['build', '--network', 'host', '-t', 'mini:built', ctx],
      30_000,
      env,
    );
    assert.notEqual(hostNet.code, 0);
    assert.match(
      hostNet.err,
      /Error response from daemon: hijack gateway: networkmode "host" is not allowed \(rule: builds\.networkMode from preset sandbox\)/,
    );
    const ok = await docker(['build', '--network', 'none', '-t', 'mini:built', ctx], 30_000, env);
    assert.equal(ok.code, 0, ok.err);
    const img = await d!.api('GET', '/images/mini:built/json');
    assert.equal(img.status, 200);
    assert.equal(img.body.Config.Labels.built, 'by-test');
    await d!.api('DELETE', '/images/mini:built');
  },
);
