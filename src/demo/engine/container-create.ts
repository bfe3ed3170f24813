/**
 * `POST /containers/create` and `DELETE /containers/{id}` in the demo engine: containers of
 * the demo's images whose main process is a built-in command (`docker create`, `docker run`,
 * `docker rm`, docker-compose). Everything else in the body (mounts, ports, resources …) is
 * read and ignored: there is nothing to isolate or mount.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import type { EngineContext } from './context.js';
import { Container } from './containers.js';
import { stringArray } from './execs.js';
import { ApiError, flag, readJson, sendJson } from './http.js';
import { imageNames } from './images.js';
import { imageMatch } from './ps-filters.js';
import { imageIdFor } from './containers.js';
import type { Call } from './route-table.js';

const NAME = /^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;
let counter = 0;

function record(v: unknown, what: string): Record<string, string> {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v))
    throw new ApiError(400, `${what} must be an object`);
  return Object.fromEntries(
    Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, String(x)]),
  );
}

/** `POST /containers/create[?name=NAME]`: 201 `{"Id", "Warnings"}`. */
export async function create(ctx: EngineContext, { req, res, query }: Call): Promise<void> {
  const body = await readJson(req);
  const ref = typeof body.Image === 'string' ? body.Image : '';
  if (!ref) throw new ApiError(400, 'Config cannot be empty in order to create a container');
  const image = imageNames(ctx).find((n) => imageMatch(n, imageIdFor(n), ref));
  if (!image) throw new ApiError(404, `No such image: ${ref}`);
  let name = query.get('name') ?? '';
  if (name && !NAME.test(name)) {
    throw new ApiError(
      400,
      `Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`,
    );
  }
  name = name.replace(/^\//, '') || `demo_${++counter}`;
  const taken = ctx.containers.find((c) => c.name === name);
  if (taken) {
    throw new ApiError(
      409,
      `Conflict. The container name "/${name}" is already in use by container "${taken.id}". ` +
        'You have to remove (or rename) that container to be able to reuse that name.',
    );
  }
  const entrypoint = stringArray(body.Entrypoint, 'Entrypoint');
  const cmd = [...entrypoint, ...stringArray(body.Cmd, 'Cmd')];
  const host = (body.HostConfig ?? {}) as Record<string, unknown>;
  const c = new Container(
    {
      name,
      id: randomBytes(32).toString('hex'),
      cmd: cmd.length ? cmd : ['sh'],
      image,
      tty: body.Tty === true,
      openStdin: body.OpenStdin === true,
      stdinOnce: body.StdinOnce === true,
      running: false,
      env: stringArray(body.Env, 'Env'),
      labels: record(body.Labels, 'Labels'),
      autoRemove: host.AutoRemove === true,
      networkMode:
        typeof host.NetworkMode === 'string' && host.NetworkMode ? host.NetworkMode : 'none',
    },
    ctx.commands,
  );
  ctx.addContainer(c);
  ctx.events.container(c, 'create');
  sendJson(res, 201, { Id: c.id, Warnings: [] }, ctx.headers);
}

/** `DELETE /containers/{id}[?force=1]`: 204; 409 for a running one without force. */
export async function remove(ctx: EngineContext, { req, res, params, query }: Call): Promise<void> {
  const c = ctx.mustContainer(params.id!);
  await readJson(req);
  if (c.running) {
    if (!flag(query, 'force')) {
      throw new ApiError(
        409,
        `You cannot remove a running container ${c.id}. Stop the container before attempting removal or force remove`,
      );
    }
    await c.kill();
  }
  ctx.removeContainer(c);
  res.writeHead(204, ctx.headers);
  res.end();
}
