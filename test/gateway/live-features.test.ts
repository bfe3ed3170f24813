/**
 * What an operator keeps the live page open for, in headless Chromium at 420 px wide, on
 * real traffic through a gateway in front of the demo engine: denials listed with their
 * reason and rule; search, state filter and sort kept in the URL (a reload keeps them);
 * the "recently ended" list with the end reason and bytes; the per-identity summary.
 * Screenshots: test-artifacts/live-narrow.png, test-artifacts/live-features.png.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { CHROMIUM, launchChromium } from '../helpers/chromium.js';
import { requirePeer } from '../helpers/peers.js';
import { execCat, readAll, request, rig } from './observe-helpers.js';

const root = new URL('../..', import.meta.url).pathname;

/** A keep-alive client that made one request and now idles. */
async function idleClient(port: number): Promise<net.Socket> {
  const s = net.connect(port, '127.0.0.1');
  await new Promise((r) => s.once('connect', r));
  const answered = new Promise((r) => s.once('data', r));
  s.write('GET /_ping HTTP/1.1\r\nHost: gw\r\n\r\n');
  await answered;
  return s;
}

test(
  'live page features in Chromium at 420 px: denials, search/filter/sort in the URL, recently ended, per identity',
  { timeout: 60_000 },
  async (t) => {
    if (!requirePeer(t, CHROMIUM, 'the live page browser test')) return;
    const r = await rig(() => ({
      log: false,
      live: { listen: { kind: 'tcp', host: '127.0.0.1', port: 0 }, interval: 200 },
    }));
    const live = r.urls.live!;
    const art = join(root, 'test-artifacts');
    mkdirSync(art, { recursive: true });
    const b = await launchChromium({ width: 420, height: 900 });
    const sockets: net.Socket[] = [];
    try {
      const page = b.page;
      await page.goto(live);
      await page.waitForSelector('#status.live', { timeout: 5000 });

      // Denials: listed with reason, rule and status, and their connections highlighted.
      assert.equal((await request({ port: r.port }, 'DELETE', '/containers/c1')).status, 405);
      assert.equal((await request({ port: r.port }, 'GET', '/images/json')).status, 403);
      await page.waitForSelector('#denial-rows tr[data-reason="no-rule"]', { timeout: 5000 });
      const denial = (await page.textContent('#denial-rows tr[data-reason="no-rule"]')) ?? '';
      assert.match(denial, /GET \/images\/json/);
      assert.match(denial, /no rule matched/);
      assert.match(denial, /403/);
      assert.match(
        (await page.textContent('#denial-rows tr[data-reason="method-not-allowed"]')) ?? '',
        /DELETE \/containers\/c1.*405/,
      );

      // Traffic: two idle keep-alive clients and one exec stream.
      sockets.push(await idleClient(r.port), await idleClient(r.port));
      const conn = await execCat(r);
      conn.socket.write('hello\n');
      await page.waitForSelector('#rows tr[data-state="hijacked"]', { timeout: 5000 });
      await page.waitForFunction(
        () =>
          (globalThis as any).document.querySelectorAll('#rows tr[data-state="idle"]').length >= 2,
        undefined,
        { timeout: 5000 },
      );

      // 420 px: the page fits; the secondary columns step aside.
      const width = await page.evaluate(
        () => (globalThis as any).document.documentElement.scrollWidth,
      );
      assert.ok(width <= 420, `no horizontal scroll at 420 px (${width})`);
      assert.equal(await page.isVisible('th[data-sort="cwnd"]'), false);
      const bytesBox = await page.locator('th[data-sort="bytes"]').boundingBox();
      assert.ok(
        bytesBox && bytesBox.x + bytesBox.width <= 420,
        `bytes in view: ${JSON.stringify(bytesBox)}`,
      );
      await page.screenshot({ path: join(art, 'live-narrow.png'), fullPage: true });

      // Search: kept in the URL, and by a reload.
      await page.fill('#search', 'exec');
      await page.waitForFunction(
        () => {
          const rows = (globalThis as any).document.querySelectorAll('#rows tr');
          return rows.length === 1 && rows[0].getAttribute('data-state') === 'hijacked';
        },
        undefined,
        { timeout: 5000 },
      );
      assert.equal(new URL(page.url()).searchParams.get('q'), 'exec');
      await page.reload();
      await page.waitForSelector('#status.live', { timeout: 5000 });
      assert.equal(await page.inputValue('#search'), 'exec');
      assert.deepEqual(
        await page.$$eval('#rows tr', (trs) => trs.map((x) => x.getAttribute('data-state'))),
        ['hijacked'],
      );
      await page.fill('#search', '');

      // State filter and sort: in the URL, kept by a reload.
      await page.click('nav button[data-state="idle"]');
      await page.click('th[data-sort="id"]'); // id ascending → descending
      const url = new URL(page.url());
      assert.equal(url.searchParams.get('state'), 'idle');
      assert.equal(url.searchParams.get('sort'), 'id');
      assert.equal(url.searchParams.get('dir'), 'desc');
      const ids = async () =>
        page.$$eval('#rows tr', (trs) => trs.map((x) => Number(x.getAttribute('data-id'))));
      const before = await ids();
      assert.ok(before.length >= 2, JSON.stringify(before));
      assert.deepEqual(
        before,
        [...before].sort((x, y) => y - x),
        'descending ids',
      );
      await page.reload();
      await page.waitForSelector('#status.live', { timeout: 5000 });
      assert.equal(await page.getAttribute('th[data-sort="id"]', 'aria-sort'), 'descending');
      assert.deepEqual(await ids(), before);
      assert.equal(
        await page.getAttribute('nav button[data-state="idle"]', 'aria-pressed'),
        'true',
      );
      await page.click('nav button[data-state="all"]');

      // The stream ends: in "recently ended" with its end reason and bytes.
      conn.socket.end('bye\n');
      await readAll(conn.socket);
      await page.waitForSelector('#ended-rows tr[data-end="half-close"]', { timeout: 5000 });
      const endedRow = (await page.textContent('#ended-rows tr[data-end="half-close"]')) ?? '';
      assert.match(endedRow, /POST \/exec\/[^ ]+\/start/);
      assert.match(endedRow, /upgrade tcp/);
      assert.match(endedRow, /\d+ B \/ \d+ B/);

      // Per identity: connections, streams and the two denials of 127.0.0.1.
      const idRow = (await page.textContent('#identity-rows tr[data-who="127.0.0.1"]')) ?? '';
      assert.match(idRow, /127\.0\.0\.1\s*\d+\s*\d+\s*[\d.]+ (B|KiB) \/ [\d.]+ (B|KiB)\s*2$/);

      await page.setViewportSize({ width: 1360, height: 900 });
      await page.screenshot({ path: join(art, 'live-features.png'), fullPage: true });
    } finally {
      for (const s of sockets) s.destroy();
      await b.close();
      await r.close();
    }
  },
);
