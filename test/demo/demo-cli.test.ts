/**
 * `hijack demo` as a child process (`node --import tsx src/cli/main.ts demo --port 0`, as
 * `npm start` runs it): parse the printed addresses and the two tokens' DOCKER_CONFIG
 * directories, drive it with the real Docker CLI 28 (and 20.10) as alice, check the live
 * page's JSON shows the stream, stop it with SIGINT; the sandbox body rules and scope owner
 * (bob sees none of alice's containers) through the same CLI.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LiveSnapshot } from '../../src/gateway/observe/index.js';
import { requirePeer } from '../helpers/peers.js';
import { runPeer } from '../helpers/run.js';

const root = new URL('../..', import.meta.url).pathname;
const DOCKER = '/usr/local/bin/docker';

interface Run {
  child: ChildProcess;
  out: () => string;
  err: () => string;
  exit: Promise<number | null>;
}

function runCli(args: string[]): Run {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, out: () => out, err: () => err, exit };
}

/** Runs docker with `input` on stdin; bounded by 15 s. */
function docker(
  host: string,
  args: string[],
  config: string,
  input?: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn(DOCKER, ['-H', host, ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, DOCKER_CONFIG: config },
    });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    c.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const t = setTimeout(() => c.kill('SIGKILL'), 15_000);
    c.once('exit', (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
    c.stdin.end(input);
  });
}

test(
  'hijack demo: prints the commands; docker exec through it works; the live JSON shows the stream; SIGINT stops it',
  {
    timeout: 30_000,
  },
  async (t) => {
    if (!requirePeer(t, DOCKER, 'the Docker CLI 28')) return;
    const run = runCli(['demo', '--port', '0']);
    try {
      for (let i = 0; i < 100 && !run.out().includes('Ctrl-C'); i++) await sleep(100);
      const out = run.out();
      const gateway = /^ {2}gateway {4}(tcp:\/\/127\.0\.0\.1:\d+)/m.exec(out)?.[1];
      const live = /^ {2}live page {2}(http:\/\/127\.0\.0\.1:\d+\/)$/m.exec(out)?.[1];
      assert.ok(gateway && live, `addresses printed:\n${out}\n${run.err()}`);
      const config = bannerUsers(out).alice.config;
      // The printed commands name the gateway exactly.
      assert.match(out, new RegExp(`echo hello \\| docker -H ${gateway} exec -i c1 cat`));

      // exec -i with stdin: output and exit status.
      const cat = await docker(gateway, ['exec', '-i', 'c1', 'cat'], config, 'hello demo\n');
      assert.deepEqual(cat, { code: 0, stdout: 'hello demo\n', stderr: '' });
      const fail = await docker(gateway, ['exec', 'c1', 'fail', '7', 'boom'], config);
      assert.equal(fail.code, 7);
      assert.match(fail.stderr, /boom/);
      // Refused by the policy.
      const rm = await docker(gateway, ['pull', 'alpine'], config);
      assert.notEqual(rm.code, 0);
      assert.match(rm.stderr, /hijack gateway: .*not allowed/);

      // A long exec shows up on the page's JSON as a hijacked connection.
      const long = spawn(DOCKER, ['-H', gateway, 'exec', '-i', 'c1', 'cat'], {
        stdio: ['pipe', 'pipe', 'pipe'],
        env: { ...process.env, DOCKER_CONFIG: config },
      });
      let longOut = '';
      long.stdout.on('data', (b: Buffer) => (longOut += b.toString()));
      const longExit = new Promise<number | null>((r) => long.once('exit', (code) => r(code)));
      long.stdin.write('first\n');
      let found;
      for (let i = 0; i < 50 && !found; i++) {
        const s = (await (await fetch(live + 'connections.json')).json()) as LiveSnapshot;
        found = s.connections.find(
          (c) => c.state === 'hijacked' && /^\/exec\/[0-9a-f]+\/start$/.test(c.route?.path ?? ''),
        );
        if (!found) await sleep(100);
      }
      assert.ok(found, 'the exec stream is listed as hijacked');
      assert.equal(found.takeover?.kind, 'upgrade');
      assert.ok(found.tcp && found.tcp.cwnd > 0);
      const page = await fetch(live);
      assert.equal(page.status, 200);
      assert.match(await page.text(), /live connections/);
      const metrics = await (await fetch(live + 'metrics')).text();
      assert.match(metrics, /hijack_gateway_takeovers_open\{kind="upgrade"\} 1/);
      long.stdin.end('second\n');
      assert.equal(await longExit, 0);
      assert.equal(longOut, 'first\nsecond\n');

      // The access log is JSON lines on stderr.
      const logLine = run
        .err()
        .split('\n')
        .find(
          (l) => l.includes('"msg":"takeover end"') && l.includes('"allow POST /exec/{id}/start"'),
        );
      assert.ok(logLine, run.err());
      assert.equal(JSON.parse(logLine).takeover.end, 'half-close');

      run.child.kill('SIGINT');
      assert.equal(await run.exit, 0);
      assert.match(run.out(), /hijack demo: stopped/);
    } finally {
      run.child.kill('SIGKILL');
    }
  },
);

test('hijack demo: bad flags exit 2 with a message', { timeout: 20_000 }, async () => {
  const bad = runCli(['demo', '--host', '0.0.0.0']);
  assert.equal(await bad.exit, 2);
  assert.match(bad.err(), /loopback only/);
  const port = runCli(['demo', '--port', '99999']);
  assert.equal(await port.exit, 2);
  assert.match(port.err(), /--port must be a port number/);
});

/** A token line of the banner: `  alice  alice-… DOCKER_CONFIG=/tmp/hijack-demo-…/alice …`. */
interface BannerUser {
  token: string;
  config: string;
}

/** The tokens and DOCKER_CONFIG directories the banner prints for alice and bob. */
function bannerUsers(out: string): { alice: BannerUser; bob: BannerUser } {
  const users: Record<string, BannerUser> = {};
  for (const m of out.matchAll(/^ {2}(alice|bob) +(\S+) +DOCKER_CONFIG=(\S+) +\(/gm)) {
    users[m[1]!] = { token: m[2]!, config: m[3]! };
  }
  assert.ok(users.alice && users.bob, `both tokens printed:\n${out}`);
  return { alice: users.alice, bob: users.bob };
}

/** Starts `hijack demo`, resolves with its gateway URL once the banner is out. */
async function startDemoCli(): Promise<{
  run: Run;
  gateway: string;
  live: string;
  unix: string;
  users: { alice: BannerUser; bob: BannerUser };
}> {
  const run = runCli(['demo', '--port', '0', '--log-level', 'silent']);
  for (let i = 0; i < 100 && !run.out().includes('Ctrl-C'); i++) await sleep(100);
  const gateway = /^ {2}gateway {4}(tcp:\/\/127\.0\.0\.1:\d+)/m.exec(run.out())?.[1];
  const live = /^ {2}live page {2}(http:\/\/127\.0\.0\.1:\d+\/)$/m.exec(run.out())?.[1];
  const unix = /^ {2}unix {7}(unix:\/\/\S+)/m.exec(run.out())?.[1];
  assert.ok(gateway && live && unix, `addresses printed:\n${run.out()}\n${run.err()}`);
  return { run, gateway, live, unix, users: bannerUsers(run.out()) };
}

for (const [name, bin] of [
  ['Docker CLI 28', DOCKER],
  ['Docker CLI 20.10', '/usr/bin/docker'],
] as const) {
  test(
    `hijack demo through the gateway with ${name}: logs, logs -f, events, ps --filter, image inspect, kill`,
    { timeout: 60_000 },
    async (t) => {
      if (!requirePeer(t, bin, name)) return;
      const { run, gateway, live, unix, users } = await startDemoCli();
      const config = users.alice.config;
      const dk = (args: string[], input?: string, host = gateway) =>
        runPeer(bin, ['-H', host, ...args], {
          env: { ...process.env, DOCKER_CONFIG: config },
          ...(input !== undefined ? { input } : {}),
        });
      try {
        const since = (Date.now() / 1000).toFixed(3);
        // c2 is `cat` with StdinOnce: attach with stdin, then its logs hold what it printed.
        const att = await dk(['attach', '--sig-proxy=false', 'c2'], 'to c2\n');
        assert.equal(att.code, 0, att.stderr);
        assert.equal(att.stdout, 'to c2\n');
        const logs = await dk(['logs', 'c2']);
        assert.deepEqual(logs, { code: 0, stdout: 'to c2\n', stderr: '' });
        // Start it again, follow its logs, kill it: the follower ends by itself.
        assert.equal((await dk(['start', 'c2'])).code, 0);
        const follow = dk(['logs', '-f', '--tail', '1', 'c2']);
        await sleep(500);
        const kill = await dk(['kill', 'c2']);
        assert.equal(kill.code, 0, kill.stderr);
        assert.deepEqual(await follow, { code: 0, stdout: 'to c2\n', stderr: '' });
        const until = (Date.now() / 1000 + 0.3).toFixed(3);
        await sleep(400);
        const ev = await dk([
          'events',
          '--since',
          since,
          '--until',
          until,
          '--format',
          '{{.Action}} {{.Actor.Attributes.name}}',
        ]);
        assert.equal(ev.code, 0, ev.stderr);
        assert.deepEqual(ev.stdout.trim().split('\n'), [
          'attach c2',
          'die c2',
          'start c2',
          'kill c2',
          'die c2',
        ]);
        // c3 ran `echo done` once: its logs say so, as dockerd's would.
        assert.deepEqual(await dk(['logs', 'c3']), { code: 0, stdout: 'done\n', stderr: '' });
        const ps = await dk(['ps', '-a', '--filter', 'status=exited', '--format', '{{.Names}}']);
        assert.deepEqual(ps.stdout.trim().split('\n').sort(), ['c2', 'c3']);
        const img = await dk([
          'image',
          'inspect',
          'hijack/demo:latest',
          '--format',
          '{{.RepoTags}}',
        ]);
        assert.deepEqual(img, { code: 0, stdout: '[hijack/demo:latest]\n', stderr: '' });
        // docker inspect walks the object kinds as against dockerd: a container of that
        // name first (404), then the image; a name of nothing ends in "No such object".
        const any = await dk(['inspect', 'hijack/demo:latest', '--format', '{{.RepoTags}}']);
        assert.deepEqual(any, { code: 0, stdout: '[hijack/demo:latest]\n', stderr: '' });
        const none = await dk(['inspect', 'nosuch']);
        assert.deepEqual(none, {
          code: 1,
          stdout: '[]\n',
          stderr: 'Error: No such object: nosuch\n',
        });
        // Not implemented: refused by the gateway before the engine's 501.
        const rm = await dk(['pull', 'alpine']);
        assert.match(rm.stderr, /hijack gateway: .*not allowed/);
        // docker run --rm through the gateway: create, attach, wait, start, remove allowed.
        const runRm = await dk(['run', '--rm', 'hijack/demo', 'sh', '-c', 'echo in a run; exit 6']);
        assert.deepEqual(runRm, { code: 6, stdout: 'in a run\n', stderr: '' });
        // Ctrl-C in docker attach: the CLI's sig-proxy sends kill?signal=INT, which the
        // policy allows; c2 (cat) dies of it (130) and the CLI is released.
        assert.equal((await dk(['start', 'c2'])).code, 0);
        const attach = spawn(bin, ['-H', gateway, 'attach', 'c2'], {
          stdio: ['pipe', 'pipe', 'pipe'],
          env: { ...process.env, DOCKER_CONFIG: config },
        });
        const attachExit = new Promise<number | null>((r) =>
          attach.once('exit', (code) => r(code)),
        );
        await sleep(700);
        attach.kill('SIGINT');
        const released = await Promise.race([attachExit, sleep(10_000).then(() => 'stuck')]);
        attach.kill('SIGKILL');
        assert.notEqual(released, 'stuck', 'docker attach stays attached after Ctrl-C');
        const st = await dk(['inspect', 'c2', '--format', '{{.State.Status}} {{.State.ExitCode}}']);
        assert.equal(st.stdout, 'exited 130\n');
        // The same gateway on the printed unix socket (where the CLI's detach keys work).
        const viaUnix = await dk(['ps', '--format', '{{.Names}}'], undefined, unix);
        assert.deepEqual(viaUnix, { code: 0, stdout: 'c1\n', stderr: '' });

        // SIGTERM with an exec open: the demo says what the stream will see, and it does.
        const held = dk(['exec', 'c1', 'sleep', '30']);
        let open = 0;
        for (let i = 0; i < 100 && open === 0; i++) {
          const snap = (await (await fetch(live + 'connections.json')).json()) as LiveSnapshot;
          open = snap.connections.filter((c) => c.state === 'hijacked').length;
          if (open === 0) await sleep(50);
        }
        assert.equal(open, 1);
        run.child.kill('SIGTERM');
        const r = await held;
        // Not silent: the demo told the exec's user why it ends, before the 255.
        assert.equal(r.code, 255);
        assert.match(
          r.stderr,
          /^hijack demo: stopping \(Ctrl-C or SIGTERM\); this stream ends now\. docker exec then exits 255/,
        );
        assert.equal(await run.exit, 0);
        assert.match(
          run.err(),
          /hijack demo: SIGTERM, shutting down: 1 open stream gets the line "hijack demo: stopping …" on its stderr, then is half-closed and cut after 1 s: docker exec then exits 255/,
        );
      } finally {
        run.child.kill('SIGKILL');
        await run.exit;
      }
    },
  );
}

test(
  'hijack demo runs the sandbox body rules and scope owner: two tokens in the banner, refusals name the field, bob sees none of alice’s containers',
  { timeout: 60_000 },
  async (t) => {
    if (!requirePeer(t, DOCKER, 'the Docker CLI 28')) return;
    const none = mkdtempSync(join(tmpdir(), 'docker-config-'));
    const { run, gateway, users } = await startDemoCli();
    const as = (config: string, args: string[]) =>
      runPeer(DOCKER, ['-H', gateway, ...args], {
        env: { ...process.env, DOCKER_CONFIG: config, DOCKER_CLI_HINTS: 'false' },
      });
    const alice = (args: string[]) => as(users.alice.config, args);
    const bob = (args: string[]) => as(users.bob.config, args);
    const names = (out: string) => out.split('\n').filter(Boolean).sort();
    try {
      // The banner's DOCKER_CONFIG directories send the banner's tokens.
      assert.notEqual(users.alice.token, users.bob.token);
      for (const u of [users.alice, users.bob]) {
        const cfg = JSON.parse(readFileSync(join(u.config, 'config.json'), 'utf8'));
        assert.deepEqual(cfg, { HttpHeaders: { Authorization: `Bearer ${u.token}` } });
      }
      assert.match(
        run.out(),
        new RegExp(`DOCKER_CONFIG=${users.bob.config} docker -H ${gateway} ps -a`),
      );
      // Without a token: refused by the gateway.
      const anon = await as(none, ['ps']);
      assert.notEqual(anon.code, 0);
      assert.match(anon.stderr, /hijack gateway: a bearer token is required/);

      // The sandbox body rules, their refusals naming the field and the preset.
      const priv = await alice(['run', '--privileged', 'hijack/demo', 'true']);
      assert.equal(priv.code, 125);
      assert.match(
        priv.stderr,
        /hijack gateway: HostConfig\.Privileged is not allowed \(rule: containers\.privileged from preset sandbox\)/,
      );
      const bind = await alice(['run', '-v', '/:/host', 'hijack/demo', 'true']);
      assert.equal(bind.code, 125);
      assert.match(
        bind.stderr,
        /hijack gateway: HostConfig\.Binds\[0\] binds host path "\/", outside the allowed roots .*\(rule: containers\.binds from preset sandbox\)/,
      );

      // alice owns the built-in containers and what she runs.
      const since = (Date.now() / 1000).toFixed(3);
      const mine = await alice(['run', '--name', 'a1', 'hijack/demo', 'echo', 'mine']);
      assert.deepEqual(mine, { code: 0, stdout: 'mine\n', stderr: '' });
      const ps = await alice(['ps', '-a', '--format', '{{.Names}}']);
      assert.deepEqual(names(ps.stdout), ['a1', 'c1', 'c2', 'c3']);
      // Without -a: the running ones only, as dockerd (the gateway's label filter implies no -a).
      const running = await alice(['ps', '--format', '{{.Names}}']);
      assert.deepEqual(names(running.stdout), ['c1', 'c2']);
      assert.deepEqual(await alice(['logs', 'c3']), { code: 0, stdout: 'done\n', stderr: '' });
      assert.deepEqual(await alice(['exec', 'c1', 'echo', 'in c1']), {
        code: 0,
        stdout: 'in c1\n',
        stderr: '',
      });

      // bob sees none of them; his own container only.
      assert.deepEqual(await bob(['ps', '-a', '--format', '{{.Names}}']), {
        code: 0,
        stdout: '',
        stderr: '',
      });
      const his = await bob(['run', '--name', 'b1', 'hijack/demo', 'echo', 'his']);
      assert.deepEqual(his, { code: 0, stdout: 'his\n', stderr: '' });
      assert.deepEqual(names((await bob(['ps', '-a', '--format', '{{.Names}}'])).stdout), ['b1']);
      assert.deepEqual(names((await alice(['ps', '-a', '--format', '{{.Names}}'])).stdout), [
        'a1',
        'c1',
        'c2',
        'c3',
      ]);
      // alice's containers answer bob exactly as a missing name does (`rm -f` of a missing
      // name is no error for the CLI: c2 must survive it below).
      for (const [args, ref, code] of [
        [['exec', 'c1', 'true'], 'c1', 1],
        [['logs', 'c3'], 'c3', 1],
        [['inspect', '--type', 'container', 'a1'], 'a1', 1],
        [['rm', '-f', 'c2'], 'c2', 0],
      ] as const) {
        const theirs = await bob([...args]);
        const missing = await bob(args.map((a) => (a === ref ? 'nosuch' : a)));
        assert.equal(theirs.code, code, `${args.join(' ')}: ${theirs.stderr}`);
        assert.equal(missing.code, code, `${args.join(' ')} (nosuch): ${missing.stderr}`);
        assert.equal(theirs.stdout, missing.stdout.replaceAll('nosuch', ref));
        assert.equal(theirs.stderr, missing.stderr.replaceAll('nosuch', ref));
        if (code !== 0)
          assert.match(theirs.stderr, new RegExp(`No such (container|object): ${ref}`));
      }
      // c2 is still there for alice: bob's rm -f did not reach it.
      const c2 = await alice(['inspect', 'c2', '--format', '{{.Name}}']);
      assert.deepEqual(c2, { code: 0, stdout: '/c2\n', stderr: '' });
      // Events are scoped too: bob's show only b1, alice's never b1.
      const until = (Date.now() / 1000).toFixed(3);
      const fmt = ['--since', since, '--until', until, '--format', '{{.Actor.Attributes.name}}'];
      const bobEvents = await bob(['events', ...fmt]);
      assert.equal(bobEvents.code, 0, bobEvents.stderr);
      assert.deepEqual([...new Set(names(bobEvents.stdout))], ['b1']);
      const aliceEvents = await alice(['events', ...fmt]);
      assert.equal(aliceEvents.code, 0, aliceEvents.stderr);
      assert.ok(names(aliceEvents.stdout).includes('a1'), aliceEvents.stdout);
      assert.ok(!names(aliceEvents.stdout).includes('b1'), aliceEvents.stdout);
    } finally {
      run.child.kill('SIGKILL');
      await run.exit;
      rmSync(none, { recursive: true, force: true });
    }
  },
);
