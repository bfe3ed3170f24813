/**
 * `createGateway(options)`: the forwarding engine behind `hijack gateway`.
 *
 * One request handler per gateway, shared by every listener (TCP, TLS, unix): connection
 * checks, framing checks, identification and the policy run first (deny by default);
 * then an allowed request is forwarded as an ordinary request over a keep-alive pool, or
 * carried as a takeover (101 Upgrade of any token, Docker's 200 raw-stream, CONNECT)
 * over its own connection with `splice`.
 *
 * @module
 */
import { EventEmitter } from 'node:events';
import { chmodSync, chownSync, lstatSync, readFileSync, unlinkSync } from 'node:fs';
import http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { Pool } from 'undici';
import { HijackError } from '../errors.js';
import { enableHijack, trackConnections } from '../server/index.js';
import { compilePolicy, checkFraming, deny } from './policy/index.js';
import type { Policy } from './policy/index.js';
import { connectionFacts, createAuthenticator } from './identity/index.js';
import type {
  AuthOptions,
  ClientIdentity,
  ConnectionFacts,
  DenyDecision,
  Endpoint,
  ForwardProxyOptions,
  GatewayOptions,
  GatewayTimeouts,
  PolicyDecision,
  PolicySpec,
} from './types.js';
import { forwardConnect } from './forward/connect.js';
import { errorInfo } from './forward/events.js';
import type {
  GatewayAddress,
  GatewayEvents,
  GatewayRequestEvent,
  GatewayTakeoverEvent,
  TakeoverEnd,
} from './forward/events.js';
import { upgradeType } from '../http1/hop-by-hop.js';
import { rawErrorResponse, replyError } from './forward/reply.js';
import { forwardRequest } from './forward/request.js';
import { forwardTakeover } from './forward/takeover.js';
import type { Switched } from './forward/takeover.js';
import { splice } from '../stream/splice.js';
import type { SpliceResult } from '../stream/splice.js';
import { createUpstreamPool, parseUpstream } from './forward/upstream.js';
import { DEFAULT_TIMEOUTS, DEFAULT_UPSTREAM, openAuth } from './defaults.js';
import type { UpstreamTarget, UpstreamTlsOptions } from './forward/upstream.js';

export { DEFAULT_TIMEOUTS };

/**
 * Docker endpoints that may answer an ordinary POST with the legacy `200` raw stream
 * (matched against the folded path): they are carried like upgrades, over their own
 * upstream connection, so client bytes behind the request reach the daemon.
 */
export const DOCKER_RAW_STREAM_PATHS = /^\/(containers\/[^/]+\/attach|exec\/[^/]+\/start)$/;

/** Options of {@link createGateway}: {@link GatewayOptions}, every part optional, plus engine settings. */
export interface CreateGatewayOptions {
  /** Listeners. Default: none (use the `server` hook or add one). */
  listen?: Endpoint[];
  /** The upstream; an Endpoint or a `unix://` / `tcp://` / `tls://` string. Default `unix:///var/run/docker.sock`. */
  upstream?: Endpoint | string;
  /** Rules; none (the default) refuses everything with 403. */
  policy?: Partial<PolicySpec>;
  auth?: Partial<AuthOptions>;
  timeouts?: Partial<GatewayTimeouts>;
  forwardProxy?: Partial<ForwardProxyOptions>;
  /** Append the client address to X-Forwarded-For. Default false (a Docker socket needs none). */
  forwardedFor?: boolean;
  /** Milliseconds taken-over streams get after shutdown half-closed them, before they are cut. Default 5000. */
  shutdownGrace?: number;
  /** Largest request or response head, bytes. Default 16 KiB. */
  maxHeaderSize?: number;
  /** Most header fields in a request; more gets 431. Default 100. */
  maxHeadersCount?: number;
  /** Most pooled connections to the upstream for ordinary requests. Default 64. */
  upstreamConnections?: number;
  /** POST paths (folded) that may get Docker's legacy 200 raw-stream answer. Default {@link DOCKER_RAW_STREAM_PATHS}. */
  rawStreamPaths?: RegExp;
}

/** Options of {@link Gateway.close}. */
export interface GatewayCloseOptions {
  /** Milliseconds to let in-flight requests finish before they are cut. Default 30 000. */
  timeout?: number;
  /** Milliseconds taken-over streams get after being half-closed. Default: `shutdownGrace`. */
  grace?: number;
}

/** Minimal view of the server layer's tracker the gateway relies on. */
interface TrackerLike {
  of(x: IncomingMessage | net.Socket): { id: number | string } | undefined;
  shutdown(o?: { timeout?: number; signal?: AbortSignal }): Promise<void>;
  onShutdown(fn: () => void): void;
}

/** A running takeover, for shutdown and the live view. */
interface LiveTakeover {
  event: GatewayTakeoverEvent;
  sockets: net.Socket[];
  shutdown: boolean;
}

/** Ends a takeover now: both ends destroyed (its splice then ends, reported as `shutdown`). */
function cut(tk: LiveTakeover): void {
  for (const s of tk.sockets) s.destroy();
}

/** The gateway: an EventEmitter of {@link GatewayEvents}. */
export interface Gateway extends EventEmitter<GatewayEvents> {
  /** Resolved options. */
  readonly options: Readonly<GatewayOptions>;
  /** The connection tracker of the first listener (Go's ConnState view); see `trackers` for all. */
  readonly tracker: ReturnType<typeof trackConnections>;
  /** One tracker per listener, in `listen` order. */
  readonly trackers: ReturnType<typeof trackConnections>[];
  /** The node:http / node:https servers, one per listener. */
  readonly servers: (http.Server | https.Server)[];
  /** Number of taken-over streams now open. */
  readonly takeovers: number;
  /** Starts every listener; resolves with their addresses (`tcp://127.0.0.1:PORT`, …). */
  listen(): Promise<GatewayAddress[]>;
  /** Addresses of the listeners (after `listen`). */
  addresses(): GatewayAddress[];
  /**
   * Go's Shutdown for the gateway: stops accepting, closes idle connections, lets
   * in-flight requests finish (up to `timeout`), half-closes taken-over streams and cuts
   * them after `grace`, closes the upstream pool. Idempotent.
   */
  close(options?: GatewayCloseOptions): Promise<void>;
  /** The request handler, to mount on a server of your own (after `enableHijack`). */
  handle(req: IncomingMessage, res: ServerResponse): void;
}

function endpointUpstream(e: Endpoint | string | undefined): {
  target: UpstreamTarget;
  tls?: UpstreamTlsOptions;
  endpoint: Endpoint;
} {
  if (e === undefined || typeof e === 'string') {
    const target = parseUpstream(e ?? DEFAULT_UPSTREAM);
    const endpoint: Endpoint =
      target.kind === 'unix'
        ? { kind: 'unix', path: target.path }
        : { kind: target.kind, host: target.host, port: target.port };
    return { target, endpoint };
  }
  if (e.kind === 'unix')
    return { target: { kind: 'unix', path: e.path, url: `unix://${e.path}` }, endpoint: e };
  const hostPart = net.isIPv6(e.host) ? `[${e.host}]` : e.host;
  if (e.kind === 'tcp')
    return {
      target: { kind: 'tcp', host: e.host, port: e.port, url: `tcp://${hostPart}:${e.port}` },
      endpoint: e,
    };
  const tls: UpstreamTlsOptions = {};
  if (e.ca) tls.ca = readFileSync(e.ca);
  if (e.cert) tls.cert = readFileSync(e.cert);
  if (e.key) tls.key = readFileSync(e.key);
  if (e.servername) tls.servername = e.servername;
  return {
    target: { kind: 'tls', host: e.host, port: e.port, url: `tls://${hostPart}:${e.port}` },
    tls,
    endpoint: e,
  };
}

/**
 * Creates a gateway from options (nothing listens until `listen()`).
 *
 * ```ts
 * const gw = createGateway({
 *   listen: [{ kind: 'tcp', host: '127.0.0.1', port: 2375 }],
 *   upstream: 'unix:///var/run/docker.sock',
 *   policy: { rules: [parseRule('GET,HEAD /_ping', 'allow', 'app'), parseRule('GET /containers/json', 'allow', 'app')] },
 * });
 * gw.on('request', (e) => console.log(e.method, e.url, e.status));
 * await gw.listen();
 * ```
 */
export function createGateway(input: CreateGatewayOptions = {}): Gateway {
  const up = endpointUpstream(input.upstream);
  const timeouts: GatewayTimeouts = { ...DEFAULT_TIMEOUTS, ...input.timeouts };
  const options: GatewayOptions = {
    listen: input.listen ?? [],
    upstream: up.endpoint,
    policy: { rules: [], blocks: [], ...input.policy },
    auth: { ...openAuth(), ...input.auth },
    timeouts,
    forwardProxy: { enabled: false, connectAllow: [], ...input.forwardProxy },
    logLevel: 'info',
  };
  for (const [k, v] of Object.entries(timeouts)) {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
      throw new HijackError(
        'ERR_CONFIG',
        `timeouts.${k} must be a number of milliseconds ≥ 0 (0 = off), got ${String(v)}`,
      );
    }
  }
  const policy: Policy = compilePolicy(options.policy);
  const auth = createAuthenticator(options.auth);
  const maxHeaderSize = input.maxHeaderSize ?? 16 * 1024;
  const maxHeadersCount = input.maxHeadersCount ?? 100;
  const shutdownGrace = input.shutdownGrace ?? 5000;
  const rawStreamPaths = input.rawStreamPaths ?? DOCKER_RAW_STREAM_PATHS;
  const pool: Pool = createUpstreamPool(up.target, {
    connections: input.upstreamConnections ?? 64,
    connectTimeout: timeouts.connect,
    keepAliveTimeout: 4000,
    ...(up.tls ? { tls: up.tls } : {}),
  });

  const emitter = new EventEmitter<GatewayEvents>();
  const servers: (http.Server | https.Server)[] = [];
  const trackers: ReturnType<typeof trackConnections>[] = [];
  const live = new Set<LiveTakeover>();
  const facts = new WeakMap<net.Socket, Promise<ConnectionFacts>>();
  let requestSeq = 0;
  let closing: Promise<void> | undefined;
  let addresses: GatewayAddress[] = [];

  const trackerFor = (req: IncomingMessage): TrackerLike | undefined => {
    const server = (req.socket as unknown as { server?: unknown })?.server;
    const i = servers.indexOf(server as http.Server);
    return (trackers[i >= 0 ? i : 0] as unknown as TrackerLike | undefined) ?? undefined;
  };
  const connIdOf = (req: IncomingMessage) => {
    try {
      return trackerFor(req)?.of(req)?.id;
    } catch {
      return undefined;
    }
  };
  const factsOf = (socket: net.Socket): Promise<ConnectionFacts> => {
    let p = facts.get(socket);
    if (!p) {
      p = Promise.resolve().then(() => connectionFacts(socket));
      facts.set(socket, p);
    }
    return p;
  };

  const endOf = (r: SpliceResult, t: LiveTakeover): TakeoverEnd => {
    if (t.shutdown) return 'shutdown';
    switch (r.end) {
      case 'eof':
        return 'half-close';
      case 'timeout':
        return 'idle-timeout';
      case 'aborted':
        return 'shutdown';
      case 'closed':
        return 'closed';
      default:
        return 'error';
    }
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const ev: GatewayRequestEvent = {
      id: ++requestSeq,
      connId: connIdOf(req),
      method: req.method ?? '',
      url: req.url ?? '',
      decision: 'deny',
      status: 0,
      durations: { total: 0 },
      bytes: { in: 0, out: 0 },
    };
    const done = () => {
      ev.durations.total = performance.now() - started;
      emitter.emit('request', ev);
    };
    const refuse = (d: DenyDecision) => {
      ev.reason = d.reason;
      ev.status = d.status;
      if (d.rule) ev.rule = `${d.rule.effect} ${d.rule.text}`;
      if (d.path) ev.path = d.path;
      // A refused takeover or CONNECT never gets its connection back: close it.
      const close = req.method === 'CONNECT' || upgradeType(req.rawHeaders) !== undefined;
      replyError(res, d.status, d.message, d.headers, close);
      done();
    };

    if (closing) {
      ev.status = 503;
      replyError(res, 503, 'hijack gateway: shutting down; retry on another instance', {}, true);
      return done();
    }
    // Limits Node's parser lets through: a major version other than 1 (it parses
    // `HTTP/2.0` lines), more fields than we accept (Node drops the excess silently).
    if (req.httpVersionMajor !== 1) {
      return refuse(
        deny(400, 'bad-framing', `HTTP/${req.httpVersion} is not supported; speak HTTP/1.1`),
      );
    }
    if (req.rawHeaders.length / 2 > maxHeadersCount) {
      ev.status = 431;
      replyError(res, 431, `hijack gateway: more than ${maxHeadersCount} header fields`, {}, true);
      return done();
    }
    let identity: ClientIdentity;
    try {
      const f = await factsOf(req.socket);
      const refusedConn = auth.checkConnection(f);
      if (refusedConn) return refuse(refusedConn);
      const framing = checkFraming(req as IncomingMessage & { method: string });
      if (framing) return refuse(framing);
      // Node keeps only the first of repeated Authorization fields; refuse the ambiguity.
      if (countField(req.rawHeaders, 'authorization') > 1) {
        return refuse(
          deny(401, 'unauthenticated', 'send exactly one Authorization header', {
            headers: { 'WWW-Authenticate': 'Bearer' },
          }),
        );
      }
      const who = auth.identify(f, req.headers);
      if ('action' in who) return refuse(who);
      identity = who;
      ev.identity = identity;
    } catch (err) {
      ev.status = 500;
      ev.error = errorInfo(err);
      replyError(
        res,
        500,
        `hijack gateway: cannot identify the client: ${(err as Error).message}`,
        {},
        true,
      );
      return done();
    }

    const isConnect = req.method === 'CONNECT';
    const decision: PolicyDecision = isConnect
      ? policy.decideConnect(req.url ?? '', options.forwardProxy)
      : policy.decide(
          { method: req.method ?? '', url: req.url ?? '', httpVersion: req.httpVersion },
          identity,
        );
    if (decision.action === 'deny') return refuse(decision);
    ev.decision = 'allow';
    ev.path = decision.path;
    ev.target = decision.target;
    ev.rule = `${decision.rule.effect} ${decision.rule.text}`;
    const forwardedFor =
      input.forwardedFor && req.socket.remoteAddress ? req.socket.remoteAddress : undefined;

    const upgrade = isConnect ? undefined : upgradeType(req.rawHeaders);
    const rawCandidate =
      !isConnect && !upgrade && req.method === 'POST' && rawStreamPaths.test(decision.path);
    if (!isConnect && !upgrade && !rawCandidate) {
      const out = await forwardRequest(req, res, {
        pool,
        upstream: up.target,
        target: decision.target,
        headTimeout: timeouts.head,
        streamTimeout: timeouts.stream,
        ...(forwardedFor ? { forwardedFor } : {}),
      });
      ev.status = out.status;
      ev.bytes = { in: out.bytesIn, out: out.bytesOut };
      if (out.headMs !== undefined) ev.durations.head = out.headMs;
      if (out.error) ev.error = errorInfo(out.error);
      return done();
    }

    // A takeover (or a tunnel): carried up to the switch here, then spliced by carry(),
    // so nothing of the request (req, res, this frame) stays alive with the stream.
    const out: {
      status: number;
      switched?: Switched;
      error?: Error;
      bytesUp?: number;
      bytesDown?: number;
      headMs?: number;
    } = isConnect
      ? await forwardConnect(req, res, { connectTimeout: timeouts.connect })
      : await forwardTakeover({
          req,
          res,
          target: decision.target,
          upgrade,
          upstream: up.target,
          ...(up.tls ? { upstreamTls: up.tls } : {}),
          connectTimeout: timeouts.connect,
          headTimeout: timeouts.head,
          streamTimeout: timeouts.stream,
          maxHeaderSize,
          ...(forwardedFor ? { forwardedFor } : {}),
        });
    const bytesUp = out.bytesUp ?? 0;
    ev.status = out.status;
    if (out.headMs !== undefined) ev.durations.head = out.headMs;
    if (!out.switched) {
      ev.bytes = { in: bytesUp, out: out.bytesDown ?? 0 };
      if (out.error) ev.error = errorInfo(out.error);
      return done();
    }
    const event: GatewayTakeoverEvent = {
      requestId: ev.id,
      connId: ev.connId,
      kind: isConnect ? 'connect' : upgrade ? 'upgrade' : 'raw-stream',
      protocol: isConnect ? decision.target : (upgrade ?? 'raw-stream'),
      method: ev.method,
      path: decision.path,
      identity,
    };
    // The answer head went out: the request part is over.
    ev.durations.head ??= performance.now() - started;
    ev.takeover = event.kind === 'upgrade' ? event.protocol : event.kind;
    done();
    carry(event, out.switched, bytesUp);
  }

  /** Splices a switched connection and reports its end; holds only what the report needs. */
  const carry = (event: GatewayTakeoverEvent, sw: Switched, bytesUp: number): void => {
    const tk: LiveTakeover = { event, sockets: [sw.client, sw.upstream], shutdown: false };
    facts.delete(sw.client);
    live.add(tk);
    const start = performance.now();
    emitter.emit('takeoverStart', { ...event });
    splice(sw.client, sw.upstream, {
      idleTimeout: timeouts.stream,
      headAToB: sw.headAToB,
      headBToA: sw.headBToA,
    }).then((s) => {
      live.delete(tk);
      const end = endOf(s, tk);
      const report: GatewayTakeoverEvent = {
        ...tk.event,
        bytes: { up: s.aToB + bytesUp, down: s.bToA },
        duration: performance.now() - start,
        end,
      };
      if (s.error && end !== 'shutdown') report.error = errorInfo(s.error);
      emitter.emit('takeover', report);
    });
    if (closing) windDown(tk);
  };

  /** Shutdown of one takeover: half-close both ways now, cut after the grace period. */
  const windDown = (tk: LiveTakeover, grace = shutdownGrace) => {
    if (tk.shutdown) return;
    tk.shutdown = true;
    for (const s of tk.sockets) if (!s.destroyed && !s.writableEnded) s.end();
    const timer = setTimeout(cut, grace, tk);
    timer.unref();
  };

  const handler = (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch((err: unknown) => {
      // Last resort: a bug must not take the gateway down.
      replyError(
        res,
        500,
        `hijack gateway: internal error: ${(err as Error)?.message ?? String(err)}`,
        {},
        true,
      );
      if (!res.headersSent) res.destroy();
    });
  };

  const onClientError = (err: NodeJS.ErrnoException, socket: net.Socket) => {
    const code = err.code ?? 'ERR_UNKNOWN';
    let status = 0;
    // A connection that never sent a byte gets no answer, only a close (Go does the same).
    if (
      socket.bytesRead > 0 &&
      socket.writable &&
      !(socket as unknown as { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent
    ) {
      status =
        code === 'HPE_HEADER_OVERFLOW' ? 431 : code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
      socket.end(rawErrorResponse(status, `hijack gateway: ${http.STATUS_CODES[status]}`));
    }
    socket.destroySoon?.();
    setTimeout(() => socket.destroy(), 1000).unref();
    let connId: number | string | undefined;
    for (const t of trackers) {
      try {
        connId ??= (t as unknown as TrackerLike).of(socket)?.id;
      } catch {
        /* not this listener's */
      }
    }
    emitter.emit('clientError', { connId, code, status });
  };

  const makeServer = (e: Endpoint): http.Server | https.Server => {
    const common = {
      maxHeaderSize,
      requestTimeout: 0,
      headersTimeout: timeouts.head,
      keepAliveTimeout: timeouts.idle,
      // Node enforces headersTimeout only when it sweeps its connections (default every
      // 30 s): sweep often enough for the head timeout to mean what it says.
      connectionsCheckingInterval:
        timeouts.head > 0 ? Math.min(30_000, Math.max(250, Math.floor(timeouts.head / 4))) : 30_000,
    };
    let server: http.Server | https.Server;
    if (e.kind === 'tls') {
      if (!e.cert || !e.key)
        throw new HijackError('ERR_CONFIG', 'a TLS listener needs cert and key files (PEM paths)');
      server = https.createServer({
        ...common,
        cert: readFileSync(e.cert),
        key: readFileSync(e.key),
        ...(e.ca ? { ca: readFileSync(e.ca), requestCert: true, rejectUnauthorized: false } : {}),
      });
    } else {
      server = http.createServer(common);
    }
    if (timeouts.head === 0) server.headersTimeout = 0;
    server.timeout = 0;
    server.maxHeadersCount = maxHeadersCount + 1;
    enableHijack(server);
    server.on('request', handler);
    server.on('clientError', onClientError);
    return server;
  };

  const listenOne = (server: http.Server | https.Server, e: Endpoint): Promise<GatewayAddress> =>
    new Promise((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException) =>
        reject(
          new HijackError(
            'ERR_CONFIG',
            `cannot listen on ${describe(e)}: ${err.code ?? err.message}`,
            { cause: err },
          ),
        );
      server.once('error', onError);
      const ready = () => {
        server.removeListener('error', onError);
        if (e.kind === 'unix') {
          try {
            if (e.mode !== undefined) chmodSync(e.path, e.mode);
            if (e.uid !== undefined || e.gid !== undefined)
              chownSync(e.path, e.uid ?? -1, e.gid ?? -1);
          } catch (err) {
            server.close();
            reject(
              new HijackError(
                'ERR_CONFIG',
                `cannot set mode/owner of ${e.path}: ${(err as Error).message}`,
                { cause: err },
              ),
            );
            return;
          }
          resolve({ kind: 'unix', url: `unix://${e.path}`, path: e.path });
        } else {
          const a = server.address() as net.AddressInfo;
          const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
          resolve({
            kind: e.kind,
            url: `${e.kind}://${host}:${a.port}`,
            host: a.address,
            port: a.port,
          });
        }
      };
      if (e.kind === 'unix') {
        removeStaleSocket(e.path).then(
          () => server.listen(e.path, ready),
          (err: Error) => onError(err as NodeJS.ErrnoException),
        );
      } else server.listen({ host: e.host, port: e.port }, ready);
    });

  for (const e of options.listen) {
    const server = makeServer(e);
    servers.push(server);
    const tracker = trackConnections(server);
    (tracker as unknown as TrackerLike).onShutdown(() => {
      for (const tk of live) windDown(tk);
    });
    trackers.push(tracker);
  }

  const gateway = Object.assign(emitter, {
    options,
    servers,
    trackers,
    handle: handler,
    async listen() {
      addresses = [];
      for (let i = 0; i < servers.length; i++)
        addresses.push(await listenOne(servers[i]!, options.listen[i]!));
      emitter.emit('listening', addresses);
      return addresses;
    },
    addresses: () => addresses,
    close(o: GatewayCloseOptions = {}) {
      closing ??= (async () => {
        const timeout = o.timeout ?? 30_000;
        const grace = o.grace ?? shutdownGrace;
        for (const tk of live) windDown(tk, grace);
        await Promise.all(
          trackers.map((t) =>
            (t as unknown as TrackerLike).shutdown({ timeout }).catch(() => undefined),
          ),
        );
        // Taken-over streams: wait until they ended (bounded by the grace period).
        const deadline = Date.now() + grace + 1000;
        while (live.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
        for (const tk of live) cut(tk);
        await pool.close().catch(() => pool.destroy());
        emitter.emit('close');
      })();
      return closing;
    },
  });
  Object.defineProperty(gateway, 'tracker', { get: () => trackers[0], enumerable: true });
  Object.defineProperty(gateway, 'takeovers', { get: () => live.size, enumerable: true });
  return gateway as unknown as Gateway;
}

function countField(rawHeaders: string[], lower: string): number {
  let n = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) if (rawHeaders[i]!.toLowerCase() === lower) n++;
  return n;
}

function describe(e: Endpoint): string {
  return e.kind === 'unix' ? `unix://${e.path}` : `${e.kind}://${e.host}:${e.port}`;
}

/** Removes a socket file left by a dead process; refuses to touch one that accepts connections. */
async function removeStaleSocket(path: string): Promise<void> {
  let isSocket: boolean;
  try {
    isSocket = lstatSync(path).isSocket();
  } catch {
    return; // absent
  }
  if (!isSocket)
    throw Object.assign(new Error(`${path} exists and is not a socket`), { code: 'EEXIST' });
  const alive = await new Promise<boolean>((resolve) => {
    const s = net.connect({ path });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
  if (alive)
    throw Object.assign(new Error(`another process listens on ${path}`), { code: 'EADDRINUSE' });
  unlinkSync(path);
}
