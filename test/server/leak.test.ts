/**
 * Nothing leaks across 20,000 takeovers: each one a request with `Upgrade`, hijack() in
 * the 'request' handler of an enableHijack + trackConnections server, a 101, a small
 * echo, and a close, 16 at a time. Afterwards open file descriptors, server listeners,
 * server connections and tracked connections are back at their baseline, and the heap
 * after gc did not grow between the 5,000th and the 20,000th takeover.
 *
 * The loop runs in a child process started with --expose-gc (this same file, in worker
 * mode), so the numbers are not disturbed by the test runner and gc() is available.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { enableHijack, hijack, trackConnections } from '../../src/server/index.js';

const TOTAL = 20_000;
const CHECKPOINT = 5_000;
const CONCURRENCY = 16;
/** Heap growth allowed between the checkpoint and the end (≈ 200 bytes per takeover). */
const HEAP_TOLERANCE = 3 * 1024 * 1024;

interface LeakReport {
  iterations: number;
  errors: number;
  ms: number;
  fds: { base: number; end: number };
  listeners: { base: number; end: number };
  connections: { base: number; end: number };
  tracked: { base: number; end: number; hijackedSeen: number };
  heap: { checkpoint: number; end: number };
}

const REQUEST = 'GET /echo HTTP/1.1\r\nHost: leak\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n';
const SWITCH = 'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n';

const fdCount = () => readdirSync('/proc/self/fd').length;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function heapAfterGc(): Promise<number> {
  const gc = (globalThis as { gc?: () => void }).gc!;
  for (let i = 0; i < 4; i++) {
    gc();
    await sleep(10);
  }
  return process.memoryUsage().heapUsed;
}

/** One takeover: connect, request + 4 bytes in one write, read 101 and the echo, close. */
function once(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    const timer = setTimeout(() => s.destroy(new Error('takeover did not finish in 5 s')), 5000);
    let got = '';
    s.setEncoding('latin1');
    s.once('connect', () => s.write(REQUEST + 'ping'));
    s.on('data', (d: string) => {
      got += d;
      if (got === SWITCH + 'ping') s.end();
      else if (got.length > SWITCH.length + 4) s.destroy(new Error(`unexpected answer ${got}`));
    });
    s.once('error', reject);
    s.once('close', () => {
      clearTimeout(timer);
      if (got === SWITCH + 'ping') resolve();
      else reject(new Error(`incomplete answer: ${JSON.stringify(got)}`));
    });
  });
}

async function worker(): Promise<LeakReport> {
  const server = createServer();
  enableHijack(server);
  const tracker = trackConnections(server);
  let hijackedSeen = 0;
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    hijack(req, res).then(
      ({ socket, head }) => {
        hijackedSeen += tracker.of(socket)?.state === 'hijacked' ? 1 : 0;
        socket.write(SWITCH);
        if (head.length) socket.write(head);
        socket.on('data', (d: Buffer) => socket.write(d));
        socket.on('end', () => socket.end());
        socket.on('error', () => socket.destroy());
      },
      () => res.destroy(),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const conns = () => new Promise<number>((r) => server.getConnections((_e, n) => r(n)));
  const listeners = () => server.eventNames().reduce((n, e) => n + server.listenerCount(e), 0);

  // Warm up (lazy module state, JIT), then take the baseline.
  for (let i = 0; i < 200; i++) await once(port);
  await sleep(50);
  const base = {
    fds: fdCount(),
    listeners: listeners(),
    connections: await conns(),
    tracked: tracker.count(),
  };

  const start = Date.now();
  let started = 0;
  let done = 0;
  let errors = 0;
  const deadline = start + 50_000;
  // Run to the checkpoint, settle, measure; then run the rest.
  const runTo = async (n: number) => {
    const lanes = Array.from({ length: CONCURRENCY }, async () => {
      while (started < n && Date.now() < deadline) {
        started++;
        await once(port).catch(() => errors++);
        done++;
      }
    });
    await Promise.all(lanes);
  };
  await runTo(CHECKPOINT);
  await sleep(50);
  const checkpointHeap = await heapAfterGc();
  await runTo(TOTAL);
  const ms = Date.now() - start;

  // Give the last closes a moment to reach the server (bounded).
  for (
    let i = 0;
    i < 100 && ((await conns()) > base.connections || tracker.count() > base.tracked);
    i++
  ) {
    await sleep(20);
  }
  await sleep(50);
  const endHeap = await heapAfterGc();
  const report: LeakReport = {
    iterations: done,
    errors,
    ms,
    fds: { base: base.fds, end: fdCount() },
    listeners: { base: base.listeners, end: listeners() },
    connections: { base: base.connections, end: await conns() },
    tracked: { base: base.tracked, end: tracker.count(), hijackedSeen },
    heap: { checkpoint: checkpointHeap, end: endHeap },
  };
  await new Promise((r) => server.close(r));
  return report;
}

if (process.env.HIJACK_LEAK_WORKER === '1') {
  worker().then(
    (r) => {
      process.stdout.write(JSON.stringify(r) + '\n');
      process.exit(0);
    },
    (err: unknown) => {
      process.stderr.write(String((err as Error)?.stack ?? err) + '\n');
      process.exit(1);
    },
  );
} else {
  test(
    '20,000 hijacks leave no fd, listener, connection or heap behind',
    { timeout: 90_000 },
    async () => {
      const file = fileURLToPath(import.meta.url);
      const out = await new Promise<string>((resolve, reject) => {
        execFile(
          process.execPath,
          ['--expose-gc', '--import', 'tsx', file],
          { env: { ...process.env, HIJACK_LEAK_WORKER: '1' }, timeout: 80_000 },
          (err, stdout, stderr) =>
            err ? reject(new Error(`${String(err)}\n${stderr}`)) : resolve(stdout),
        );
      });
      const r = JSON.parse(out.trim().split('\n').pop()!) as LeakReport;
      console.log(`leak: ${JSON.stringify(r)}`);
      assert.equal(r.iterations, TOTAL, `all ${TOTAL} takeovers ran (in ${r.ms} ms)`);
      assert.equal(r.errors, 0);
      assert.equal(r.tracked.hijackedSeen, TOTAL + 200, 'every takeover was tracked as hijacked');
      assert.ok(r.fds.end <= r.fds.base, `open fds ${r.fds.base} → ${r.fds.end}`);
      assert.equal(r.listeners.end, r.listeners.base, 'server listeners back to baseline');
      assert.equal(r.connections.end, r.connections.base, 'server connections back to baseline');
      assert.equal(r.tracked.end, r.tracked.base, 'tracked connections back to baseline');
      const growth = r.heap.end - r.heap.checkpoint;
      assert.ok(
        growth < HEAP_TOLERANCE,
        `heap grew ${(growth / 1024).toFixed(0)} KiB between takeover ${CHECKPOINT} and ${TOTAL}`,
      );
    },
  );
}
