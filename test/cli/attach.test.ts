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

const root = new URL('../..', import.meta.url).pathname;
const T = { timeout: 20_000 };
let dir: string;
let cli: string;
const children: ChildProcess[] = [];

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'hja-'));
  cli = join(dir, 'cli.mjs');
  writeFileSync(
    cli,
    `import { main } from ${JSON.stringify(join(root, 'src/cli/main.ts'))};\nprocess.exitCode = await main(process.argv.slice(2));\n`,
  );
});
after(() => {
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

test(
  'in a real terminal (tmux): raw mode echo, then ctrl-p ctrl-q detaches with exit 5',
  T,
  async (t) => {
    if (!requirePeer(t, 'tmux', 'runs the CLI in a real terminal')) return;
    const target = await goServer(t);
    if (!target) return;
    const status = join(dir, 'status');
    const tmux = (...args: string[]) =>
      spawnSync('tmux', ['-L', 'hijack-test', ...args], { encoding: 'utf8' });
    const cmd = `${process.execPath} --import tsx ${cli} attach ${target} /echo; echo "exit=$?" > ${status}; sleep 30`;
    const started = tmux(
      'new-session',
      '-d',
      '-s',
      'att',
      '-x',
      '120',
      '-y',
      '20',
      '-c',
      root,
      cmd,
    );
    assert.equal(started.status, 0, started.stderr);
    const pane = () => tmux('capture-pane', '-p', '-t', 'att').stdout;
    const waitFor = async (re: RegExp, what: string) => {
      for (let i = 0; i < 150; i++) {
        if (re.test(pane())) return;
        await sleep(50);
      }
      assert.fail(`${what} never appeared; pane:\n${pane()}`);
    };
    // Raw mode: keys go out as typed (no line buffering, no local echo); the server echoes.
    // Type only once the CLI has put the terminal in raw mode: keys sent earlier are
    // line-buffered and echoed by the tty itself, and ctrl-q is eaten as XON.
    const tty = tmux('display-message', '-p', '-t', 'att', '#{pane_tty}').stdout.trim();
    assert.match(tty, /^\/dev\//, 'tmux names the pane tty');
    let raw = false;
    for (let i = 0; i < 300 && !raw; i++) {
      const st = spawnSync('stty', ['-F', tty, '-a'], { encoding: 'utf8' });
      raw = / -icanon/.test(st.stdout) && / -echo /.test(st.stdout);
      if (!raw) await sleep(50);
    }
    assert.ok(raw, `the CLI never set raw mode on ${tty}; pane:\n${pane()}`);
    tmux('send-keys', '-t', 'att', '-l', 'typed-in-raw');
    await waitFor(/typed-in-raw/, 'the echoed keys');
    // ctrl-p ctrl-q detaches.
    tmux('send-keys', '-t', 'att', 'C-p', 'C-q');
    for (let i = 0; i < 150; i++) {
      const r = spawnSync('cat', [status], { encoding: 'utf8' });
      if (r.status === 0 && r.stdout.includes('exit=')) {
        assert.equal(r.stdout.trim(), 'exit=5');
        assert.match(pane(), /detached/);
        tmux('kill-session', '-t', 'att');
        return;
      }
      await sleep(50);
    }
    assert.fail(`no exit status; pane:\n${pane()}`);
  },
);
