/**
 * System endpoints of the demo engine: `/_ping`, `/version`, `/info`.
 *
 * @module
 */
import { SERVER_VERSION, type EngineContext } from './context.js';
import { sendJson } from './http.js';
import type { Call } from './route-table.js';

/** `GET`/`HEAD /_ping`: `OK` with the API version for negotiation. */
export function ping(ctx: EngineContext, { res, method }: Call): void {
  res.writeHead(200, {
    ...ctx.headers,
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': 2,
    'Cache-Control': 'no-cache, no-store, must-revalidate',
    Pragma: 'no-cache',
  });
  res.end(method === 'HEAD' ? undefined : 'OK');
}

/** `GET /version` (`docker version`). */
export function version(ctx: EngineContext, { res }: Call): void {
  sendJson(
    res,
    200,
    {
      Platform: { Name: 'hijack demo engine' },
      Components: [
        { Name: 'Engine', Version: SERVER_VERSION, Details: { ApiVersion: ctx.apiVersion } },
      ],
      Version: SERVER_VERSION,
      ApiVersion: ctx.apiVersion,
      MinAPIVersion: ctx.minApiVersion,
      GitCommit: 'hijack',
      GoVersion: `node ${process.version}`,
      Os: 'linux',
      Arch: process.arch === 'x64' ? 'amd64' : process.arch,
      KernelVersion: '',
      BuildTime: '',
    },
    ctx.headers,
  );
}

/** `GET /info` (`docker info`). */
export function info(ctx: EngineContext, { res }: Call): void {
  const all = ctx.containers;
  const running = all.filter((c) => c.running).length;
  sendJson(
    res,
    200,
    {
      ID: 'hijack-demo',
      Containers: all.length,
      ContainersRunning: running,
      ContainersPaused: 0,
      ContainersStopped: all.length - running,
      Images: 1,
      Driver: 'hijack-demo',
      OperatingSystem: 'hijack demo engine',
      OSType: 'linux',
      Architecture: process.arch === 'x64' ? 'x86_64' : process.arch,
      Name: 'hijack-demo',
      ServerVersion: SERVER_VERSION,
      NCPU: 1,
      MemTotal: 0,
    },
    ctx.headers,
  );
}
