/**
 * Image endpoints of the demo engine: the images its containers name (`hijack/demo:latest`
 * by default) exist for `docker images` and `docker image inspect`; it pulls and builds
 * nothing.
 *
 * @module
 */
import type { EngineContext } from './context.js';
import { SERVER_VERSION } from './context.js';
import { imageIdFor } from './containers.js';
import { ApiError, sendJson } from './http.js';
import { imageMatch } from './ps-filters.js';
import type { Call } from './route-table.js';

/** The demo's image created time: fixed, so ids and answers are stable. */
const CREATED = '2025-01-01T00:00:00Z';
/** Size reported for every demo image (bytes). */
const SIZE = 0;

/** The image names the containers use, in first-use order (at least the demo image). */
export function imageNames(ctx: EngineContext): string[] {
  return [...new Set(['hijack/demo:latest', ...ctx.containers.map((c) => c.image)])];
}

function find(ctx: EngineContext, ref: string): string | undefined {
  return imageNames(ctx).find((n) => imageMatch(n, imageIdFor(n), ref));
}

const emptyConfig = (cmd: string[] | null) => ({
  Hostname: '',
  Domainname: '',
  User: '',
  AttachStdin: false,
  AttachStdout: false,
  AttachStderr: false,
  Tty: false,
  OpenStdin: false,
  StdinOnce: false,
  Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
  Cmd: cmd,
  Image: '',
  Volumes: null,
  WorkingDir: '',
  Entrypoint: null,
  OnBuild: null,
  Labels: null,
});

/** `GET /images/{name}/json` (`docker image inspect`); 404 `No such image` otherwise. */
export function inspect(ctx: EngineContext, { res, params }: Call): void {
  const name = find(ctx, params.name!);
  if (!name) throw new ApiError(404, `No such image: ${params.name}`);
  sendJson(
    res,
    200,
    {
      Id: imageIdFor(name),
      RepoTags: [name],
      RepoDigests: [],
      Parent: '',
      Comment: 'the hijack demo engine: built-in commands, no file system',
      Created: CREATED,
      Container: '',
      ContainerConfig: emptyConfig(null),
      DockerVersion: SERVER_VERSION,
      Author: 'hijack demo',
      Config: emptyConfig(['sh']),
      Architecture: process.arch === 'x64' ? 'amd64' : process.arch,
      Os: 'linux',
      Size: SIZE,
      VirtualSize: SIZE,
      GraphDriver: { Data: null, Name: 'hijack-demo' },
      RootFS: { Type: 'layers', Layers: [] },
      Metadata: { LastTagTime: '0001-01-01T00:00:00Z' },
    },
    ctx.headers,
  );
}

/** `GET /images/json` (`docker images`). */
export function list(ctx: EngineContext, { res }: Call): void {
  sendJson(
    res,
    200,
    imageNames(ctx).map((name) => ({
      Id: imageIdFor(name),
      ParentId: '',
      RepoTags: [name],
      RepoDigests: [],
      Created: Math.floor(Date.parse(CREATED) / 1000),
      Size: SIZE,
      SharedSize: -1,
      VirtualSize: SIZE,
      Labels: {},
      Containers: ctx.containers.filter((c) => c.image === name).length,
    })),
    ctx.headers,
  );
}
