/**
 * The demo engine: a node:http server that speaks enough of the Docker engine API for the
 * real `docker` CLI, docker-py and docker-compose (`ps`, `inspect`, `exec`, `attach`,
 * `logs`, `events`, `run --rm` …) against fake containers whose processes are built-in
 * commands. Exec and attach streams are taken over with {@link hijack} from an ordinary
 * request handler (both `Upgrade: tcp` → 101 and the legacy 200 raw stream). This module
 * wires the server; the endpoints are the route table in routes.ts.
 *
 * @module
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { formatHostPort } from '../../endpoint/endpoint.js';
import { reclaimStaleSocket } from '../../endpoint/listen.js';
import { HijackError, codes } from '../../errors.js';
import { enableHijack, trackConnections } from '../../server/index.js';
import { builtinCommands, type Command } from './commands.js';
import { Container, defaultContainers, type ContainerSpec } from './containers.js';
import { EngineContext } from './context.js';
import { ApiError, compareVersions, sendJson, splitVersion, wantsUpgrade } from './http.js';
import { matchRoute, notImplementedMessage } from './route-table.js';
import { routes } from './routes.js';
import { createShell } from './shell.js';

/** Options of {@link createEngine}. Give `socketPath` or `port` (default: port 0 on loopback). */
export interface EngineOptions {
  /** Listen on this unix socket path (removed first if it is a stale socket). */
  socketPath?: string;
  /** Listen on this TCP port (0: any free port). */
  port?: number;
  /** TCP host; default `127.0.0.1`. */
  host?: string;
  /** The containers; default {@link defaultContainers} (c1 sleeping, c2 `cat`, c3 exited). */
  containers?: ContainerSpec[];
  /** Extra or replacing commands by name, added to the built-in ones. */
  commands?: Record<string, Command>;
  /** Highest API version served and announced by `/_ping`; default `1.43`. */
  apiVersion?: string;
  /** Lowest API version accepted; default `1.24`. */
  minApiVersion?: string;
  /** How long close() lets requests finish before destroying them; default 2000 ms. */
  shutdownTimeout?: number;
}

/** A running (or ready to run) demo engine. */
export interface Engine {
  /** Starts listening; resolves with the DOCKER_HOST value (`unix:///…` or `tcp://host:port`). */
  listen(): Promise<string>;
  /** Stops: kills every exec and container process, ends streams, closes the server. */
  close(): Promise<void>;
  /** The DOCKER_HOST value once listening, else ''. */
  readonly dockerHost: string;
  /** The node:http server (enableHijack installed). */
  readonly server: Server;
  /** The containers, in declaration order. */
  readonly containers: readonly Container[];
  /** A container by name, full id or unique id prefix. */
  container(ref: string): Container | undefined;
  /** The number of exec and attach streams open now. */
  readonly openStreams: number;
  /**
   * Writes `line` to every open exec and attach stream (stderr, or a TTY's output) so the
   * client's user reads why the stream is about to end; resolves with the bytes written.
   * close() sends {@link ENGINE_STOPPING} this way unless announce() was called first.
   */
  announce(line: string): Promise<number>;
}

function assertVersion(v: string | undefined, name: string): string | undefined {
  if (v !== undefined && !/^\d+\.\d+$/.test(v)) {
    throw new HijackError(
      codes.ERR_INVALID_ARGUMENT,
      `createEngine: ${name} must look like "1.43", got ${JSON.stringify(v)}`,
    );
  }
  return v;
}

/** The line close() writes to open streams (see {@link Engine.announce}). */
export const ENGINE_STOPPING =
  'demo engine: stopping; this stream ends now (docker exec then exits 255: the exit code ' +
  'cannot be read once the engine is gone)';

/** How long a `running: false` container's command may run before it is killed (ms). */
const RUN_ONCE_LIMIT = 1000;

/**
 * Lets a container declared `running: false` finish its command with its stdin closed; a
 * command still running after {@link RUN_ONCE_LIMIT} is killed (status 137).
 */
async function runToEnd(c: Container): Promise<void> {
  c.stdin?.end();
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<void>((r) => (timer = setTimeout(r, RUN_ONCE_LIMIT)));
  await Promise.race([c.wait(), limit]);
  clearTimeout(timer);
  if (c.running) await c.kill(9);
}

/**
 * Creates a Docker-engine-compatible demo engine; call listen() to serve it.
 *
 * ```ts
 * const engine = createEngine({ socketPath: '/tmp/demo/engine.sock' });
 * const host = await engine.listen(); // unix:///tmp/demo/engine.sock
 * // echo hi | docker -H unix:///tmp/demo/engine.sock exec -i c1 cat
 * await engine.close();
 * ```
 */
export function createEngine(options: EngineOptions = {}): Engine {
  if (options.socketPath !== undefined && options.port !== undefined) {
    throw new HijackError(
      codes.ERR_INVALID_ARGUMENT,
      'createEngine: give either socketPath or port, not both',
    );
  }
  if (options.port !== undefined && !(Number.isInteger(options.port) && options.port >= 0)) {
    throw new HijackError(
      codes.ERR_INVALID_ARGUMENT,
      `createEngine: port must be an integer ≥ 0, got ${String(options.port)}`,
    );
  }
  const apiVersion = assertVersion(options.apiVersion, 'apiVersion') ?? '1.43';
  const minApiVersion = assertVersion(options.minApiVersion, 'minApiVersion') ?? '1.24';
  const commands = builtinCommands();
  for (const [name, fn] of Object.entries(options.commands ?? {})) {
    if (typeof fn !== 'function') {
      throw new HijackError(
        codes.ERR_INVALID_ARGUMENT,
        `createEngine: commands.${name} must be a function (ctx) => Promise<number>`,
      );
    }
    commands.set(name, fn);
  }
  if (!options.commands?.sh) commands.set('sh', createShell(commands));
  const specs = options.containers ?? defaultContainers;
  const ranOnce: Promise<void>[] = [];
  const containers: Container[] = [];
  const ctx = new EngineContext(apiVersion, minApiVersion, commands, containers);
  for (const spec of specs) {
    if (!spec || typeof spec.name !== 'string' || !/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(spec.name)) {
      throw new HijackError(
        codes.ERR_INVALID_ARGUMENT,
        `createEngine: container name ${JSON.stringify(spec?.name)} is not a valid Docker name`,
      );
    }
    if (containers.some((c) => c.name === spec.name)) {
      throw new HijackError(
        codes.ERR_INVALID_ARGUMENT,
        `createEngine: two containers are named ${spec.name}`,
      );
    }
    const c = new Container(spec, commands);
    ctx.addContainer(c);
    c.start(ctx.nextPid());
    // An exited container has run its command once, as dockerd's would have: its output is
    // in its logs (`docker logs c3` prints `done`) and its status is the command's.
    if (spec.running === false) ranOnce.push(runToEnd(c));
  }

  let dockerHost = '';
  let closing = false;
  let announced = false;
  const announce = async (line: string): Promise<number> => {
    announced = true;
    const sent = await Promise.all([...ctx.sessions].map((s) => s.notice(line)));
    return sent.reduce((a, b) => a + b, 0);
  };

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://engine');
    const { version: asked, path } = splitVersion(url.pathname);
    const method = req.method ?? 'GET';
    if (asked !== null) {
      if (compareVersions(asked, apiVersion) > 0) {
        throw new ApiError(
          400,
          `client version ${asked} is too new. Maximum supported API version is ${apiVersion}`,
        );
      }
      if (compareVersions(asked, minApiVersion) < 0) {
        throw new ApiError(
          400,
          `client version ${asked} is too old. Minimum supported API version is ${minApiVersion}, please upgrade your client to a newer version`,
        );
      }
    }
    const version = asked ?? apiVersion;
    const found = matchRoute(routes, method, path);
    if (!found) throw new ApiError(501, notImplementedMessage(routes, method, path));
    await found.route.handler(ctx, {
      req,
      res,
      params: found.params,
      query: url.searchParams,
      version,
      method,
    });
  }

  const server = createServer();
  enableHijack(server);
  const tracker = trackConnections(server);
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    route(req, res).catch((err: unknown) => {
      const status = err instanceof ApiError ? err.status : 500;
      const message = err instanceof Error ? err.message : String(err);
      if (res.headersSent || res.writableEnded) {
        res.destroy();
        return;
      }
      try {
        sendJson(res, status, { message }, ctx.headers);
      } catch {
        res.destroy();
      }
      // An upgrade request answered without a takeover leaves no protocol to speak.
      if (wantsUpgrade(req)) res.once('finish', () => req.socket.destroySoon());
    });
  });

  function listenOnce(): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      server.once('error', onError);
      const done = () => {
        server.off('error', onError);
        resolve();
      };
      if (options.socketPath !== undefined) server.listen(options.socketPath, done);
      else server.listen(options.port ?? 0, options.host ?? '127.0.0.1', done);
    });
  }

  return {
    get dockerHost() {
      return dockerHost;
    },
    server,
    containers,
    container: (ref) => {
      try {
        return ctx.findContainer(ref);
      } catch {
        return undefined;
      }
    },
    get openStreams() {
      return ctx.sessions.size;
    },
    async listen() {
      await Promise.all(ranOnce);
      try {
        await listenOnce();
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        const path = options.socketPath;
        // A socket file left by a dead engine is reclaimed; a live one or a file that is
        // not a socket is left alone.
        const stale =
          e.code === 'EADDRINUSE' &&
          path !== undefined &&
          (await reclaimStaleSocket(path).then(
            () => true,
            () => false,
          ));
        if (!stale) {
          throw new HijackError(
            codes.ERR_INVALID_ARGUMENT,
            `demo engine cannot listen on ${path ?? formatHostPort(options.host ?? '127.0.0.1', options.port ?? 0)}: ` +
              `${e.message}${e.code === 'EADDRINUSE' ? ' (is another engine running there?)' : ''}`,
            { cause: err },
          );
        }
        await listenOnce();
      }
      if (options.socketPath !== undefined) dockerHost = `unix://${options.socketPath}`;
      else {
        const a = server.address() as AddressInfo;
        dockerHost = `tcp://${formatHostPort(a.address, a.port)}`;
      }
      return dockerHost;
    },
    announce,
    async close() {
      if (closing) return;
      closing = true;
      if (!announced) await announce(ENGINE_STOPPING);
      for (const e of ctx.execs.values()) e.abort.abort();
      await Promise.all(containers.map((c) => c.kill()));
      for (const res of ctx.openAnswers) res.end();
      const timeout = options.shutdownTimeout ?? 2000;
      await tracker.shutdown({ timeout }).catch(() => {});
      for (const s of ctx.sessions) s.socket.destroy();
      if (server.listening) await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
