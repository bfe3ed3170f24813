/**
 * hijack() inside Express, Fastify and Koa routes, behind their middleware, on a server
 * with enableHijack(): the route takes the connection over and gets every byte.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { Socket } from 'node:net';
import express from 'express';
import Fastify from 'fastify';
import Koa from 'koa';
import { enableHijack, hijack, trackConnections } from '../../src/index.js';
import { listen, readAll, sleep } from './util.js';

const upgrade = (token: string) =>
  `GET /attach HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n`;

/** The taker's side: write the 101, echo `head` and all later bytes upper-cased. */
function serve(socket: Socket, head: Buffer): void {
  socket.write('HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n');
  socket.write(head.toString().toUpperCase());
  socket.on('data', (d: Buffer) => socket.write(d.toString().toUpperCase()));
  socket.on('end', () => socket.end());
}

async function check(server: http.Server, log: string[]): Promise<void> {
  const tracker = trackConnections(server);
  const l = await listen(server);
  try {
    const ok = l.connect();
    const out = readAll(ok);
    ok.write(upgrade('good') + 'early');
    await sleep(30);
    ok.end('-late');
    assert.equal(
      (await out).toString(),
      'HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\nEARLY-LATE',
    );
    const denied = l.connect();
    const out2 = readAll(denied);
    denied.write(upgrade('bad') + 'ignored');
    const text = (await out2).toString();
    assert.match(text, /^HTTP\/1\.1 401 /, text);
    assert.ok(!text.includes('IGNORED'));
    assert.deepEqual(log, ['auth good', 'route', 'auth bad']);
    assert.equal(tracker.count('hijacked') + tracker.count('closed'), tracker.size);
  } finally {
    await l.close();
  }
}

test(
  'Express: a route behind auth middleware takes the connection over',
  { timeout: 15_000 },
  async () => {
    const log: string[] = [];
    const app = express();
    app.use((req, res, next) => {
      const token = req.headers.authorization?.split(' ')[1];
      log.push(`auth ${token}`);
      if (token !== 'good') return void res.status(401).send('unauthorized');
      next();
    });
    app.get('/attach', (req, res) => {
      log.push('route');
      void hijack(req, res).then(({ socket, head }) => serve(socket, head));
    });
    await check(enableHijack(http.createServer(app)), log);
  },
);

test(
  'Fastify: a route with an onRequest hook takes the connection over (reply.hijack())',
  { timeout: 15_000 },
  async () => {
    const log: string[] = [];
    const app = Fastify();
    app.addHook('onRequest', async (request, reply) => {
      const token = request.headers.authorization?.split(' ')[1];
      log.push(`auth ${token}`);
      if (token !== 'good') return reply.code(401).send('unauthorized');
    });
    app.get('/attach', async (request, reply) => {
      log.push('route');
      reply.hijack();
      const { socket, head } = await hijack(request.raw, reply.raw);
      serve(socket, head);
    });
    enableHijack(app.server);
    await app.ready();
    await check(app.server, log);
  },
);

test(
  'Koa: middleware then a route with ctx.respond = false takes the connection over',
  { timeout: 15_000 },
  async () => {
    const log: string[] = [];
    const app = new Koa();
    app.use(async (ctx, next) => {
      const token = ctx.get('authorization').split(' ')[1];
      log.push(`auth ${token}`);
      if (token !== 'good') {
        ctx.status = 401;
        ctx.body = 'unauthorized';
        return;
      }
      await next();
    });
    app.use(async (ctx) => {
      if (ctx.path !== '/attach') return;
      log.push('route');
      ctx.respond = false;
      const { socket, head } = await hijack(ctx.req, ctx.res);
      serve(socket, head);
    });
    await check(enableHijack(http.createServer(app.callback())), log);
  },
);
