/**
 * The demo engine: a node:http server that speaks enough of the Docker engine API for the
 * real `docker` CLI to `ps`, `inspect`, `exec` and `attach` against fake containers whose
 * processes are built-in commands. Exec and attach streams are taken over with
 * {@link hijack} from an ordinary request handler (both `Upgrade: tcp` → 101 and the
 * legacy 200 raw stream).
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { unlinkSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { HijackError, codes } from '../../errors.js';
import { enableHijack, trackConnections } from '../../server/index.js';
import { builtinCommands, type Command } from './commands.js';
import { Container, defaultContainers, type ContainerSpec } from './containers.js';
import {
  ApiError,
  compareVersions,
  flag,
  readJson,
  sendJson,
  splitVersion,
  wantsUpgrade,
} from './http.js';
import { runCommand } from './process.js';
import { MULTIPLEXED_STREAM, RAW_STREAM } from '../../stream/index.js';
import { openSession, type Session } from './session.js';

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
}

interface ExecRecord {
  id: string;
  container: Container;
  cmd: string[];
  env: string[];
  tty: boolean;
  attachStdin: boolean;
  attachStdout: boolean;
  attachStderr: boolean;
  started: boolean;
  running: boolean;
  exitCode: number | null;
  pid: number;
  abort: AbortController;
}

const SERVER_VERSION = '0.1.0';

function assertVersion(v: string | undefined, name: string): string | undefined {
  if (v !== undefined && !/^\d+\.\d+$/.test(v)) {
    throw new HijackError(
      codes.ERR_INVALID_ARGUMENT,
      `createEngine: ${name} must look like "1.43", got ${JSON.stringify(v)}`,
    );
  }
  return v;
}

function stringArray(v: unknown, what: string): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) {
    throw new ApiError(400, `${what} must be an array of strings`);
  }
  return v as string[];
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
  const specs = options.containers ?? defaultContainers;
  const containers: Container[] = [];
  let nextPid = 1000;
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
    containers.push(c);
    if (spec.running ?? true) c.start(nextPid++);
    else {
      // An exited container: it ran once and finished with its command's status 0.
      c.startedAt = c.finishedAt = c.created;
    }
  }

  const execs = new Map<string, ExecRecord>();
  const sessions = new Set<Session>();
  const pendingWaits = new Set<ServerResponse>();
  let dockerHost = '';
  let closing = false;

  const commonHeaders: Record<string, string> = {
    'Api-Version': apiVersion,
    'Docker-Experimental': 'false',
    Ostype: 'linux',
    Server: `hijack-demo/${SERVER_VERSION} (linux)`,
  };
  const headLines = Object.entries(commonHeaders).map(([k, v]) => `${k}: ${v}`);

  function findContainer(ref: string): Container | undefined {
    const name = ref.replace(/^\//, '');
    const byName = containers.find((c) => c.name === name || c.id === ref);
    if (byName) return byName;
    if (!/^[0-9a-f]+$/.test(ref)) return undefined;
    const matches = containers.filter((c) => c.id.startsWith(ref));
    if (matches.length > 1)
      throw new ApiError(400, `multiple IDs found with provided prefix: ${ref}`);
    return matches[0];
  }

  function mustContainer(ref: string): Container {
    const c = findContainer(ref);
    if (!c) throw new ApiError(404, `No such container: ${ref}`);
    return c;
  }

  function mustExec(id: string): ExecRecord {
    const e = execs.get(id);
    if (!e) throw new ApiError(404, `No such exec instance: ${id}`);
    return e;
  }

  /** Media type of a stream for the request's API version (≥ 1.42 non-TTY is multiplexed). */
  function mediaType(version: string, tty: boolean): string {
    return !tty && compareVersions(version, '1.42') >= 0 ? MULTIPLEXED_STREAM : RAW_STREAM;
  }

  function track(s: Session): void {
    sessions.add(s);
    void s.closed.then(() => sessions.delete(s));
  }

  async function execCreate(req: IncomingMessage, res: ServerResponse, ref: string) {
    const c = mustContainer(ref);
    const body = await readJson(req);
    const cmd = stringArray(body.Cmd, 'Cmd');
    if (cmd.length === 0) throw new ApiError(400, 'No exec command specified');
    if (!c.running) throw new ApiError(409, `Container ${c.id} is not running`);
    const e: ExecRecord = {
      id: randomBytes(32).toString('hex'),
      container: c,
      cmd,
      env: [...c.env, ...stringArray(body.Env, 'Env')],
      tty: body.Tty === true,
      attachStdin: body.AttachStdin === true,
      attachStdout: body.AttachStdout !== false,
      attachStderr: body.AttachStderr !== false,
      started: false,
      running: false,
      exitCode: null,
      pid: 0,
      abort: new AbortController(),
    };
    execs.set(e.id, e);
    sendJson(res, 201, { Id: e.id }, commonHeaders);
  }

  async function execStart(req: IncomingMessage, res: ServerResponse, id: string, version: string) {
    const e = mustExec(id);
    const body = await readJson(req);
    if (e.started) throw new ApiError(409, `Exec command ${id} is already running`);
    if (!e.container.running) throw new ApiError(409, `Container ${e.container.id} is not running`);
    e.started = true;
    e.running = true;
    e.pid = nextPid++;
    const tty = body.Tty === true || e.tty;
    const done = (status: number) => {
      e.exitCode = status;
      e.running = false;
    };
    // The exec dies with its container.
    const onExit = () => e.abort.abort();
    e.container.once('exit', onExit);
    if (body.Detach === true) {
      const sink = new PassThrough();
      sink.resume();
      const stdin = new PassThrough();
      stdin.end();
      void runCommand(commands, e.cmd, {
        stdin,
        stdout: sink,
        stderr: sink,
        env: e.env,
        signal: e.abort.signal,
      }).then((s) => {
        e.container.off('exit', onExit);
        done(s);
      });
      res.writeHead(200, { ...commonHeaders, 'Content-Length': 0 });
      res.end();
      return;
    }
    let session: Session;
    try {
      session = await openSession(req, res, {
        framed: !tty,
        mediaType: mediaType(version, tty),
        headers: headLines,
      });
    } catch (err) {
      // No stream, no process: the exec never ran (dockerd's status for that).
      e.container.off('exit', onExit);
      done(126);
      throw err;
    }
    track(session);
    // A client that disappears kills the exec (nothing could read its output any more).
    void session.closed.then(() => e.abort.abort());
    const stdin = e.attachStdin ? session.stdin : emptyStdin(session);
    const sink = new PassThrough().resume();
    const status = await runCommand(commands, e.cmd, {
      stdin,
      stdout: e.attachStdout ? session.stdout : sink,
      stderr: e.attachStderr ? session.stderr : sink,
      env: e.env,
      signal: e.abort.signal,
    });
    e.container.off('exit', onExit);
    // The exit status is known before the stream ends: the CLI asks for it right after EOF.
    done(status);
    await session.close();
  }

  function emptyStdin(session: Session): PassThrough {
    session.stdin.resume();
    const s = new PassThrough();
    s.end();
    return s;
  }

  async function attach(
    req: IncomingMessage,
    res: ServerResponse,
    ref: string,
    q: URLSearchParams,
    version: string,
  ) {
    const c = mustContainer(ref);
    await readJson(req);
    const stream = flag(q, 'stream');
    const logs = flag(q, 'logs');
    if (!stream && !logs) throw new ApiError(400, 'either logs or stream must be set');
    if (stream && !c.running) {
      throw new ApiError(409, `You cannot attach to a stopped container, start it first`);
    }
    const session = await openSession(req, res, {
      framed: !c.tty,
      mediaType: mediaType(version, c.tty),
      headers: [],
    });
    track(session);
    const wantOut = flag(q, 'stdout');
    const wantErr = flag(q, 'stderr');
    if (logs) {
      // Replay what the container printed so far (kept per stream, so order across
      // stdout/stderr is per stream only).
      if (wantOut) session.stdout.write(c.stdout.history());
      if (wantErr && !c.tty) session.stderr.write(c.stderr.history());
    }
    if (!stream || !c.running) {
      await session.close();
      return;
    }
    const out = c.stdout;
    const err = c.stderr;
    if (wantOut) out.targets.add(session.stdout);
    if (wantErr && !c.tty) err.targets.add(session.stderr);
    const containerStdin = c.stdin;
    if (flag(q, 'stdin') && containerStdin && c.openStdin) {
      session.stdin.on('data', (chunk: Buffer) => {
        // Another client's EOF may have closed it (StdinOnce): the bytes have no reader.
        if (containerStdin.writableEnded || containerStdin.destroyed) return;
        if (!containerStdin.write(chunk)) {
          session.stdin.pause();
          containerStdin.once('drain', () => session.stdin.resume());
        }
      });
      session.stdin.once('end', () => {
        if (c.stdinOnce) containerStdin.end();
      });
    } else {
      session.stdin.resume();
    }
    const detach = () => {
      out.targets.delete(session.stdout);
      err.targets.delete(session.stderr);
    };
    await new Promise<void>((resolve) => {
      const onExit = () => resolve();
      c.once('exit', onExit);
      void session.closed.then(() => {
        c.off('exit', onExit);
        resolve();
      });
    });
    detach();
    await session.close();
  }

  function wait(res: ServerResponse, c: Container, condition: string) {
    if (!['', 'not-running', 'next-exit', 'removed'].includes(condition)) {
      throw new ApiError(400, `invalid condition: "${condition}"`);
    }
    res.writeHead(200, { ...commonHeaders, 'Content-Type': 'application/json' });
    res.flushHeaders();
    pendingWaits.add(res);
    const answer = (status: number) => {
      pendingWaits.delete(res);
      if (!res.writableEnded) res.end(JSON.stringify({ StatusCode: status }) + '\n');
    };
    if (!c.running && condition !== 'next-exit') {
      answer(c.exitCode);
      return;
    }
    c.once('exit', answer);
    res.once('close', () => {
      pendingWaits.delete(res);
      c.off('exit', answer);
    });
  }

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
    const q = url.searchParams;
    const seg = path.split('/').slice(1).map(decodeURIComponent);
    const is = (m: string, ...parts: string[]) =>
      method === m &&
      seg.length === parts.length &&
      parts.every((p, i) => p === '*' || p === seg[i]);

    if ((method === 'GET' || method === 'HEAD') && path === '/_ping') {
      res.writeHead(200, {
        ...commonHeaders,
        'Content-Type': 'text/plain; charset=utf-8',
        'Content-Length': 2,
        'Cache-Control': 'no-cache, no-store, must-revalidate',
        Pragma: 'no-cache',
      });
      res.end(method === 'HEAD' ? undefined : 'OK');
      return;
    }
    if (is('GET', 'version')) {
      sendJson(
        res,
        200,
        {
          Platform: { Name: 'hijack demo engine' },
          Components: [
            { Name: 'Engine', Version: SERVER_VERSION, Details: { ApiVersion: apiVersion } },
          ],
          Version: SERVER_VERSION,
          ApiVersion: apiVersion,
          MinAPIVersion: minApiVersion,
          GitCommit: 'hijack',
          GoVersion: `node ${process.version}`,
          Os: 'linux',
          Arch: process.arch === 'x64' ? 'amd64' : process.arch,
          KernelVersion: '',
          BuildTime: '',
        },
        commonHeaders,
      );
      return;
    }
    if (is('GET', 'info')) {
      const running = containers.filter((c) => c.running).length;
      sendJson(
        res,
        200,
        {
          ID: 'hijack-demo',
          Containers: containers.length,
          ContainersRunning: running,
          ContainersPaused: 0,
          ContainersStopped: containers.length - running,
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
        commonHeaders,
      );
      return;
    }
    if (is('GET', 'containers', 'json')) {
      const all = flag(q, 'all');
      sendJson(
        res,
        200,
        containers.filter((c) => all || c.running).map((c) => c.summary()),
        commonHeaders,
      );
      return;
    }
    if (is('GET', 'containers', '*', 'json')) {
      sendJson(res, 200, mustContainer(seg[1]!).inspect(), commonHeaders);
      return;
    }
    if (is('POST', 'containers', '*', 'exec')) return execCreate(req, res, seg[1]!);
    if (is('POST', 'containers', '*', 'attach')) return attach(req, res, seg[1]!, q, version);
    if (is('POST', 'containers', '*', 'wait')) {
      const c = mustContainer(seg[1]!);
      await readJson(req);
      return wait(res, c, q.get('condition') ?? '');
    }
    if (is('POST', 'containers', '*', 'start')) {
      const c = mustContainer(seg[1]!);
      await readJson(req);
      if (c.running) {
        res.writeHead(304, commonHeaders);
        res.end();
        return;
      }
      c.start(nextPid++);
      res.writeHead(204, commonHeaders);
      res.end();
      return;
    }
    if (is('POST', 'containers', '*', 'kill') || is('POST', 'containers', '*', 'stop')) {
      const c = mustContainer(seg[1]!);
      await readJson(req);
      if (!c.running && seg[2] === 'kill') {
        throw new ApiError(409, `Container ${c.id} is not running`);
      }
      await c.kill();
      res.writeHead(204, commonHeaders);
      res.end();
      return;
    }
    if (is('POST', 'containers', '*', 'resize') || is('POST', 'exec', '*', 'resize')) {
      if (seg[0] === 'exec') mustExec(seg[1]!);
      else mustContainer(seg[1]!);
      await readJson(req);
      res.writeHead(200, { ...commonHeaders, 'Content-Length': 0 });
      res.end();
      return;
    }
    if (is('POST', 'exec', '*', 'start')) return execStart(req, res, seg[1]!, version);
    if (is('GET', 'exec', '*', 'json')) {
      const e = mustExec(seg[1]!);
      sendJson(
        res,
        200,
        {
          ID: e.id,
          Running: e.running,
          ExitCode: e.exitCode,
          ProcessConfig: {
            tty: e.tty,
            entrypoint: e.cmd[0],
            arguments: e.cmd.slice(1),
            privileged: false,
            user: '',
          },
          OpenStdin: e.attachStdin,
          OpenStderr: e.attachStderr,
          OpenStdout: e.attachStdout,
          CanRemove: false,
          ContainerID: e.container.id,
          DetachKeys: '',
          Pid: e.pid,
        },
        commonHeaders,
      );
      return;
    }
    throw new ApiError(404, 'page not found');
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
        sendJson(res, status, { message }, commonHeaders);
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

  /** True when something answers on the unix socket path (a live engine, not a stale file). */
  function socketAlive(path: string): Promise<boolean> {
    return new Promise((resolve) => {
      const s = connect(path);
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
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
        return findContainer(ref);
      } catch {
        return undefined;
      }
    },
    get openStreams() {
      return sessions.size;
    },
    async listen() {
      try {
        await listenOnce();
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        const path = options.socketPath;
        if (e.code !== 'EADDRINUSE' || path === undefined || (await socketAlive(path))) {
          throw new HijackError(
            codes.ERR_INVALID_ARGUMENT,
            `demo engine cannot listen on ${path ?? `${options.host ?? '127.0.0.1'}:${options.port}`}: ` +
              `${e.message}${e.code === 'EADDRINUSE' ? ' (is another engine running there?)' : ''}`,
            { cause: err },
          );
        }
        unlinkSync(path);
        await listenOnce();
      }
      if (options.socketPath !== undefined) dockerHost = `unix://${options.socketPath}`;
      else {
        const a = server.address() as AddressInfo;
        dockerHost = `tcp://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
      }
      return dockerHost;
    },
    async close() {
      if (closing) return;
      closing = true;
      for (const e of execs.values()) e.abort.abort();
      await Promise.all(containers.map((c) => c.kill()));
      for (const res of pendingWaits) res.end();
      const timeout = options.shutdownTimeout ?? 2000;
      await tracker.shutdown({ timeout }).catch(() => {});
      for (const s of sessions) s.socket.destroy();
      if (server.listening) await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
