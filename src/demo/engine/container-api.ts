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
import { psFilters, psMatches } from './ps-filters.js';
import { IGNORED_SIGNALS, signalNumber } from './signals.js';
import { ttySize } from './tty-size.js';
import type { Call } from './route-table.js';

/** `GET /containers/json` (`docker ps`). */
export function list(ctx: EngineContext, { res, query }: Call): void {
  const filters = psFilters(query.get('filters'));
  // A status filter lists stopped containers too, as dockerd does; the other filters
  // (name, id, label, exited, ancestor) narrow the running ones unless `all` is set (under
  // the gateway's scope owner every list carries a label filter: `docker ps` stays running-only).
  const all = flag(query, 'all') || filters.has('status');
  const limit = Number(query.get('limit') ?? -1);
  // Newest first, as dockerd lists them.
  const found = ctx.containers.filter((c) => (all || c.running) && psMatches(c, filters)).reverse();
  const listed = Number.isInteger(limit) && limit > 0 ? found.slice(0, limit) : found;
  sendJson(
    res,
    200,
    listed.map((c) => c.summary(ctx.networkId)),
    ctx.headers,
  );
}

/** `GET /containers/{id}/json` (`docker inspect`). */
export function inspect(ctx: EngineContext, { res, params }: Call): void {
  sendJson(res, 200, ctx.mustContainer(params.id!).inspect(ctx.networkId), ctx.headers);
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

/** `POST /containers/{id}/kill[?signal=…]`: 204 once it exited, 409 when it was not running. */
export async function kill(ctx: EngineContext, { req, res, params, query }: Call): Promise<void> {
  const c = ctx.mustContainer(params.id!);
  await readJson(req);
  const signal = signalNumber(query.get('signal') ?? 'KILL');
  if (!c.running) throw new ApiError(409, `Container ${c.id} is not running`);
  // A built-in command has no signal handlers: ignored-by-default signals do nothing.
  if (!IGNORED_SIGNALS.has(signal)) await c.kill(signal);
  res.writeHead(204, ctx.headers);
  res.end();
}

/** `POST /containers/{id}/stop`: SIGTERM, 204 once it exited; 304 when it was not running. */
export async function stop(ctx: EngineContext, { req, res, params }: Call): Promise<void> {
  const c = ctx.mustContainer(params.id!);
  await readJson(req);
  if (!c.running) {
    res.writeHead(304, ctx.headers);
    res.end();
    return;
  }
  await c.kill(15);
  ctx.events.container(c, 'stop');
  res.writeHead(204, ctx.headers);
  res.end();
}

/**
 * `POST /containers/{id}/restart`: a running container is stopped (SIGTERM) first, then
 * started; 204. Events as dockerd's: kill, die, stop, start, restart.
 */
export async function restart(ctx: EngineContext, { req, res, params }: Call): Promise<void> {
  const c = ctx.mustContainer(params.id!);
  await readJson(req);
  if (c.running) {
    await c.kill(15);
    ctx.events.container(c, 'stop');
  }
  c.start(ctx.nextPid());
  ctx.events.container(c, 'restart');
  res.writeHead(204, ctx.headers);
  res.end();
}

/** `POST /containers/{id}/resize`: 200 (the size goes to the container's TTY). */
export async function resize(ctx: EngineContext, call: Call): Promise<void> {
  const { req, res, params, query } = call;
  const c = ctx.mustContainer(params.id!);
  await readJson(req);
  const size = ttySize(query);
  c.size = size;
  ctx.events.container(c, 'resize', { height: String(size.rows), width: String(size.cols) });
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
  ctx.openAnswers.add(res);
  const answer = (status: number) => {
    ctx.openAnswers.delete(res);
    if (!res.writableEnded) res.end(JSON.stringify({ StatusCode: status }) + '\n');
  };
  // not-running: at once unless it runs; next-exit: the next exit; removed: its removal.
  if (condition === 'removed') {
    const onRemoved = () => answer(c.exitCode);
    c.once('removed', onRemoved);
    res.once('close', () => c.off('removed', onRemoved));
    return;
  }
  if (!c.running && (condition === '' || condition === 'not-running')) {
    answer(c.exitCode);
    return;
  }
  c.once('exit', answer);
  res.once('close', () => {
    ctx.openAnswers.delete(res);
    c.off('exit', answer);
  });
}
