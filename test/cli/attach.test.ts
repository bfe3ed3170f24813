// `hijack attach` as a child process (piped stdin) and in a real terminal under tmux.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { DetachScanner, parseDetachKeys } from '../../src/cli/attach.js';
import { main } from '../../src/cli/main.js';
import { buildGoPeer } from '../helpers/go.js';
import { requirePeer } from '../helpers/peers.js';
import { createEngine, type Engine } from '../../src/demo/engine/index.js';
import { inspectPathFor } from '../../src/cli/attach-tty.js';

const root = new URL('../..', import.meta.url).pathname;
const T = { timeout: 20_000 };
let dir: string;
let cli: string;
const children: ChildProcess[] = [];
let engine: Engine | null = null;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'hja-'));
  cli = join(dir, 'cli.mjs');
  writeFileSync(
    cli,
    `import { main } from ${JSON.stringify(join(root, 'src/cli/main.ts'))};\nprocess.exitCode = await main(process.argv.slice(2));\n`,
  );
});
after(async () => {
  await engine?.close();
  for (const c of children) c.kill('SIGKILL');
  spawnSync('tmux', ['-L', 'hijack-test', 'kill-server']);
  rmSync(dir, { recursive: true, force: true });
});

/** Runs the CLI with `input` on stdin; resolves with exit code and output. */
function run(
  args: string[],
  input?: string | Buffer,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', cli, ...args], {
    cwd: root,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c: Buffer) => (stdout += c));
  child.stderr!.on('data', (c: Buffer) => (stderr += c));
  if (input !== undefined) child.stdin!.end(input);
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
}

let goTarget: string | null = null;
async function goServer(t: TestContext): Promise<string | null> {
  if (goTarget) return goTarget;
  if (!requirePeer(t, 'go', 'builds the Go hijack-server peer')) return null;
  const path = join(dir, 'go.sock');
  const child = spawn(buildGoPeer('hijack-server'), ['-listen', `unix://${path}`], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  children.push(child);
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (c: Buffer) => /listening/.test(c.toString()) && resolve());
    child.once('exit', () => reject(new Error('hijack-server exited')));
  });
  goTarget = `unix://${path}`;
  return goTarget;
}

test(
  'piped stdin goes to the stream, EOF half-closes, the rest still arrives, exit 0',
  T,
  async (t) => {
    const target = await goServer(t);
    if (!target) return;
    const r = await run(['attach', target, '/echo'], 'line one\nline two\n');
    assert.equal(r.stdout, 'line one\nline two\nbye\n');
    assert.equal(r.code, 0, r.stderr);
  },
);

test('legacy mode with --upgrade none, headers and data', T, async (t) => {
  const target = await goServer(t);
  if (!target) return;
  const r = await run(
    ['attach', '--upgrade', 'none', '-H', 'X-Test: 1', '-d', '{"a":1}', target, '/echo'],
    'x',
  );
  assert.equal(r.stdout, 'xbye\n');
  assert.equal(r.code, 0, r.stderr);
});

test('a multiplexed stream is split into stdout and stderr', T, async () => {
  const frame = (k: number, s: string) => {
    const h = Buffer.alloc(8);
    h[0] = k;
    h.writeUInt32BE(Buffer.byteLength(s), 4);
    return Buffer.concat([h, Buffer.from(s)]);
  };
  const srv = net.createServer((s) => {
    s.once('data', () => {
      s.write(
        'HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.multiplexed-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n',
      );
      s.end(Buffer.concat([frame(1, 'to stdout\n'), frame(2, 'to stderr\n')]));
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  try {
    const { port } = srv.address() as net.AddressInfo;
    const r = await run(['attach', `tcp://127.0.0.1:${port}`, '/x'], '');
    assert.equal(r.stdout, 'to stdout\n');
    assert.equal(r.stderr, 'to stderr\n');
    assert.equal(r.code, 0);
    const raw = await run(['attach', '--demux', 'never', `tcp://127.0.0.1:${port}`, '/x'], '');
    assert.equal(raw.stdout.length, 16 + 20);
  } finally {
    srv.close();
  }
});

test('exit codes: usage 2, connect 3, refused 4', T, async (t) => {
  const usage = await run(['attach', 'ftp://x', '/']);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /invalid target/);
  assert.equal((await run(['attach', '--detach-keys', 'ctrl-1', 'unix:///x', '/'])).code, 2);
  assert.equal((await run(['attach', '-H', 'nocolon', 'unix:///x', '/'])).code, 2);
  assert.equal((await run(['attach'])).code, 2);
  const missing = await run(['attach', `unix://${join(dir, 'none.sock')}`, '/']);
  assert.equal(missing.code, 3);
  assert.match(missing.stderr, /none\.sock.*daemon running/);
  const target = await goServer(t);
  if (!target) return;
  const refused = await run(['attach', target, '/refuse'], '');
  assert.equal(refused.code, 4);
  assert.match(refused.stderr, /500.*No such exec instance: abc/);
});

test('--help is complete and exits 0 (in process)', T, async () => {
  let out = '';
  const sink = { write: (s: string) => ((out += s), true) } as unknown as NodeJS.WritableStream;
  const code = await main(['attach', '--help'], { stdout: sink as never, stderr: sink as never });
  assert.equal(code, 0);
  for (const flag of [
    '--method',
    '--header',
    '--data',
    '--upgrade',
    '--detach-keys',
    '--demux',
    'Exit status',
  ]) {
    assert.ok(out.includes(flag), flag);
  }
});

test('detach key scanner: sequence found, partial matches passed on', () => {
  const keys = parseDetachKeys('ctrl-p,ctrl-q');
  assert.deepEqual([...keys], [16, 17]);
  const s = new DetachScanner(keys);
  assert.deepEqual(s.feed(Buffer.from('ab\x10')), { forward: Buffer.from('ab'), detach: false });
  assert.deepEqual(s.feed(Buffer.from('c')), { forward: Buffer.from('\x10c'), detach: false });
  assert.deepEqual(s.feed(Buffer.from('\x10\x10')), {
    forward: Buffer.from('\x10'),
    detach: false,
  });
  assert.deepEqual(s.feed(Buffer.from('\x11zz')), { forward: Buffer.from(''), detach: true });
  assert.deepEqual([...parseDetachKeys('ctrl-@,ctrl-[,x')], [0, 27, 120]);
});

/** A demo engine (in this process) with c2 `cat` (no TTY) and tt `cat` on a TTY. */
async function demoEngine(): Promise<string> {
  if (!engine) {
    engine = createEngine({
      socketPath: join(dir, 'engine.sock'),
      containers: [
        { name: 'c2', cmd: ['cat'] },
        { name: 'tt', cmd: ['cat'], tty: true },
      ],
    });
    await engine.listen();
  }
  return engine.dockerHost;
}

const tmux = (...args: string[]) =>
  spawnSync('tmux', ['-L', 'hijack-test', ...args], { encoding: 'utf8' });

/** Runs `cmd` in a new tmux session; helpers to read the pane, its tty modes, the status file. */
function inTmux(session: string, cmd: string) {
  const status = join(dir, `${session}.status`);
  const started = tmux(
    'new-session',
    '-d',
    '-s',
    session,
    '-x',
    '120',
    '-y',
    '20',
    '-c',
    root,
    `${cmd}; echo "exit=$?" > ${status}; sleep 30`,
  );
  assert.equal(started.status, 0, started.stderr);
  const pane = () => tmux('capture-pane', '-p', '-t', session).stdout;
  const tty = tmux('display-message', '-p', '-t', session, '#{pane_tty}').stdout.trim();
  assert.match(tty, /^\/dev\//, 'tmux names the pane tty');
  const stty = () => spawnSync('stty', ['-F', tty, '-a'], { encoding: 'utf8' }).stdout;
  return {
    pane,
    stty,
    keys: (...k: string[]) => tmux('send-keys', '-t', session, ...k),
    async waitFor(re: RegExp, what: string) {
      for (let i = 0; i < 150; i++) {
        if (re.test(pane())) return;
        await sleep(50);
      }
      assert.fail(`${what} never appeared; pane:\n${pane()}`);
    },
    /** Waits until `ok(stty -a)` holds (the CLI has set its terminal mode). */
    async waitMode(ok: (s: string) => boolean, what: string) {
      for (let i = 0; i < 300; i++) {
        if (ok(stty())) return;
        await sleep(50);
      }
      assert.fail(`${what} never set on ${tty}; pane:\n${pane()}`);
    },
    async exit(): Promise<string> {
      for (let i = 0; i < 150; i++) {
        const r = spawnSync('cat', [status], { encoding: 'utf8' });
        if (r.status === 0 && r.stdout.includes('exit=')) return r.stdout.trim();
        await sleep(50);
      }
      assert.fail(`no exit status; pane:\n${pane()}`);
    },
    kill: () => tmux('kill-session', '-t', session),
  };
}

const ATTACH_Q = 'attach?stream=1&stdin=1&stdout=1&stderr=1';
const isRaw = (st: string) => / -icanon/.test(st) && / -echo /.test(st);

test(
  'in a real terminal (tmux), a TTY stream: raw mode (asked of the daemon), echo from the far end, ctrl-p ctrl-q detaches with exit 5',
  T,
  async (t) => {
    if (!requirePeer(t, 'tmux', 'runs the CLI in a real terminal')) return;
    const target = await demoEngine();
    const s = inTmux(
      'att',
      `${process.execPath} --import tsx ${cli} attach ${target} '/v1.43/containers/tt/${ATTACH_Q}'`,
    );
    // Type only once the CLI has put the terminal in raw mode: keys sent earlier are
    // line-buffered and echoed by the tty itself, and ctrl-q is eaten as XON.
    await s.waitMode(isRaw, 'raw mode');
    s.keys('-l', 'typed-in-raw');
    // No Enter: in raw mode the keys went out as typed and came back from cat.
    await s.waitFor(/typed-in-raw/, 'the echoed keys');
    s.keys('C-p', 'C-q');
    assert.equal(await s.exit(), 'exit=5');
    assert.match(s.pane(), /detached/);
    s.kill();
  },
);

test(
  'in a real terminal (tmux), a non-TTY stream: cooked mode, local echo, Enter sends the line, ^D is EOF (exit 0)',
  T,
  async (t) => {
    if (!requirePeer(t, 'tmux', 'runs the CLI in a real terminal')) return;
    const target = await demoEngine();
    const s = inTmux(
      'cooked',
      `${process.execPath} --import tsx ${cli} attach ${target} '/v1.43/containers/c2/${ATTACH_Q}'`,
    );
    // The stream is open once c2 has an attached client (the CLI decided the mode before).
    const attached = () => engine!.container('c2')!.stdout.targets.size > 0;
    for (let i = 0; i < 200 && !attached(); i++) await sleep(25);
    assert.ok(attached(), `no stream; pane:\n${s.pane()}`);
    const st = s.stty();
    assert.ok(!isRaw(st) && / icanon/.test(st) && / echo /.test(st), st);
    s.keys('-l', 'a line');
    s.keys('Enter');
    // Once echoed by the terminal, once by cat: cat saw a newline.
    await s.waitFor(/a line\n(.*\n)*a line/, 'the line twice');
    s.keys('C-d');
    assert.equal(await s.exit(), 'exit=0');
    s.kill();
  },
);

test('inspect paths for --tty auto', () => {
  assert.deepEqual(inspectPathFor('/v1.41/containers/web/attach?stream=1'), {
    path: '/v1.41/containers/web/json',
    kind: 'container',
  });
  assert.deepEqual(inspectPathFor('/exec/abc/start'), { path: '/exec/abc/json', kind: 'exec' });
  assert.equal(inspectPathFor('/echo'), null);
});

test('--connect-timeout takes durations like the gateway; --tty is checked', T, async () => {
  const missing = `unix://${join(dir, 'none.sock')}`;
  const ok = await run(['attach', '--connect-timeout', '5s', missing, '/'], '');
  assert.equal(ok.code, 3, ok.stderr);
  const bare = await run(['attach', '--connect-timeout', '5000', missing, '/'], '');
  assert.equal(bare.code, 2);
  assert.match(bare.stderr, /--connect-timeout '5000' is not a duration \(use e\.g\. 30s/);
  const tty = await run(['attach', '--tty', 'maybe', missing, '/'], '');
  assert.equal(tty.code, 2);
  assert.match(tty.stderr, /--tty is auto, always or never/);
});

test('a server that goes away mid-stream: a clear line, exit 1', T, async () => {
  const srv = net.createServer((s) => {
    s.once('data', () => {
      s.write('HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\npartial');
      setTimeout(() => s.resetAndDestroy(), 100);
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  try {
    const { port } = srv.address() as net.AddressInfo;
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', cli, 'attach', `tcp://127.0.0.1:${port}`, '/x'],
      {
        cwd: root,
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    children.push(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c));
    child.stderr.on('data', (c: Buffer) => (stderr += c));
    const code = await new Promise((r) => child.once('close', r));
    assert.equal(stdout, 'partial');
    assert.equal(code, 1);
    assert.match(
      stderr,
      /^hijack attach: the server went away: it reset the connection \(ECONNRESET\)/,
    );
  } finally {
    srv.close();
  }
});

test('the SIGTERM notice says what open streams will see', async () => {
  const { streamsNotice } = await import('../../src/cli/shutdown-notice.js');
  assert.equal(streamsNotice(0, 5000), 'no stream is open');
  assert.match(
    streamsNotice(2, 5000),
    /^2 open streams are half-closed now and cut after 5 s: .*docker exec then exits 255/,
  );
});
