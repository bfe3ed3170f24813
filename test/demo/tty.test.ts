/**
 * The demo engine's TTY: the line discipline (echo, erase, CR→NL, NL→CRNL, ^C, ^D), the
 * built-in shell (`sh -c`, the prompt), `stty size` from resize calls; under tmux with the
 * real Docker CLI 28 and 20.10 (`docker exec -it c1 sh`).
 */
import { test, before, after, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { createEngine, type Engine } from '../../src/demo/engine/index.js';
import { INTERRUPTED, LineDiscipline, onlcr } from '../../src/demo/engine/tty.js';
import { expandStatus, parseLine } from '../../src/demo/engine/shell.js';
import { requirePeer } from '../helpers/peers.js';
import { runPeer } from '../helpers/run.js';

const T = { timeout: 60_000 };
let dir: string;
let engine: Engine;
let host: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hj-tty-'));
  engine = createEngine({ socketPath: join(dir, 'e.sock') });
  host = await engine.listen();
});
after(async () => {
  spawnSync('tmux', ['-L', 'hijack-tty-test', 'kill-server']);
  await engine.close();
  rmSync(dir, { recursive: true, force: true });
});

function discipline() {
  const out = new PassThrough();
  let echoed = '';
  out.on('data', (c: Buffer) => (echoed += c.toString('latin1')));
  const ld = new LineDiscipline(out, () => ({ rows: 24, cols: 80 }));
  return { ld, echoed: () => echoed };
}

async function read(s: PassThrough): Promise<string> {
  let text = '';
  for await (const c of s) text += String(c);
  return text;
}

test('line discipline: CR→NL, echo, erase (UTF-8 too), ^U, ^D ends input, ^C interrupts', async () => {
  const { ld, echoed } = discipline();
  const job = ld.openJob();
  const got = read(job);
  ld.feed(Buffer.from('helo\x7f\x7fllo wörld\x7f\x7f\x7f\x7forld\r'));
  ld.feed(Buffer.from('junk\x15ok\x04'));
  ld.feed(Buffer.from('\x04'));
  // The line is held until Enter; erase removed characters; ^D sent "ok" without NL, then EOF.
  assert.equal(await got, 'hello world\nok');
  assert.equal(
    echoed(),
    'helo\b \b\b \bllo wörld\b \b\b \b\b \b\b \borld\r\njunk\b \b\b \b\b \b\b \bok'.replace(
      'ö',
      'Ã¶',
    ),
  );
  let interrupts = 0;
  const release = ld.onInterrupt(() => interrupts++);
  ld.feed(Buffer.from('half\x03'));
  assert.equal(interrupts, 1);
  release();
  assert.match(echoed(), /half\^C\r\n$/);
  // A reader at the prompt gets INTERRUPTED for ^C and the typed line after it.
  const r1 = ld.readLine();
  ld.feed(Buffer.from('\x03'));
  assert.equal(await r1, INTERRUPTED);
  const r2 = ld.readLine();
  ld.feed(Buffer.from('echo hi\r'));
  assert.equal(await r2, 'echo hi');
  ld.hangup();
  assert.equal(await ld.readLine(), null);
  assert.deepEqual(onlcr(Buffer.from('a\nb\n')), Buffer.from('a\r\nb\r\n'));
});

test('shell words: quotes, escapes, $?, ; && || and what it refuses', () => {
  const steps = parseLine(`echo 'a  b' "c $?" d\\ e; fail 3 && echo no || echo $?`);
  assert.deepEqual(
    steps.map((s) => ({ op: s.op, argv: expandStatus(s.argv, 7) })),
    [
      { op: ';', argv: ['echo', 'a  b', 'c 7', 'd e'] },
      { op: ';', argv: ['fail', '3'] },
      { op: '&&', argv: ['echo', 'no'] },
      { op: '||', argv: ['echo', '7'] },
    ],
  );
  assert.deepEqual(parseLine('  # only a comment'), []);
  assert.throws(() => parseLine('echo "open'), /unterminated/);
  assert.throws(() => parseLine('cat | wc'), /no pipes/);
});

function docker(bin: string, args: string[]) {
  return runPeer(bin, ['-H', host, ...args], { env: { ...process.env, DOCKER_CONFIG: dir } });
}

for (const [name, bin] of [
  ['Docker CLI 28', '/usr/local/bin/docker'],
  ['Docker CLI 20.10', '/usr/bin/docker'],
] as const) {
  test(`${name}: sh -c runs a list of built-in commands with statuses`, T, async (t) => {
    if (!requirePeer(t, bin, name)) return;
    const r = await docker(bin, [
      'exec',
      'c1',
      'sh',
      '-c',
      'echo a; fail 3 x || echo "failed $?"; nope',
    ]);
    assert.equal(r.stdout, 'a\nfail: about to exit with status 3\nfailed 3\n');
    assert.equal(r.stderr, 'fail: x\nsh: nope: not found\n');
    assert.equal(r.code, 127);
    const st = await docker(bin, ['exec', 'c1', 'stty', 'size']);
    assert.equal(st.code, 1);
    assert.match(st.stderr, /Inappropriate ioctl/);
  });

  test(
    `${name} under tmux: exec -it c1 sh: typing, erase, ^C, ^D, resize and stty size, exit`,
    T,
    async (t) => {
      if (!requirePeer(t, 'tmux', 'a real terminal') || !requirePeer(t, bin, name)) return;
      const session = name.includes('28') ? 'sh28' : 'sh20';
      const status = join(dir, `${session}.status`);
      const tmux = (...a: string[]) =>
        spawnSync('tmux', ['-L', 'hijack-tty-test', ...a], { encoding: 'utf8' });
      const cmd = `DOCKER_CONFIG=${dir} ${bin} -H ${host} exec -it c1 sh; echo "exit=$?" > ${status}; sleep 30`;
      assert.equal(
        tmux('new-session', '-d', '-s', session, '-x', '100', '-y', '30', cmd).status,
        0,
      );
      const pane = () => tmux('capture-pane', '-p', '-J', '-S', '-100', '-t', session).stdout;
      const waitFor = async (re: RegExp, what: string) => {
        for (let i = 0; i < 200; i++) {
          if (re.test(pane())) return;
          await sleep(50);
        }
        assert.fail(`${what} never appeared; pane:\n${pane()}`);
      };
      const keys = (...k: string[]) => tmux('send-keys', '-t', session, ...k);
      const type = (s: string) => keys('-l', s);
      await waitFor(/^\/ # $/m, 'the prompt');
      // Typing and erase: the shell sees the edited line; each line ends with CR NL (no staircase).
      type('echo hello wor');
      keys('BSpace', 'BSpace', 'BSpace');
      type('world');
      keys('Enter');
      await waitFor(
        /^\/ # echo hello world\nhello world\n\/ # $/m,
        'the edited line and its output',
      );
      // The size the CLI sent with its resize call, then a new one after the window changes.
      type('stty size');
      keys('Enter');
      await waitFor(/^30 100$/m, 'stty size 30 100');
      tmux('resize-window', '-t', session, '-x', '90', '-y', '20');
      for (let i = 0; i < 100; i++) {
        type('stty size');
        keys('Enter');
        await sleep(100);
        if (/^20 90$/m.test(pane())) break;
      }
      await waitFor(/^20 90$/m, 'stty size 20 90 after the resize');
      // cat reads lines; ^C interrupts it (status 130), the shell stays.
      type('cat');
      keys('Enter');
      await waitFor(/^\/ # cat$/m, 'cat started');
      type('a line');
      keys('Enter');
      await waitFor(/^a line\na line$/m, 'the line echoed by the terminal and by cat');
      keys('C-c');
      await waitFor(/^\^C\n\/ # $/m, '^C and a new prompt');
      type('echo $?');
      keys('Enter');
      await waitFor(/^130$/m, 'status 130');
      // ^D ends cat's input; at the prompt it ends the shell with the last status.
      type('cat');
      keys('Enter');
      type('to eof');
      keys('Enter');
      await waitFor(/^to eof\nto eof$/m, 'the second cat');
      keys('C-d');
      await waitFor(/^to eof\nto eof\n\/ # $/m, 'the prompt after ^D');
      type('fail 4 x');
      keys('Enter');
      await waitFor(/^fail: x$/m, 'fail output');
      keys('C-d');
      for (let i = 0; i < 100; i++) {
        try {
          const s = readFileSync(status, 'utf8');
          if (s.includes('exit=')) {
            assert.equal(s.trim(), 'exit=4');
            tmux('kill-session', '-t', session);
            return;
          }
        } catch {
          // not yet written
        }
        await sleep(50);
      }
      assert.fail(`no exit status; pane:\n${pane()}`);
    },
  );
}

test('an exec with a TTY running cat directly: ^C ends it with 130', T, async (t: TestContext) => {
  if (!requirePeer(t, 'tmux', 'a real terminal')) return;
  const status = join(dir, 'cat.status');
  const tmux = (...a: string[]) =>
    spawnSync('tmux', ['-L', 'hijack-tty-test', ...a], { encoding: 'utf8' });
  const cmd = `DOCKER_CONFIG=${dir} /usr/local/bin/docker -H ${host} exec -it c1 cat; echo "exit=$?" > ${status}; sleep 30`;
  assert.equal(tmux('new-session', '-d', '-s', 'cat', '-x', '80', '-y', '10', cmd).status, 0);
  for (let i = 0; i < 100 && engine.openStreams === 0; i++) await sleep(50);
  await sleep(300);
  tmux('send-keys', '-t', 'cat', 'C-c');
  for (let i = 0; i < 100; i++) {
    try {
      const s = readFileSync(status, 'utf8');
      if (s.includes('exit=')) {
        assert.equal(s.trim(), 'exit=130');
        return;
      }
    } catch {
      // not yet written
    }
    await sleep(50);
  }
  assert.fail('cat was not interrupted');
});

test(
  'docker run -it --rm hijack/demo sh under tmux: the main process gets the terminal too',
  T,
  async (t) => {
    if (
      !requirePeer(t, 'tmux', 'a real terminal') ||
      !requirePeer(t, '/usr/local/bin/docker', 'CLI')
    )
      return;
    const status = join(dir, 'run.status');
    const tmux = (...a: string[]) =>
      spawnSync('tmux', ['-L', 'hijack-tty-test', ...a], { encoding: 'utf8' });
    const cmd = `DOCKER_CONFIG=${dir} /usr/local/bin/docker -H ${host} run -it --rm hijack/demo sh; echo "exit=$?" > ${status}; sleep 30`;
    assert.equal(tmux('new-session', '-d', '-s', 'run', '-x', '70', '-y', '12', cmd).status, 0);
    const pane = () => tmux('capture-pane', '-p', '-J', '-S', '-50', '-t', 'run').stdout;
    const waitFor = async (re: RegExp, what: string) => {
      for (let i = 0; i < 200; i++) {
        if (re.test(pane())) return;
        await sleep(50);
      }
      assert.fail(`${what} never appeared; pane:\n${pane()}`);
    };
    await waitFor(/^\/ # $/m, 'the prompt');
    tmux('send-keys', '-t', 'run', '-l', 'stty size');
    tmux('send-keys', '-t', 'run', 'Enter');
    await waitFor(/^\/ # stty size\n12 70\n\/ # $/m, 'the size of the window');
    tmux('send-keys', '-t', 'run', '-l', 'exit 5');
    tmux('send-keys', '-t', 'run', 'Enter');
    for (let i = 0; i < 100; i++) {
      try {
        const s = readFileSync(status, 'utf8');
        if (s.includes('exit=')) {
          assert.equal(s.trim(), 'exit=5');
          tmux('kill-session', '-t', 'run');
          return;
        }
      } catch {
        // not yet written
      }
      await sleep(50);
    }
    assert.fail(`no exit status; pane:\n${pane()}`);
  },
);
