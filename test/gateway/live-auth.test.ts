/**
 * The token-protected live page in a real browser (headless Chromium, playwright-core):
 * without credentials a readable sign-in page (not JSON, not an empty table); a wrong
 * token is refused there; the right one is traded for an HttpOnly SameSite=Strict session
 * cookie and the page goes live with data; `/?token=…` does the same and leaves the token
 * out of the address; when the listener goes away the page says "disconnected", and when
 * it comes back without the session (a restart) it says "not authorised".
 * Screenshots go to test-artifacts/live-auth-*.png.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { createAuthenticator } from '../../src/gateway/identity/authenticator.js';
import { loadTokens } from '../../src/gateway/identity/tokens.js';
import { createObserveServer } from '../../src/gateway/observe/index.js';
import { CHROMIUM, launchChromium } from '../helpers/chromium.js';
import { requirePeer } from '../helpers/peers.js';
import { request, rig } from './observe-helpers.js';

const root = new URL('../..', import.meta.url).pathname;
const SECRET = 's3cret-token-0123456789';

test(
  'live page with a token in Chromium: sign-in page, session cookie, live data, token out of the URL, disconnected and not authorised states',
  { timeout: 60_000 },
  async (t) => {
    if (!requirePeer(t, CHROMIUM, 'the live page browser test')) return;
    const r = await rig(
      () => ({
        log: false,
        live: { listen: { kind: 'tcp', host: '127.0.0.1', port: 0 }, interval: 200 },
      }),
      { auth: { tokens: loadTokens(`ops:${SECRET}`, 'test') } },
    );
    const live = r.urls.live!;
    const art = join(root, 'test-artifacts');
    mkdirSync(art, { recursive: true });
    const browsers: Awaited<ReturnType<typeof launchChromium>>[] = [];
    const browser = async () => {
      const b = await launchChromium({ width: 1100, height: 520 });
      browsers.push(b);
      return b;
    };
    let restarted: ReturnType<typeof createObserveServer> | undefined;
    try {
      const auth = { authorization: `Bearer ${SECRET}` };
      assert.equal((await request({ port: r.port }, 'GET', '/_ping', undefined, auth)).status, 200);

      // No credentials: a readable page with a sign-in form, not JSON.
      const { ctx, page } = await browser();
      const first = await page.goto(live);
      assert.equal(first!.status(), 401);
      assert.match(first!.headers()['content-type'] ?? '', /^text\/html/);
      assert.match(
        (await page.textContent('#refusal')) ?? '',
        /401 Sign in: .*a bearer token is required/,
      );
      assert.equal(await page.$('#rows'), null, 'no table without credentials');
      assert.doesNotMatch((await page.content()) ?? '', /No live connections/);
      await page.screenshot({ path: join(art, 'live-auth-signin.png') });

      // A wrong token is refused on the same page.
      await page.fill('#token', 'not-the-token');
      await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
      assert.match((await page.textContent('#refusal')) ?? '', /not valid/);

      // The right one: a session cookie, the live page with data.
      await page.fill('#token', SECRET);
      await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
      await page.waitForSelector('#status.live', { timeout: 5000 });
      const cookies = await ctx.cookies(live);
      assert.equal(cookies.length, 1, JSON.stringify(cookies));
      assert.equal(cookies[0]!.name, 'hijack_live_session');
      assert.equal(cookies[0]!.httpOnly, true);
      assert.equal(cookies[0]!.sameSite, 'Strict');
      assert.ok(!cookies[0]!.value.includes(SECRET));
      assert.equal(await page.evaluate(() => (globalThis as any).document.cookie), '', 'HttpOnly');
      // A connection through the gateway shows up (the page's own requests are authorised).
      const idle = net.connect(r.port, '127.0.0.1');
      await new Promise((ok) => idle.once('connect', ok));
      idle.write(`GET /_ping HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer ${SECRET}\r\n\r\n`);
      await page.waitForSelector('tr[data-state="idle"]', { timeout: 5000 });
      assert.match((await page.textContent('#rows')) ?? '', /token ops/);
      await page.screenshot({ path: join(art, 'live-auth-live.png') });

      // /?token=… in a fresh browser: traded for the cookie, and gone from the address.
      const other = await browser();
      await other.page.goto(`${live}?token=${encodeURIComponent(SECRET)}`);
      await other.page.waitForSelector('#status.live', { timeout: 5000 });
      assert.equal(other.page.url(), live, 'the token left the address');
      assert.equal((await other.ctx.cookies(live)).length, 1);
      await other.page.waitForSelector('tr[data-state="idle"]', { timeout: 5000 });

      // The listener goes away: "disconnected", not an empty table.
      const port = Number(new URL(live).port);
      await r.obs.liveServer!.close();
      await page.waitForSelector('#empty[data-view="disconnected"]:not([hidden])', {
        timeout: 10_000,
      });
      assert.equal(await page.textContent('#status'), 'disconnected');
      assert.equal(await page.isVisible('#table'), false);
      await page.screenshot({ path: join(art, 'live-auth-disconnected.png') });

      // It comes back (a restart: the sessions are gone): "not authorised", with a way in.
      restarted = createObserveServer({
        endpoint: { kind: 'tcp', host: '127.0.0.1', port },
        live: r.obs.live!,
        auth: createAuthenticator(r.gw.options.auth),
      });
      await restarted.listen();
      await page.waitForSelector('#empty[data-view="unauthorised"]', { timeout: 10_000 });
      assert.equal(await page.textContent('#status'), 'not authorised');
      assert.match((await page.textContent('#empty')) ?? '', /Not authorised.*Sign in/);
      await page.screenshot({ path: join(art, 'live-auth-unauthorised.png') });
      idle.destroy();
    } finally {
      for (const b of browsers) await b.close();
      await restarted?.close();
      await r.close();
    }
  },
);
