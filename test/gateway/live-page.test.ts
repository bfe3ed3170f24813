/**
 * The live connections page in a real browser (headless Chromium through playwright-core)
 * while traffic runs through a real gateway in front of the demo engine: a connection
 * appears, goes idle → hijacked, shows kernel facts, and disappears when it ends; a long
 * `docker exec -i` (Docker CLI 28) shows up too. Saves test-artifacts/live-page.png.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createEngine } from '../../src/demo/engine/index.js';
import { observeGateway, type LiveSnapshot } from '../../src/gateway/observe/index.js';
import { parseRule } from '../../src/gateway/policy/rule.js';
import { createGateway } from '../../src/gateway/server.js';
import { CHROMIUM, launchChromium } from '../helpers/chromium.js';
import { requirePeer } from '../helpers/peers.js';

const root = new URL('../..', import.meta.url).pathname;
const DOCKER = '/usr/local/bin/docker';

function post(
  port: number,
  path: string,
  body: unknown,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const data = JSON.stringify(body);
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path,
        agent: false,
        timeout: 5000,
        headers: { 'Content-Type': 'application/json', 'Content-Length': data.length },
      },
      (res) => {
        let b = '';
        res.on('data', (c: Buffer) => (b += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: b }));
      },
    );
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end(data);
  });
}

/** Reads from `s` until `pred(text so far)`; bounded by `ms`. */
function readUntil(s: net.Socket, pred: (t: string) => boolean, ms = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const done = (err?: Error) => {
      clearTimeout(timer);
      s.off('data', onData);
      s.off('end', onEnd);
      if (err) reject(err);
      else resolve(text);
    };
    const onData = (c: Buffer) => {
      text += c.toString('latin1');
      if (pred(text)) done();
    };
    const onEnd = () => (pred(text) ? done() : done(new Error(`ended before match: ${text}`)));
    const timer = setTimeout(() => done(new Error(`no match within ${ms} ms: ${text}`)), ms);
    s.on('data', onData);
    s.on('end', onEnd);
  });
}

test(
  'live page in Chromium: connection appears, idle → hijacked, kernel facts, gone at the end; docker exec shown',
  {
    timeout: 30_000,
  },
  async (t) => {
    if (!requirePeer(t, CHROMIUM, 'the live page browser test') || !requirePeer(t, DOCKER)) return;
    const dir = mkdtempSync(join(tmpdir(), 'live-page-'));
    const engine = createEngine({ socketPath: join(dir, 'engine.sock') });
    const gw = createGateway({
      listen: [{ kind: 'tcp', host: '127.0.0.1', port: 0 }],
      upstream: await engine.listen(),
      policy: {
        rules: [
          'GET,HEAD /_ping',
          'GET /containers/{id}/json',
          'POST /containers/{id}/exec',
          'POST /exec/{id}/start',
          'GET /exec/{id}/json',
          'POST /exec/{id}/resize',
          'POST /containers/{id}/wait',
        ].map((r) => parseRule(r, 'allow', 'test')),
      },
    });
    const obs = observeGateway(gw, {
      log: false,
      live: { listen: { kind: 'tcp', host: '127.0.0.1', port: 0 }, interval: 250 },
    });
    const [addr] = await gw.listen();
    const { live } = await obs.listen();
    const port = addr!.port!;
    const browser = await launchChromium({ width: 1360, height: 520 });
    const sockets: net.Socket[] = [];
    let docker: ReturnType<typeof spawn> | undefined;
    try {
      const page = browser.page;
      await page.goto(live!);
      await page.waitForSelector('#status.live', { timeout: 5000 });

      // A raw keep-alive client: one ordinary request, then idle.
      const a = net.connect(port, '127.0.0.1');
      sockets.push(a);
      await new Promise((r) => a.once('connect', r));
      a.write('GET /_ping HTTP/1.1\r\nHost: gw\r\n\r\n');
      await readUntil(a, (s) => s.includes('\r\n\r\nOK'));
      const snap = (await (await fetch(live + 'connections.json')).json()) as LiveSnapshot;
      const mine = snap.connections.find((c) => c.remote === `127.0.0.1:${a.localPort}`);
      assert.ok(mine, 'the raw client is listed in connections.json');
      const row = `tr[data-id="${mine.id}"]`;
      await page.waitForSelector(`${row}[data-state="idle"]`, { timeout: 5000 });

      // A request held open (wait on a running container): an active connection.
      const w = net.connect(port, '127.0.0.1');
      sockets.push(w);
      await new Promise((r) => w.once('connect', r));
      w.write('POST /containers/c1/wait HTTP/1.1\r\nHost: gw\r\nContent-Length: 0\r\n\r\n');
      await page.waitForSelector('tr[data-state="active"] .pending', { timeout: 5000 });
      assert.match(
        (await page.textContent('tr[data-state="active"] td.route')) ?? '',
        /POST \/containers\/c1\/wait.*in flight/,
      );

      // The same raw connection takes over: exec `cat` through it → hijacked.
      const created = await post(port, '/containers/c1/exec', {
        Cmd: ['cat'],
        AttachStdin: true,
        AttachStdout: true,
      });
      assert.equal(created.status, 201);
      const execId = (JSON.parse(created.body) as { Id: string }).Id;
      const body = '{"Detach":false,"Tty":false}';
      a.write(
        `POST /exec/${execId}/start HTTP/1.1\r\nHost: gw\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
      );
      await readUntil(a, (s) => s.includes('101'));
      await page.waitForSelector(`${row}[data-state="hijacked"]`, { timeout: 5000 });

      // A long docker exec with stdin held open.
      docker = spawn(DOCKER, ['-H', addr!.url, 'exec', '-i', 'c1', 'cat'], {
        stdio: ['pipe', 'pipe', 'pipe'],
        env: { ...process.env, DOCKER_CONFIG: dir },
      });
      let dockerOut = '';
      docker.stdout!.on('data', (c: Buffer) => (dockerOut += c.toString()));
      const dockerExit = new Promise<number | null>((r) => docker!.once('exit', (code) => r(code)));
      docker.stdin!.write('ping\n');
      for (let i = 0; i < 50 && !dockerOut.includes('ping'); i++) await sleep(100);
      assert.match(dockerOut, /ping/);
      await page.waitForFunction(
        () =>
          (globalThis as any).document.querySelectorAll('tr[data-state="hijacked"]').length >= 2,
        undefined,
        { timeout: 5000 },
      );

      // Traffic for the trend, then the kernel facts of the raw client's row.
      for (let i = 0; i < 12; i++) {
        a.write(Buffer.alloc(16 * 1024, 0x61));
        docker.stdin!.write(`line ${i}\n`);
        await sleep(150);
      }
      // No named functions in page code: tsx would wrap them in a helper the page lacks.
      const cells = await page.$$eval(`${row} td[data-k]`, (tds: any[]) =>
        tds.map((td) => [String(td.getAttribute('data-k')), String(td.textContent)]),
      );
      const f = Object.fromEntries(cells) as Record<string, string>;
      const facts = {
        rtt: f.rtt ?? '',
        minRtt: f.minRtt ?? '',
        cwnd: f.cwnd ?? '',
        retrans: f.retrans ?? '',
        delivery: f.deliveryRate ?? '',
      };
      assert.match(facts.rtt, /^[\d.]+ m?s$/, JSON.stringify(facts));
      assert.ok(parseFloat(facts.rtt) > 0, `rtt ${facts.rtt}`);
      assert.match(facts.cwnd, /^\d+ seg$/);
      assert.ok(parseInt(facts.cwnd) > 0, `cwnd ${facts.cwnd}`);
      assert.match(facts.minRtt, /^[\d.]+ m?s$/);
      assert.match(facts.retrans, /^\d+ seg$/);
      assert.ok(await page.$(`${row} svg.spark polyline`), 'a sparkline is drawn');

      // Filters: hijacked only, then back to all.
      await page.click('nav button[data-state="hijacked"]');
      const states = await page.$$eval('#rows tr', (trs) =>
        trs.map((x) => x.getAttribute('data-state')),
      );
      assert.ok(states.length >= 2 && states.every((s) => s === 'hijacked'), states.join());
      await page.click('nav button[data-state="all"]');
      await page.waitForSelector('tr[data-state="active"]', { timeout: 5000 });
      mkdirSync(join(root, 'test-artifacts'), { recursive: true });
      await page.screenshot({
        path: join(root, 'test-artifacts', 'live-page.png'),
        fullPage: true,
      });

      // The docker exec ends: output and exit status right, its row goes.
      docker.stdin!.end();
      assert.equal(await dockerExit, 0);
      assert.match(dockerOut, /ping\nline 0\n[\s\S]*line 11\n$/);
      // The raw client half-closes: cat ends, the connection closes and leaves the page.
      a.end();
      await readUntil(a, () => false, 5000).catch(() => undefined);
      a.destroy();
      await page.waitForSelector(row, { state: 'detached', timeout: 5000 });
      await page.waitForFunction(
        () =>
          (globalThis as any).document.querySelectorAll('tr[data-state="hijacked"]').length === 0,
        undefined,
        { timeout: 5000 },
      );
    } finally {
      docker?.kill();
      for (const s of sockets) s.destroy();
      await browser.close();
      await gw.close({ timeout: 1000, grace: 200 });
      await obs.close();
      await engine.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
