/**
 * The live page's bytes of a real `docker exec -i … cat` (Docker CLI 28) through a gateway
 * in front of a real dockerd, in headless Chromium, on each splice engine: while 3 MB go
 * through the open stream, the hijacked row's bytes in and out rise on the page before the
 * stream ends (they froze at the heads on the native relay before). Screenshot:
 * test-artifacts/live-dockerd-<engine>.png.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { observeGateway } from '../../src/gateway/observe/index.js';
import { parseRule } from '../../src/gateway/policy/rule.js';
import { createGateway } from '../../src/gateway/server.js';
import { CHROMIUM, launchChromium } from '../helpers/chromium.js';
import { needDockerd, startDockerd, type Dockerd } from '../helpers/dockerd.js';
import { requirePeer } from '../helpers/peers.js';
import { until } from './observe-helpers.js';

const root = new URL('../..', import.meta.url).pathname;
const DOCKER = '/usr/local/bin/docker';
const MB = 1024 * 1024;
const RULES = [
  'GET,HEAD /_ping',
  'GET /containers/{id}/json',
  'POST /containers/{id}/exec',
  'POST /exec/{id}/start',
  'GET /exec/{id}/json',
  'POST /exec/{id}/resize',
];

let d: Dockerd | null = null;
before(async () => {
  d = await startDockerd();
});
after(() => d?.stop());

for (const engine of ['native', 'stream'] as const) {
  test(
    `live page on a real docker exec -i through dockerd (${engine} engine): the stream's bytes rise while it runs`,
    { timeout: 90_000 },
    async (t) => {
      if (!needDockerd(t, d)) return;
      if (!requirePeer(t, CHROMIUM, 'the live page browser test') || !requirePeer(t, DOCKER))
        return;
      const dockerd = d;
      const container = await dockerd.run(['sleep', '600']);
      const gw = createGateway({
        listen: [{ kind: 'tcp', host: '127.0.0.1', port: 0 }],
        upstream: dockerd.target,
        policy: { rules: RULES.map((r) => parseRule(r, 'allow', 'test')) },
        nativeRelay: engine === 'native',
      });
      const obs = observeGateway(gw, {
        log: false,
        live: { listen: { kind: 'tcp', host: '127.0.0.1', port: 0 }, interval: 250 },
      });
      const [addr] = await gw.listen();
      const { live } = await obs.listen();
      const config = mkdtempSync(join(tmpdir(), 'docker-cfg-'));
      const b = await launchChromium({ width: 1360, height: 600 });
      const docker = spawn(DOCKER, ['-H', addr!.url, 'exec', '-i', container, 'cat'], {
        stdio: ['pipe', 'pipe', 'pipe'],
        env: { ...process.env, DOCKER_CONFIG: config },
      });
      try {
        let out = 0;
        docker.stdout!.on('data', (c: Buffer) => (out += c.length));
        const exited = new Promise<number | null>((r) => docker.once('exit', (code) => r(code)));
        await b.page.goto(live!);
        await b.page.waitForSelector('#status.live', { timeout: 5000 });
        docker.stdin!.write('ping\n');
        await until(() => out >= 5, 'the first echo');
        const row = '#rows tr[data-state="hijacked"] td[data-k="bytes"]';
        await b.page.waitForSelector(row, { timeout: 5000 });
        // The exact counts are in the cell's title: "… N B in, M B out".
        const counts = async () => {
          const title = (await b.page.getAttribute(row, 'title')) ?? '';
          const m = /(\d+) B in, (\d+) B out/.exec(title);
          return m ? { in: Number(m[1]), out: Number(m[2]) } : { in: 0, out: 0 };
        };
        // The stream is named after its container and command (asked of dockerd once).
        const name = String((await dockerd.api('GET', `/containers/${container}/json`)).body.Name);
        await b.page.waitForFunction(
          (n: string) =>
            ((globalThis as any).document.querySelector('#rows tr[data-state="hijacked"] .target')
              ?.textContent ?? '') === `▸ ${n.replace(/^\//, '')} · cat`,
          name,
          { timeout: 5000 },
        );
        // …and shown right under its control connection (the one that created the exec).
        await b.page.waitForSelector('#rows tr[data-state="hijacked"][data-control]', {
          timeout: 5000,
        });
        const control = (await b.page.getAttribute(
          '#rows tr[data-state="hijacked"]',
          'data-control',
        ))!;
        const streamId = (await b.page.getAttribute('#rows tr[data-state="hijacked"]', 'data-id'))!;
        assert.match(
          (await b.page.textContent(`#rows tr[data-id="${control}"] td.route`)) ?? '',
          /POST \/containers\/[0-9a-f]{64}\/exec/,
        );
        const order = await b.page.$$eval('#rows tr', (trs) =>
          trs.map((x) => x.getAttribute('data-id')),
        );
        assert.equal(order[order.indexOf(control) + 1], streamId, JSON.stringify(order));
        assert.match(
          (await b.page.textContent('#rows tr[data-state="hijacked"] .control')) ?? '',
          new RegExp(`from #${control}$`),
        );
        const start = await counts();
        // 3 MB in 1 MB steps; after each, the page shows it before anything ends.
        for (let step = 1; step <= 3; step++) {
          docker.stdin!.write(Buffer.alloc(MB, 0x61));
          await until(() => out >= 5 + step * MB, `${step} MB echoed`);
          const now = await until(async () => {
            const c = await counts();
            return c.in - start.in >= step * MB && c.out - start.out >= step * MB ? c : undefined;
          }, `the page shows ${step} MB each way`);
          assert.equal(docker.exitCode, null, 'the stream is still open');
          t.diagnostic(`step ${step}: page in ${now.in} B, out ${now.out} B`);
        }
        mkdirSync(join(root, 'test-artifacts'), { recursive: true });
        await b.page.screenshot({
          path: join(root, 'test-artifacts', `live-dockerd-${engine}.png`),
        });
        docker.stdin!.end();
        assert.equal(await exited, 0);
        assert.equal(out, 5 + 3 * MB);
      } finally {
        docker.kill();
        await b.close();
        await gw.close({ timeout: 1000, grace: 200 });
        await obs.close();
        rmSync(config, { recursive: true, force: true });
      }
    },
  );
}
