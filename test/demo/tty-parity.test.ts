/**
 * TTY sessions against the demo and a real dockerd, under tmux with Docker CLI 28 and 20.10:
 * the same keys typed into `docker exec -it … sh` (a line, a command interrupted by ^C,
 * `echo $?`, `stty size`, `cat` ended by ^D, ^D at the prompt) leave the same screen and exit
 * status; ctrl-p ctrl-q over the unix socket `hijack demo` prints detaches as against dockerd
 * ("read escape sequence", the same status). Over tcp:// the CLI hangs after the detach
 * keys, against dockerd too (docs/gateway.md).
 */
import { test, before, after, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startDemo, type Demo } from '../../src/demo/demo.js';
import { needDockerd, startDockerd, type Dockerd } from '../helpers/dockerd.js';
import { requirePeer } from '../helpers/peers.js';

const T = { timeout: 60_000 };
const SOCKET = 'hijack-detach-test';
let dir: string;
let demo: Demo;
let d: Dockerd | null = null;
let realId = '';

/** alice's Docker CLI config (her bearer token; dockerd ignores the header). */
const config = () => demo.users[0]!.dockerConfig;

const tmux = (...a: string[]) => spawnSync('tmux', ['-L', SOCKET, ...a], { encoding: 'utf8' });

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hj-detach-'));
  demo = await startDemo({ logLevel: 'silent' });
  d = await startDockerd();
  if (d) realId = await d.run(['sleep', '600']);
});
after(async () => {
  tmux('kill-server');
  await demo.close();
  await d?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/**
 * Runs `bin -H host exec -it container sh` in a tmux session, waits for the prompt, types
 * ctrl-p ctrl-q; resolves with the pane and the CLI's exit status.
 */
async function detach(
  session: string,
  bin: string,
  host: string,
  container: string,
): Promise<{ pane: string; status: string }> {
  const statusFile = join(dir, `${session}.status`);
  const cmd =
    `DOCKER_CONFIG=${config()} ${bin} -H ${host} exec -it ${container} sh; ` +
    `echo "exit=$?" > ${statusFile}; sleep 30`;
  const started = tmux('new-session', '-d', '-s', session, '-x', '100', '-y', '30', cmd);
  assert.equal(started.status, 0, started.stderr);
  const pane = () => tmux('capture-pane', '-p', '-J', '-t', session).stdout;
  try {
    for (let i = 0; i < 200 && !/\/ # $/m.test(pane()); i++) await sleep(50);
    assert.match(pane(), /\/ # $/m, 'the prompt');
    tmux('send-keys', '-t', session, 'C-p', 'C-q');
    for (let i = 0; i < 200; i++) {
      let status = '';
      try {
        status = readFileSync(statusFile, 'utf8').trim();
      } catch {
        // not written yet
      }
      if (status) return { pane: pane(), status };
      await sleep(50);
    }
    assert.fail(`the CLI did not detach; pane:\n${pane()}`);
  } finally {
    tmux('kill-session', '-t', session);
  }
}

/**
 * Types the same session into `bin -H host exec -it container sh` and returns the screen
 * (busybox's two-line banner removed) once the CLI exited, with its exit status.
 */
async function session(name: string, bin: string, host: string, container: string) {
  const statusFile = join(dir, `${name}.status`);
  const cmd =
    `DOCKER_CONFIG=${config()} ${bin} -H ${host} exec -it ${container} sh; ` +
    `echo "exit=$?" > ${statusFile}; sleep 30`;
  const started = tmux('new-session', '-d', '-s', name, '-x', '80', '-y', '24', cmd);
  assert.equal(started.status, 0, started.stderr);
  const pane = () => tmux('capture-pane', '-p', '-J', '-t', name).stdout;
  const waitFor = async (re: RegExp, what: string) => {
    for (let i = 0; i < 200 && !re.test(pane()); i++) await sleep(50);
    assert.match(pane(), re, what);
  };
  const type = (text: string, ...keys: string[]) => {
    if (text) tmux('send-keys', '-t', name, '-l', text);
    if (keys.length) tmux('send-keys', '-t', name, ...keys);
  };
  try {
    await waitFor(/\/ # $/m, 'the prompt');
    type('echo hi there', 'Enter');
    await waitFor(/^hi there\n\/ # $/m, 'echo');
    type('sleep 20', 'Enter');
    await waitFor(/sleep 20\n$/m, 'sleep started');
    await sleep(300);
    type('', 'C-c');
    await waitFor(/^\^C\n\/ # $/m, '^C');
    type('echo $?', 'Enter');
    await waitFor(/^130\n\/ # $/m, 'status 130');
    type('stty size', 'Enter');
    await waitFor(/^24 80\n\/ # $/m, 'stty size');
    type('cat', 'Enter');
    await waitFor(/^\/ # cat\n$/m, 'cat started');
    type('a line', 'Enter');
    await waitFor(/^a line\na line\n$/m, 'cat echoes');
    type('', 'C-d');
    await waitFor(/^a line\na line\n\/ # $/m, 'cat ended by ^D');
    type('', 'C-d');
    for (let i = 0; i < 200; i++) {
      let status = '';
      try {
        status = readFileSync(statusFile, 'utf8').trim();
      } catch {
        // not written yet
      }
      if (status) {
        const screen = pane()
          .replace(/^\s*BusyBox v.*\nEnter 'help'.*\n\n?/, '')
          .trimEnd();
        return { screen, status };
      }
      await sleep(50);
    }
    assert.fail(`the CLI did not exit; pane:\n${pane()}`);
  } finally {
    tmux('kill-session', '-t', name);
  }
}

for (const [name, bin] of [
  ['Docker CLI 28', '/usr/local/bin/docker'],
  ['Docker CLI 20.10', '/usr/bin/docker'],
] as const) {
  test(
    `${name} under tmux: ctrl-p ctrl-q detaches exec -it over the demo's unix socket, as against dockerd`,
    T,
    async (t: TestContext) => {
      if (!requirePeer(t, 'tmux', 'a real terminal') || !requirePeer(t, bin, name)) return;
      if (!needDockerd(t, d)) return;
      const tag = name.includes('28') ? '28' : '20';
      const mine = await detach(`demo${tag}`, bin, demo.gatewayUnixUrl, 'c1');
      const real = await detach(`real${tag}`, bin, d.target, realId);
      assert.match(real.pane, /read escape sequence/);
      assert.match(mine.pane, /read escape sequence/);
      assert.equal(mine.status, real.status);
    },
  );

  test(
    `${name} under tmux: typing, ^C, $?, stty size, cat and ^D in exec -it sh leave the screen dockerd's does`,
    T,
    async (t: TestContext) => {
      if (!requirePeer(t, 'tmux', 'a real terminal') || !requirePeer(t, bin, name)) return;
      if (!needDockerd(t, d)) return;
      const tag = name.includes('28') ? '28' : '20';
      const mine = await session(`sdemo${tag}`, bin, demo.gatewayUnixUrl, 'c1');
      const real = await session(`sreal${tag}`, bin, d.target, realId);
      assert.equal(mine.screen, real.screen);
      assert.equal(mine.status, real.status);
      assert.equal(real.status, 'exit=0');
    },
  );
}
