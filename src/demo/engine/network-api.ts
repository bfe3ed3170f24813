/**
 * The demo engine's `/networks` routes (`docker network ls/inspect/create/rm/connect`)
 * over the records of networks.ts.
 *
 * @module
 */
import type { EngineContext } from './context.js';
import { parseFilters } from './filters.js';
import { ApiError, readJson, sendJson, type Call } from './http.js';
import type { Network } from './networks.js';
import { labelMatch } from './ps-filters.js';

function shape(n: Network): Record<string, unknown> {
  return {
    ...n,
    EnableIPv6: false,
    IPAM: { Driver: 'default', Options: null, Config: [] },
    Internal: false,
    Attachable: false,
    Ingress: false,
    ConfigFrom: { Network: '' },
    ConfigOnly: false,
    Containers: {},
    Options: {},
  };
}

function must(ctx: EngineContext, ref: string): Network {
  const n = ctx.networks.find(ref);
  if (!n) throw new ApiError(404, `network ${ref} not found`);
  return n;
}

/** `GET /networks[?filters]` (`docker network ls`): filters name, id, label, driver. */
export function list(ctx: EngineContext, { res, query }: Call): void {
  let f;
  try {
    f = parseFilters(query.get('filters'), [
      'name',
      'id',
      'label',
      'driver',
      'scope',
      'type',
      'dangling',
    ]);
  } catch (err) {
    throw new ApiError(400, (err as Error).message);
  }
  const any = (vs: string[] | undefined, test: (v: string) => boolean) => !vs || vs.some(test);
  const found = [...ctx.networks.all.values()].filter(
    (n) =>
      any(f.get('name'), (v) => n.Name.includes(v)) &&
      any(f.get('id'), (v) => n.Id.startsWith(v)) &&
      any(f.get('driver'), (v) => v === n.Driver) &&
      (f.get('label') ?? []).every((v) => labelMatch(n.Labels, v)),
  );
  sendJson(res, 200, found.map(shape), ctx.headers);
}

/** `GET /networks/{id}` (`docker network inspect`). */
export function inspect(ctx: EngineContext, { res, params }: Call): void {
  sendJson(res, 200, shape(must(ctx, params.id!)), ctx.headers);
}

/** `POST /networks/create`: 201 `{"Id", "Warning"}`; 409 for a name in use. */
export async function create(ctx: EngineContext, { req, res }: Call): Promise<void> {
  const body = await readJson(req);
  const name = typeof body.Name === 'string' ? body.Name : '';
  if (!name) throw new ApiError(400, 'network name is required');
  if (ctx.networks.find(name)?.Name === name) {
    throw new ApiError(409, `network with name ${name} already exists`);
  }
  const labels = (body.Labels ?? {}) as Record<string, string>;
  const n = ctx.networks.add(
    name,
    typeof body.Driver === 'string' ? body.Driver : 'bridge',
    labels,
  );
  sendJson(res, 201, { Id: n.Id, Warning: '' }, ctx.headers);
}

/** `DELETE /networks/{id}`: 204. */
export function remove(ctx: EngineContext, { res, params }: Call): void {
  const n = must(ctx, params.id!);
  if (n.Name === 'none')
    throw new ApiError(403, 'none is a pre-defined network and cannot be removed');
  ctx.networks.all.delete(n.Id);
  res.writeHead(204, ctx.headers);
  res.end();
}

/** `POST /networks/{id}/connect` and `/disconnect`: 200 (nothing to connect). */
export async function connect(ctx: EngineContext, { req, res, params }: Call): Promise<void> {
  must(ctx, params.id!);
  await readJson(req);
  res.writeHead(200, { ...ctx.headers, 'Content-Length': 0 });
  res.end();
}
