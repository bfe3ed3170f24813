/**
 * Container endpoints of the demo engine: list, inspect, start, kill/stop, wait, resize.
 * (Attach is a stream: attach.ts.)
 *
 * @module
 */
import type { ServerResponse } from 'node:http';
import type { EngineContext } from './context.js';
import type { Container } from './containers.js';
import { ApiError, flag, readJson, sendJson } from './http.js';
import type { Call } from './route-table.js';

/** `GET /containers/json` (`docker ps`). */
export function list(ctx: EngineContext, { res, query }: Call): void {
  const all = flag(query, 'all');
  sendJson(
    res,
    200,
    ctx.containers.filter((c) => all || c.running).map((c) => c.summary()),
    ctx.headers,
  );
}

/** `GET /containers/{id}/json` (`docker inspect`). */
export function inspect(ctx: EngineContext, { res, params }: Call): void {
  sendJson(res, 200, ctx.mustContainer(params.id!).inspect(), ctx.headers);
}

/** `POST /containers/{id}/start`: 204, or 304 when it already runs. */
export async function start(ctx: EngineContext, { req, res, params }: Call): Promise<void> {
  const c = ctx.mustContainer(params.id!);
  await readJson(req);
  if (c.running) {
    res.writeHead(304, ctx.headers);
    res.end();
    return;
  }
  c.start(ctx.nextPid());
  res.writeHead(204, ctx.headers);
  res.end();
}

async function halt(ctx: EngineContext, { req, res, params }: Call, kill: boolean) {
  const c = ctx.mustContainer(params.id!);
  await readJson(req);
  if (!c.running && kill) throw new ApiError(409, `Container ${c.id} is not running`);
  await c.kill();
  res.writeHead(204, ctx.headers);
  res.end();
}

/** `POST /containers/{id}/kill`: 204 once it exited, 409 when it was not running. */
export const kill = (ctx: EngineContext, call: Call) => halt(ctx, call, true);
/** `POST /containers/{id}/stop`: 204 once it exited (also when it was not running). */
export const stop = (ctx: EngineContext, call: Call) => halt(ctx, call, false);

/** `POST /containers/{id}/resize`: 200 (the size goes to the container's TTY). */
export async function resize(ctx: EngineContext, { req, res, params }: Call): Promise<void> {
  ctx.mustContainer(params.id!);
  await readJson(req);
  res.writeHead(200, { ...ctx.headers, 'Content-Length': 0 });
  res.end();
}

/** `POST /containers/{id}/wait[?condition=…]`: headers at once, the status at exit. */
export async function wait(ctx: EngineContext, { req, res, params, query }: Call): Promise<void> {
  const c = ctx.mustContainer(params.id!);
  await readJson(req);
  waitFor(ctx, res, c, query.get('condition') ?? '');
}

function waitFor(ctx: EngineContext, res: ServerResponse, c: Container, condition: string): void {
  if (!['', 'not-running', 'next-exit', 'removed'].includes(condition)) {
    throw new ApiError(400, `invalid condition: "${condition}"`);
  }
  res.writeHead(200, { ...ctx.headers, 'Content-Type': 'application/json' });
  res.flushHeaders();
  ctx.pendingWaits.add(res);
  const answer = (status: number) => {
    ctx.pendingWaits.delete(res);
    if (!res.writableEnded) res.end(JSON.stringify({ StatusCode: status }) + '\n');
  };
  if (!c.running && condition !== 'next-exit') {
    answer(c.exitCode);
    return;
  }
  c.once('exit', answer);
  res.once('close', () => {
    ctx.pendingWaits.delete(res);
    c.off('exit', answer);
  });
}
