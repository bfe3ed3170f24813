/**
 * Keepalive and user timeout against a peer that goes silent: two network namespaces joined
 * by a veth pair (10.213.0.0/30), a silent server in one, the client in the other; the test
 * takes the server's link down and watches the tuned connection end with ETIMEDOUT while an
 * untuned one on the same path stays open. Root only (skipped otherwise, failing under CI).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { test, type TestContext } from 'node:test';
import { inCI, isRoot, requirePeer } from '../helpers/peers.js';

const root = new URL('../../', import.meta.url).pathname;
const clientScript = new URL('./fixtures/netns-client.ts', import.meta.url).pathname;
const PORT = 7913;

const serverScript = `
const net = require('node:net');
const conns = [];
net.createServer((c) => { conns.push(c); c.on('error', () => {}); c.resume(); })
  .listen(${PORT}, '10.213.0.2', () => console.log('ready'));
setTimeout(() => process.exit(0), 30000).unref();
`;

function ip(...args: string[]): void {
  const r = spawnSync('ip', args, { encoding: 'utf8', timeout: 5000 });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr.trim()}`);
}

/** Lines of a child's stdout, one at a time. */
function lines(child: ChildProcess): () => Promise<string> {
  const queue: string[] = [];
  const waiting: ((l: string) => void)[] = [];
  const rl = createInterface({ input: child.stdout! });
  rl.on('line', (l) => (waiting.length ? waiting.shift()!(l) : queue.push(l)));
  rl.on('close', () => waiting.splice(0).forEach((w) => w('')));
  return () =>
    queue.length ? Promise.resolve(queue.shift()!) : new Promise((r) => waiting.push(r));
}

async function silentPeer(t: TestContext, mode: 'keepalive' | 'user-timeout') {
  if (!isRoot) {
    if (inCI) throw new Error('network namespace tests need root under CI');
    t.skip('needs root for ip netns');
    return null;
  }
  if (!requirePeer(t, 'ip', 'iproute2')) return null;
  const tag = `${process.pid % 100000}${mode === 'keepalive' ? 'k' : 'u'}`;
  const nsA = `hjA${tag}`;
  const nsB = `hjB${tag}`;
  const children: ChildProcess[] = [];
  try {
    ip('netns', 'add', nsA);
    ip('netns', 'add', nsB);
    ip(
      'link',
      'add',
      `va${tag}`,
      'netns',
      nsA,
      'type',
      'veth',
      'peer',
      'name',
      `vb${tag}`,
      'netns',
      nsB,
    );
    ip('-n', nsA, 'addr', 'add', '10.213.0.1/30', 'dev', `va${tag}`);
    ip('-n', nsB, 'addr', 'add', '10.213.0.2/30', 'dev', `vb${tag}`);
    ip('-n', nsA, 'link', 'set', `va${tag}`, 'up');
    ip('-n', nsB, 'link', 'set', `vb${tag}`, 'up');

    const server = spawn('ip', ['netns', 'exec', nsB, process.execPath, '-e', serverScript], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(server);
    assert.equal(await lines(server)(), 'ready');

    const client = spawn(
      'ip',
      [
        'netns',
        'exec',
        nsA,
        process.execPath,
        '--import',
        'tsx',
        clientScript,
        mode,
        '10.213.0.2',
        String(PORT),
      ],
      { cwd: root, stdio: ['pipe', 'pipe', 'inherit'] },
    );
    children.push(client);
    const next = lines(client);
    const connected = JSON.parse(await next()) as Record<string, unknown>;
    assert.equal(connected.event, 'connected');

    // The peer goes silent: its link is down, nothing it would answer gets through.
    ip('-n', nsB, 'link', 'set', `vb${tag}`, 'down');
    client.stdin!.write('armed\n');
    const closed = JSON.parse(await next()) as {
      event: string;
      error: string | null;
      sinceConnectMs: number;
      sinceArmedMs: number;
      otherOpen: boolean;
    };
    return { connected, closed };
  } finally {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    spawnSync('ip', ['netns', 'del', nsA], { timeout: 5000 });
    spawnSync('ip', ['netns', 'del', nsB], { timeout: 5000 });
  }
}

test(
  'keepalive ends a connection whose peer went silent, within idle + interval × count',
  { timeout: 25000 },
  async (t) => {
    const r = await silentPeer(t, 'keepalive');
    if (!r) return;
    assert.deepEqual(r.connected.keepAlive, {
      enabled: true,
      idle: 1000,
      interval: 1000,
      count: 2,
    });
    assert.equal((r.connected.other as { enabled: boolean }).enabled, false);
    t.diagnostic(`closed ${JSON.stringify(r.closed)}`);
    assert.equal(r.closed.event, 'closed');
    assert.equal(r.closed.error, 'ETIMEDOUT');
    // The kernel cannot give up before idle + count × interval of silence (3 s) …
    assert.ok(r.closed.sinceConnectMs >= 3000 - 50, `ended after ${r.closed.sinceConnectMs} ms`);
    // … and gives up within that after the link went down (generous slack for a busy machine).
    assert.ok(
      r.closed.sinceArmedMs <= 3000 + 5000,
      `ended ${r.closed.sinceArmedMs} ms after the link went down`,
    );
    // The same path without keepalive tuning is still open: the setting did it.
    assert.equal(r.closed.otherOpen, true);
  },
);

test(
  'user timeout ends a connection whose sent data stays unacknowledged',
  { timeout: 25000 },
  async (t) => {
    const r = await silentPeer(t, 'user-timeout');
    if (!r) return;
    assert.equal(r.connected.userTimeout, 1500);
    assert.equal(r.connected.other, 0);
    t.diagnostic(`closed ${JSON.stringify(r.closed)}`);
    assert.equal(r.closed.event, 'closed');
    assert.equal(r.closed.error, 'ETIMEDOUT');
    assert.ok(
      r.closed.sinceArmedMs >= 1500 - 50,
      `ended ${r.closed.sinceArmedMs} ms after the first write`,
    );
    assert.ok(
      r.closed.sinceArmedMs <= 1500 + 5000,
      `ended ${r.closed.sinceArmedMs} ms after the first write`,
    );
    assert.equal(r.closed.otherOpen, true);
  },
);
