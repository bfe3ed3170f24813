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
import { readFileSync } from 'node:fs';
import { dialEndpoint } from '../endpoint/endpoint.js';
import { listenEndpoint } from '../endpoint/listen.js';
import http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { Pool } from 'undici';
import { HijackError } from '../errors.js';
import { enableHijack, trackConnections } from '../server/index.js';
import { compilePolicy, deny } from './policy/index.js';
import type { Policy } from './policy/index.js';
import { connectionFacts, createAuthenticator } from './identity/index.js';
import type {
  AuthOptions,
  ConnectionFacts,
  DenyDecision,
  Endpoint,
  ForwardProxyOptions,
  GatewayLimits,
  GatewayOptions,
  GatewayTimeouts,
  PolicySpec,
} from './types.js';
import { admit } from './admit.js';
import type { AdmitContext, Admission, Admitted } from './admit.js';
import { identityKey, KeyedLimit, SlotQueue } from './forward/limits.js';
import type { Release } from './forward/limits.js';
import type { ForwardOutcome, ForwardSettings } from './forward/request.js';
import { admitBody } from './policy/body-check.js';
import { DEFAULT_MAX_JSON_BODY } from './policy/body-json.js';
import {
  checkOwnedBody,
  checkPathRefs,
  createOwnerLookup,
  type OwnerLookup,
  type PathOutcome,
} from './forward/owner-lookup.js';
import { forwardConnect } from './forward/connect.js';
import { clientEndpoint, errorInfo } from './forward/events.js';
import type {
  GatewayAddress,
  GatewayEvents,
  GatewayOpenStream,
  GatewayRequestEvent,
  GatewayTakeoverEvent,
  TakeoverEnd,
} from './forward/events.js';
import { upgradeType } from '../http1/hop-by-hop.js';
import { rawErrorResponse, replyAs, replyError } from './forward/reply.js';
import { forwardRequest } from './forward/request.js';
import { forwardTakeover } from './forward/takeover.js';
import type { Switched } from './forward/takeover.js';
import { splice, spliceBytes } from '../stream/splice.js';
import type { SpliceResult } from '../stream/splice.js';
import { createUpstreamPool, parseUpstream } from './forward/upstream.js';
import { DEFAULT_LIMITS, DEFAULT_TIMEOUTS, DEFAULT_UPSTREAM, openAuth } from './defaults.js';
import type { UpstreamTarget, UpstreamTlsOptions } from './forward/upstream.js';
import { responseOf } from '../server/internal/node-http.js';

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
  /** Resource limits; see {@link GatewayLimits} for the defaults. */
  limits?: Partial<GatewayLimits>;
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
  /**
   * Carry taken-over streams on splice's native relay where both ends are plain sockets.
   * Default true; false keeps Node's stream engine for every stream.
   */
  nativeRelay?: boolean;
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
  /** Request body bytes sent up before the switch. */
  bytesUp: number;
  /** The last live counts read (kept for the moment between the splice's end and its report). */
  last: { up: number; down: number };
  /** performance.now() at the splice start. */
  start: number;
}

/** Reads a running takeover's bytes from its splice (client = a), into `tk.last`. */
function readLive(tk: LiveTakeover): { up: number; down: number } {
  const b = spliceBytes(tk.sockets[0]!);
  if (b) tk.last = { up: b.aToB + tk.bytesUp, down: b.bToA };
  return tk.last;
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
  /**
   * Bytes carried by taken-over streams since the gateway was created, those that ended
   * and those still open (read live from their splices): `up` client → upstream, `down`
   * upstream → client, pre-splice body bytes included, heads not. Only grows.
   */
  splicedBytes(): { up: number; down: number };
  /** The taken-over streams open now, with their bytes so far (read live) and age. */
  streams(): GatewayOpenStream[];
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

/** The upstream from the options: a string (parseUpstream's forms) or an {@link Endpoint}, and its TLS files read. */
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
  const target = dialEndpoint(e);
  if (e.kind !== 'tls') return { target, endpoint: e };
  const tls: UpstreamTlsOptions = {};
  if (e.ca) tls.ca = readFileSync(e.ca);
  if (e.cert) tls.cert = readFileSync(e.cert);
  if (e.key) tls.key = readFileSync(e.key);
  if (e.servername) tls.servername = e.servername;
  return { target, tls, endpoint: e };
}

/**
 * The settings {@link admit} decides with, as a gateway with these options has them (also
 * used by `hijack policy check`, so that a dry run decides as the gateway does). Parts
 * already built (the compiled policy, the authenticator) can be passed in.
 */
export function createAdmitContext(
  options: Pick<GatewayOptions, 'policy' | 'auth' | 'forwardProxy'> & {
    limits?: Partial<GatewayLimits>;
  },
  built: Partial<Omit<AdmitContext, 'forwardProxy' | 'maxPolicyBody'>> = {},
): AdmitContext {
  return {
    policy: built.policy ?? compilePolicy(options.policy),
    auth: built.auth ?? createAuthenticator(options.auth),
    forwardProxy: options.forwardProxy,
    maxHeadersCount: built.maxHeadersCount ?? 100,
    maxBody: built.maxBody ?? options.limits?.maxBody ?? DEFAULT_LIMITS.maxBody,
    rawStreamPaths: built.rawStreamPaths ?? DOCKER_RAW_STREAM_PATHS,
    ...(options.policy.bodyLimit !== undefined ? { maxPolicyBody: options.policy.bodyLimit } : {}),
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
  const nativeRelay = input.nativeRelay ?? true;
  const limits: GatewayLimits = { ...DEFAULT_LIMITS, ...input.limits };
  for (const [k, v] of Object.entries(limits)) {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) {
      throw new HijackError(
        'ERR_CONFIG',
        `limits.${k} must be a whole number ≥ 0 (0 = off), got ${String(v)}`,
      );
    }
  }
  const upstreamConnections = input.upstreamConnections ?? 64;
  const pool: Pool = createUpstreamPool(up.target, {
    connections: upstreamConnections,
    connectTimeout: timeouts.connect,
    keepAliveTimeout: 4000,
    ...(up.tls ? { tls: up.tls } : {}),
  });
  // Streaming answers: their own connections (as many as streams may be open), never
  // the pooled ones short requests wait for.
  const streamPool: Pool = createUpstreamPool(up.target, {
    connections: limits.streams > 0 ? limits.streams : 1 << 20,
    connectTimeout: timeouts.connect,
    keepAliveTimeout: 1000,
    ...(up.tls ? { tls: up.tls } : {}),
  });
  const owners = createOwnerLookup(pool, timeouts.head);
  const slots = new SlotQueue(upstreamConnections);
  const streams = new KeyedLimit('streams', limits.streams, limits.streamsPerIdentity);
  const connections = new KeyedLimit(
    'connections',
    limits.connections,
    limits.connectionsPerIdentity,
  );
  const admitContext = createAdmitContext(options, {
    policy,
    auth,
    maxHeadersCount,
    maxBody: limits.maxBody,
    ...(input.rawStreamPaths ? { rawStreamPaths: input.rawStreamPaths } : {}),
  });

  const emitter = new EventEmitter<GatewayEvents>();
  const servers: (http.Server | https.Server)[] = [];
  const trackers: ReturnType<typeof trackConnections>[] = [];
  const live = new Set<LiveTakeover>();
  /** Bytes of the takeovers that ended. */
  const ended = { up: 0, down: 0 };
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

  async function handle(
    req: IncomingMessage,
    res: ServerResponse,
    expectContinue: boolean,
  ): Promise<void> {
    const started = performance.now();
    const ev: GatewayRequestEvent = {
      id: ++requestSeq,
      connId: connIdOf(req),
      client: clientEndpoint(req.socket),
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
    const isTakeover = () => req.method === 'CONNECT' || upgradeType(req.rawHeaders) !== undefined;
    const refuse = (d: DenyDecision) => {
      ev.reason = d.reason;
      ev.status = d.status;
      if (d.rule) ev.rule = `${d.rule.effect} ${d.rule.text}`;
      if (d.path) ev.path = d.path;
      // A refused takeover or CONNECT never gets its connection back; neither does a
      // request whose body was announced (100-continue) or is unread: close it.
      const close = isTakeover() || expectContinue || d.status === 431 || d.status === 413;
      replyError(res, d.status, d.message, d.headers, close);
      done();
    };

    if (closing) {
      return refuse(deny(503, 'busy', 'shutting down; retry on another instance'));
    }
    let admission: Admission;
    try {
      const f = await factsOf(req.socket);
      admission = admit(req, f, admitContext);
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
    if (admission.identity) ev.identity = admission.identity;
    if (admission.action === 'deny') return refuse(admission);
    const a = admission;
    const decision = a.decision;
    const identity = a.identity;
    ev.decision = 'allow';
    ev.path = decision.path;
    ev.target = decision.target;
    ev.rule = `${decision.rule.effect} ${decision.rule.text}`;
    const key = identityKey(identity);
    const connLimit = claimConnection(req.socket, key);
    if (connLimit) return refuse(deny(429, 'limit', connLimit, { path: decision.path }));
    const forwardedFor =
      input.forwardedFor && req.socket.remoteAddress ? req.socket.remoteAddress : undefined;

    // Scope owner: the objects the path names must be the client's (else dockerd's answer
    // for a missing one); the target may be pinned to the full id or get the owner filter.
    let target = decision.target;
    if (a.owner) {
      let owned: PathOutcome;
      try {
        owned = await checkPathRefs(a.owner, owners, decision.route, decision.apiVersion);
      } catch (err) {
        ev.status = 502;
        ev.error = errorInfo(err);
        replyError(res, 502, (err as Error).message, {}, true);
        return done();
      }
      if ('notFound' in owned) {
        const nf = owned.notFound;
        ev.decision = 'deny';
        ev.reason = 'not-owned';
        ev.status = nf.status;
        replyAs(res, nf.status, nf.contentType, nf.body, isTakeover() || expectContinue);
        return done();
      }
      if (owned.target !== undefined) target = owned.target;
      ev.target = target;
    }

    if (a.carry === 'ordinary' || a.carry === 'stream') {
      let release: Release;
      if (a.carry === 'stream') {
        const r = streams.take(key);
        if (typeof r === 'string') return refuse(deny(429, 'limit', r, { path: decision.path }));
        release = r;
      } else {
        const gone = new AbortController();
        const onGone = () => gone.abort();
        res.once('close', onGone);
        try {
          release = await slots.acquire(timeouts.queue, gone.signal);
        } catch (err) {
          const e = err as HijackError;
          ev.error = errorInfo(e);
          if (e.code === 'ERR_QUEUE_TIMEOUT')
            return refuse(
              deny(503, 'busy', `${e.message}; retry later`, {
                path: decision.path,
                headers: { 'Retry-After': '1' },
              }),
            );
          ev.status = 0;
          return done();
        } finally {
          res.removeListener('close', onGone);
        }
      }
      let out: ForwardOutcome;
      try {
        out = await forwardRequest(req, res, {
          pool: a.carry === 'stream' ? streamPool : pool,
          upstream: up.target,
          method: req.method ?? 'GET',
          target,
          headers: a.headers,
          framing: a.framing,
          expectContinue: a.expectContinue,
          headTimeout: timeouts.head,
          streamTimeout: timeouts.stream,
          bodyTimeout: timeouts.body,
          maxBody: limits.maxBody,
          ...(forwardedFor ? { forwardedFor } : {}),
          ...(a.body || a.owner?.body ? { checkBody: bodyCheckOf(a, owners, decision.path) } : {}),
        });
      } finally {
        release();
      }
      ev.status = out.status;
      if (out.refusal) {
        ev.decision = 'deny';
        ev.reason = out.refusal.reason;
      }
      ev.bytes = { in: out.bytesIn, out: out.bytesOut };
      if (out.headMs !== undefined) ev.durations.head = out.headMs;
      if (out.error) ev.error = errorInfo(clientFault(req.socket, out.error));
      if (ev.error?.code === 'ERR_MALFORMED_BODY' && ev.status === 0) ev.status = 400;
      return done();
    }

    // A takeover (or a tunnel): carried up to the switch here, then spliced by carry(),
    // so nothing of the request (req, res, this frame) stays alive with the stream.
    const claimed = streams.take(key);
    if (typeof claimed === 'string')
      return refuse(deny(429, 'limit', claimed, { path: decision.path }));
    const isConnect = a.carry === 'connect';
    const out: {
      status: number;
      switched?: Switched;
      error?: Error;
      bytesUp?: number;
      bytesDown?: number;
      headMs?: number;
    } = isConnect
      ? await forwardConnect(req, res, { connectTimeout: timeouts.connect, to: a.connect! })
      : await forwardTakeover({
          req,
          res,
          method: req.method ?? 'GET',
          target,
          headers: a.headers,
          framing: a.framing,
          expectContinue: a.expectContinue,
          upgrade: a.upgrade,
          upstream: up.target,
          ...(up.tls ? { upstreamTls: up.tls } : {}),
          connectTimeout: timeouts.connect,
          headTimeout: timeouts.head,
          streamTimeout: timeouts.stream,
          bodyTimeout: timeouts.body,
          maxBody: limits.maxBody,
          maxHeaderSize,
          ...(forwardedFor ? { forwardedFor } : {}),
        });
    const bytesUp = out.bytesUp ?? 0;
    ev.status = out.status;
    if (out.headMs !== undefined) ev.durations.head = out.headMs;
    if (!out.switched) {
      claimed();
      ev.bytes = { in: bytesUp, out: out.bytesDown ?? 0 };
      if (out.error) ev.error = errorInfo(out.error);
      return done();
    }
    const event: GatewayTakeoverEvent = {
      requestId: ev.id,
      connId: ev.connId,
      kind: isConnect ? 'connect' : a.upgrade ? 'upgrade' : 'raw-stream',
      protocol: isConnect ? decision.target : (a.upgrade ?? 'raw-stream'),
      method: ev.method,
      path: decision.path,
      identity,
    };
    // The answer head went out: the request part is over (its body went up already).
    ev.bytes = { in: bytesUp, out: 0 };
    ev.durations.head ??= performance.now() - started;
    ev.takeover = event.kind === 'upgrade' ? event.protocol : event.kind;
    done();
    carry(event, out.switched, bytesUp, claimed);
  }

  /** Splices a switched connection and reports its end; holds only what the report needs. */
  const carry = (
    event: GatewayTakeoverEvent,
    sw: Switched,
    bytesUp: number,
    release: Release,
  ): void => {
    const tk: LiveTakeover = {
      event,
      sockets: [sw.client, sw.upstream],
      shutdown: false,
      bytesUp,
      last: { up: bytesUp, down: 0 },
      start: performance.now(),
    };
    facts.delete(sw.client);
    live.add(tk);
    const start = tk.start;
    emitter.emit('takeoverStart', { ...event });
    splice(sw.client, sw.upstream, {
      idleTimeout: timeouts.stream,
      headAToB: sw.headAToB,
      headBToA: sw.headBToA,
      native: nativeRelay,
    }).then((s) => {
      live.delete(tk);
      release();
      const end = endOf(s, tk);
      const bytes = { up: s.aToB + bytesUp, down: s.bToA };
      ended.up += bytes.up;
      ended.down += bytes.down;
      const report: GatewayTakeoverEvent = {
        ...tk.event,
        bytes,
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

  /** The identity each client connection is counted under, and its release. */
  const connClaims = new WeakMap<net.Socket, { key: string; release: Release }>();
  const claimConnection = (socket: net.Socket, key: string): string | undefined => {
    const had = connClaims.get(socket);
    if (had?.key === key) return undefined;
    had?.release();
    const r = connections.take(key);
    if (typeof r === 'string') {
      connClaims.delete(socket);
      return r;
    }
    connClaims.set(socket, { key, release: r });
    if (!had) socket.once('close', () => connClaims.get(socket)?.release());
    return undefined;
  };
  /** Client sockets whose parser failed (a malformed head or body), with the parser's code. */
  const parseFailures = new WeakMap<net.Socket, string>();
  const clientFault = (socket: net.Socket, err: Error): Error => {
    const code = parseFailures.get(socket);
    if (code && (err as HijackError).code === 'ERR_SOCKET_CLOSED')
      return new HijackError('ERR_MALFORMED_BODY', `the request body is malformed (${code})`, {
        cause: err,
      });
    return err;
  };

  const run = (req: IncomingMessage, res: ServerResponse, expectContinue: boolean) => {
    handle(req, res, expectContinue).catch((err: unknown) => {
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
  const handler = (req: IncomingMessage, res: ServerResponse) => run(req, res, false);
  // Expect: 100-continue is answered after admission, never before.
  const onCheckContinue = (req: IncomingMessage, res: ServerResponse) => run(req, res, true);

  const onClientError = (err: NodeJS.ErrnoException, socket: net.Socket) => {
    const code = err.code ?? 'ERR_UNKNOWN';
    if (code.startsWith('HPE_')) parseFailures.set(socket, code);
    let status = 0;
    // A connection that never sent a byte gets no answer, only a close (Go does the same).
    if (socket.bytesRead > 0 && socket.writable && !responseOf(socket)?.headersSent) {
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
    emitter.emit('clientError', { connId, client: clientEndpoint(socket), code, status });
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
    server.maxConnections = limits.connections > 0 ? limits.connections : Infinity;
    server.on('request', handler);
    server.on('checkContinue', onCheckContinue);
    server.on('clientError', onClientError);
    return server;
  };

  const listenOne = (server: http.Server | https.Server, e: Endpoint): Promise<GatewayAddress> =>
    listenEndpoint(server, e);

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
        // A pool's close() waits for its requests; one still stuck after the shutdown
        // timeout (a body that never ends) is destroyed instead.
        const shut = (p: Pool) =>
          Promise.race([
            p.close(),
            new Promise((_, reject) => setTimeout(reject, 1000).unref()),
          ]).catch(() => p.destroy());
        await Promise.all([shut(pool), shut(streamPool)]);
        emitter.emit('close');
      })();
      return closing;
    },
  });
  Object.defineProperty(gateway, 'tracker', { get: () => trackers[0], enumerable: true });
  Object.defineProperty(gateway, 'takeovers', { get: () => live.size, enumerable: true });
  Object.defineProperty(gateway, 'splicedBytes', {
    value: () => {
      let { up, down } = ended;
      for (const tk of live) {
        const b = readLive(tk);
        up += b.up;
        down += b.down;
      }
      return { up, down };
    },
    enumerable: true,
  });
  Object.defineProperty(gateway, 'streams', {
    value: (): GatewayOpenStream[] => {
      const now = performance.now();
      return [...live].map((tk) => ({
        ...tk.event,
        bytes: { ...readLive(tk) },
        duration: now - tk.start,
      }));
    },
    enumerable: true,
  });
  return gateway as unknown as Gateway;
}

/**
 * The forwarder's body check for an admitted request whose body is read whole: the body
 * rules ({@link admitBody}), then scope owner's step (the owner label, the objects named).
 */
function bodyCheckOf(
  a: Admitted,
  owners: OwnerLookup,
  path: string,
): NonNullable<ForwardSettings['checkBody']> {
  const rules = a.body;
  const owner = a.owner?.body ? a.owner : undefined;
  return {
    limit: a.bodyLimit ?? rules?.limit ?? DEFAULT_MAX_JSON_BODY,
    check: (body) => {
      const refusal = rules ? admitBody(rules, body, path) : undefined;
      if (refusal || !owner) return refusal;
      return checkOwnedBody(owner, body, owners, path);
    },
  };
}
