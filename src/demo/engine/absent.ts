/**
 * Kinds of objects the demo engine has none of, answered as dockerd answers for an empty
 * daemon: `docker volume ls` and `docker plugin ls` list nothing, inspecting one is 404.
 * That is also what lets `docker inspect NAME` walk its object kinds (container, image,
 * network, volume, plugin) to dockerd's `Error: No such object: NAME`.
 *
 * @module
 */
import type { EngineContext } from './context.js';
import { ApiError, sendJson, type Call } from './http.js';

/** `GET /volumes`: no volumes. */
export function volumes(ctx: EngineContext, { res }: Call): void {
  sendJson(res, 200, { Volumes: [], Warnings: null }, ctx.headers);
}

/** `GET /volumes/{name}`: dockerd's 404 for a volume that does not exist. */
export function volume(_ctx: EngineContext, { params }: Call): void {
  throw new ApiError(404, `get ${params.name}: no such volume`);
}

/** `GET /plugins`: no plugins. */
export function plugins(ctx: EngineContext, { res }: Call): void {
  sendJson(res, 200, [], ctx.headers);
}

/** `GET /plugins/{name}/json`: dockerd's 404 for a plugin that is not installed. */
export function plugin(_ctx: EngineContext, { params }: Call): void {
  throw new ApiError(404, `plugin ${JSON.stringify(params.name)} not found`);
}
