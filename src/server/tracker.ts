/**
 * trackConnections(server): Go's ConnState, ConnContext, Shutdown and RegisterOnShutdown.
 */
import dc from 'node:diagnostics_channel';
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import { HijackError } from '../errors.js';
import { peerCred, tcpInfo, type PeerCred, type TcpInfo } from '../socket/index.js';
import { onHijacked } from './conn-hooks.js';
import {
  checkNodeInternals,
  onIncomingOf,
  parserOf,
  parsersInFlight,
  rawSocketOf,
  responseOf,
  setOnIncoming,
  stopAccepting,
  type NodeParser,
  type OnIncoming,
} from './internal/node-http.js';

/**
 * A connection's state, with Go's meanings: `new` accepted, a request expected; `active`
 * a request head was read and the request is being handled (or bytes of a request arrived
 * before the connection ended); `idle` kept alive between requests;
 * `hijacked` taken over (terminal, never followed by `closed`); `closed` (terminal).
 */
export type ConnState = 'new' | 'active' | 'idle' | 'hijacked' | 'closed';

/** How the client reached the server. */
export type Transport = 'tcp' | 'tls' | 'unix';

/** Options of {@link trackConnections}. */
export interface TrackOptions<C = unknown> {
  /** Called once per connection right after accept, before `new`; its result is `conn.context`. */
  connContext?: (socket: Socket) => C;
  /** Called synchronously, exactly once per transition. */
  onState?: (conn: Conn<C>, state: ConnState, previous: ConnState | null) => void;
}

/** Options of {@link ConnectionTracker.shutdown}. */
export interface ShutdownOptions {
  /** Milliseconds to wait for active connections; then the rest are destroyed and it rejects. */
  timeout?: number;
  /** Aborting it destroys the remaining connections and rejects with ERR_SHUTDOWN_ABORTED. */
  signal?: AbortSignal;
  /** A `new` connection older than this many ms counts as idle (Go: 5 s). Default 5000. */
  newConnGrace?: number;
}

const NEW = 0;
const ACTIVE = 1;
const IDLE = 2;

/** Index of a state in the tracker's counts: compares interned strings, no keyed lookup. */
function stateIndex(state: ConnState): number {
  switch (state) {
    case 'new':
      return NEW;
    case 'active':
      return ACTIVE;
    case 'idle':
      return IDLE;
    case 'hijacked':
      return 3;
    default:
      return 4;
  }
}

let nextId = 1;
const kConn = Symbol('hijack.conn');

/** One tracked connection. */
export class Conn<C = unknown> {
  /** Unique in this process, also for unix sockets (whose remote address is empty). */
  readonly id: number = nextId++;
  /** The current state. */
  state: ConnState = 'new';
  /** The connection's socket: the TLS socket once the handshake is done on https. */
  socket: Socket;
  /** 'tcp', 'tls' or 'unix'. */
  readonly transport: Transport;
  /** What `connContext` returned for it. */
  context: C = undefined as C;
  /** Requests started on it so far. */
  requests = 0;
  /** When it was accepted (ms since the epoch). */
  readonly createdAt = Date.now();
  /** When it last changed state (ms since the epoch). */
  stateAt = this.createdAt;
  /** Local address (the socket path for unix). */
  readonly localAddress: string | undefined;
  readonly localPort: number | undefined;
  /** Remote address; undefined for unix sockets. */
  readonly remoteAddress: string | undefined;
  readonly remotePort: number | undefined;
  /** @internal messages whose head parsing began, and responses finished */
  begun = 0;
  /** @internal */
  finished = 0;
  /** @internal bytes read when the last response finished: more means a request began */
  readMark = 0;
  /** @internal the parser's onIncoming that the tracker's hook passes each request on to */
  nextOnIncoming: OnIncoming | null = null;

  /** @internal the tracker that follows it */
  readonly _tracker: ConnectionTracker<C>;

  /** @internal */
  constructor(
    tracker: ConnectionTracker<C>,
    socket: Socket,
    transport: Transport,
    localPath: string | undefined,
  ) {
    this._tracker = tracker;
    this.socket = socket;
    this.transport = transport;
    this.localAddress = localPath ?? socket.localAddress;
    this.localPort = localPath ? undefined : socket.localPort;
    this.remoteAddress = socket.remoteAddress;
    this.remotePort = socket.remotePort;
  }

  /** Milliseconds since accept. */
  get age(): number {
    return Date.now() - this.createdAt;
  }

  /** The kernel's `struct tcp_info` for this connection (see {@link tcpInfo}); throws ERR_NOT_TCP on unix sockets. */
  tcpInfo(): TcpInfo {
    return tcpInfo(this.socket);
  }

  /** The peer process of a unix-socket connection (see {@link peerCred}); throws ERR_NOT_UNIX on TCP. */
  peerCred(): PeerCred {
    return peerCred(this.socket);
  }
}

interface ServerLike {
  on(event: string, fn: (...args: any[]) => void): unknown;
  removeListener(event: string, fn: (...args: any[]) => void): unknown;
  address(): unknown;
  listening: boolean;
}

const trackers = new WeakMap<object, ConnectionTracker<any>>();
let channelsOn = false;

function connOf(socket: unknown): Conn<any> | undefined {
  return socket ? (socket as Record<symbol, Conn<any> | undefined>)[kConn] : undefined;
}

// Per-connection hooks are these shared functions, not closures: a connection costs its
// Conn and nothing more (the state is reached from the socket or the parser).

/** A socket was taken over (conn-hooks). */
function connHijacked(socket: Socket): void {
  const conn = connOf(socket);
  if (!conn) return;
  // Node's onIncoming is bound to the connection's HTTP state (its request and response):
  // a taken-over connection must not keep them alive.
  conn.nextOnIncoming = null;
  conn._tracker._set(conn, 'hijacked');
}

/** 'close' of an accepted socket. */
function connClosed(this: Socket): void {
  const conn = connOf(this);
  conn?._tracker._gone(conn);
}

/**
 * The parser's onIncoming (a request head was parsed), called with the parser as `this`:
 * the connection turns active, then the request goes on to Node (or to enableHijack's gate).
 * A JS-to-JS call Node makes anyway, where a message-begin hook would cost a call from C++
 * per request.
 */
function connOnIncoming(this: NodeParser, req: unknown, keepAlive: boolean): number {
  const conn = connOf(this.socket);
  if (!conn) return 0;
  // During shutdown the answer says Connection: close (Go turns keep-alive off).
  const keep = conn._tracker._begin(conn) && keepAlive;
  return conn.nextOnIncoming!.call(this, req, keep);
}

function subscribeChannels(): void {
  if (channelsOn) return;
  channelsOn = true;
  dc.subscribe('http.server.response.finish', (m) => {
    const { socket, server } = m as { socket: Socket; server: object };
    const t = trackers.get(server);
    const conn = connOf(socket);
    if (t && conn) t._finished(conn);
  });
}

/**
 * Follows every connection of `server` through Go's states; see {@link ConnectionTracker}.
 * Works on http and https servers (TCP or unix listeners), alone or with enableHijack().
 */
export function trackConnections<C = unknown>(
  server: HttpServer | HttpsServer,
  options: TrackOptions<C> = {},
): ConnectionTracker<C> {
  if (!server || typeof server.on !== 'function') {
    throw new HijackError(
      'ERR_INVALID_ARGUMENT',
      'trackConnections(server) takes an http.Server or https.Server',
    );
  }
  if (trackers.has(server)) {
    throw new HijackError(
      'ERR_INVALID_ARGUMENT',
      'trackConnections(): this server is already tracked; keep the first tracker',
    );
  }
  checkNodeInternals();
  const t = new ConnectionTracker<C>(server as unknown as ServerLike, options);
  trackers.set(server, t);
  subscribeChannels();
  return t;
}

/** The connections of one server, by state; Go's Shutdown. */
export class ConnectionTracker<C = unknown> implements Iterable<Conn<C>> {
  private readonly conns = new Set<Conn<C>>();
  /** Connections per state, indexed by {@link stateIndex} (a keyed object lookup per transition costs more). */
  private readonly counts = [0, 0, 0, 0, 0];
  private readonly hooks: (() => void)[] = [];
  private shutdownPromise: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  /** True once shutdown() was called. */
  shuttingDown = false;

  /** @internal */
  constructor(
    private readonly server: ServerLike,
    private readonly options: TrackOptions<C>,
  ) {
    const tls = typeof (server as unknown as HttpsServer).addContext === 'function';
    server.on('connection', (socket: Socket) => this.accept(socket, tls ? 'tls' : null));
    if (tls) server.on('secureConnection', (socket: Socket) => this.secured(socket));
  }

  /** The connection of a request or socket, in O(1); undefined once it is gone. */
  of(x: IncomingMessage | Socket): Conn<C> | undefined {
    const socket =
      (x as IncomingMessage).socket !== undefined && !(x as Socket).setNoDelay
        ? (x as IncomingMessage).socket
        : x;
    const conn = connOf(socket);
    return conn && this.conns.has(conn) ? conn : undefined;
  }

  /** Every live connection (hijacked ones included until their socket closes). */
  [Symbol.iterator](): Iterator<Conn<C>> {
    return this.conns.values();
  }

  /** How many live connections are in `state`, or in all states. */
  count(state?: ConnState): number {
    return state ? this.counts[stateIndex(state)]! : this.conns.size;
  }

  /** Live connections, hijacked ones included. */
  get size(): number {
    return this.conns.size;
  }

  /** Runs `fn` when shutdown() starts (Go's RegisterOnShutdown): wind hijacked streams down there. */
  onShutdown(fn: () => void): void {
    if (typeof fn !== 'function')
      throw new HijackError('ERR_INVALID_ARGUMENT', 'onShutdown(fn) takes a function');
    this.hooks.push(fn);
  }

  private accept(socket: Socket, tls: 'tls' | null): void {
    const addr = this.server.address();
    const unix = typeof addr === 'string';
    const conn = new Conn<C>(
      this,
      socket,
      tls ?? (unix ? 'unix' : 'tcp'),
      unix ? (addr as string) : undefined,
    );
    (socket as unknown as Record<symbol, Conn<C>>)[kConn] = conn;
    if (this.options.connContext) conn.context = this.options.connContext(socket);
    this.conns.add(conn);
    this.counts[NEW]!++;
    this.options.onState?.(conn, 'new', null);
    onHijacked(socket, connHijacked);
    socket.on('close', connClosed);
    if (!tls) this.watch(conn, socket);
  }

  private secured(socket: Socket): void {
    const conn = connOf(rawSocketOf(socket));
    if (!conn) return;
    conn.socket = socket;
    (socket as unknown as Record<symbol, Conn<C>>)[kConn] = conn;
    onHijacked(socket, connHijacked);
    this.watch(conn, socket);
  }

  /** Hooks the parser's onIncoming: a request head makes the connection active (Go). */
  private watch(conn: Conn<C>, socket: Socket): void {
    const parser = parserOf(socket);
    const next = parser && onIncomingOf(parser);
    if (!next || next === connOnIncoming) return;
    conn.nextOnIncoming = next;
    setOnIncoming(parser, connOnIncoming);
  }

  /** @internal a request head was read on `conn`; false: answer it with keep-alive off */
  _begin(conn: Conn<C>): boolean {
    conn.begun++;
    conn.requests++;
    if (conn.state === 'new' || conn.state === 'idle') this._set(conn, 'active');
    return !this.shuttingDown;
  }

  /** Marks the response in progress on `conn` (if its head is not out yet) Connection: close. */
  private closeAfterResponse(conn: Conn<C>): void {
    const res = responseOf(conn.socket);
    if (res && !res.headersSent) res.shouldKeepAlive = false;
  }

  /** @internal a response of `conn` finished */
  _finished(conn: Conn<C>): void {
    conn.finished++;
    conn.readMark = conn.socket.bytesRead;
    if (conn.state !== 'active' || conn.finished < conn.begun) return;
    this._set(conn, 'idle');
    if (this.shuttingDown) conn.socket.destroy();
  }

  /** @internal */
  _set(conn: Conn<C>, state: ConnState): void {
    const prev = conn.state;
    if (prev === state || prev === 'hijacked' || prev === 'closed') return;
    this.counts[stateIndex(prev)]!--;
    this.counts[stateIndex(state)]!++;
    conn.state = state;
    conn.stateAt = Date.now();
    this.options.onState?.(conn, state, prev);
    if (state === 'hijacked') this.wake?.();
  }

  /** @internal the connection's socket closed */
  _gone(conn: Conn<C>): void {
    if (!this.conns.has(conn)) return;
    // Go turns a connection active once it read bytes of a request, even one that ended in
    // an error or a close before its head was complete.
    if ((conn.state === 'new' || conn.state === 'idle') && this.begunUnseen(conn)) {
      this._set(conn, 'active');
    }
    if (conn.state !== 'hijacked') this._set(conn, 'closed');
    this.counts[stateIndex(conn.state)]!--;
    this.conns.delete(conn);
    this.wake?.();
  }

  /**
   * Bytes of a request arrived on `conn` since its last response (or since accept) whose
   * head was not parsed yet. A TLS connection counts its decrypted bytes only.
   */
  private begunUnseen(conn: Conn<C>): boolean {
    const s = conn.socket as Socket & { encrypted?: boolean };
    if (conn.transport === 'tls' && s.encrypted !== true) return false;
    return s.bytesRead > conn.readMark;
  }

  /** Connections shutdown() still waits for: neither hijacked nor closed. */
  private waiting(): number {
    return this.counts[NEW]! + this.counts[ACTIVE]! + this.counts[IDLE]!;
  }

  /**
   * Go's Server.Shutdown: runs the onShutdown hooks, stops accepting, closes idle
   * connections now, closes active ones as soon as their response ends, and never closes
   * or waits for hijacked ones. Resolves when no other connection is left. At `timeout` or
   * when `signal` aborts, the rest are destroyed and it rejects with ERR_SHUTDOWN_TIMEOUT or
   * ERR_SHUTDOWN_ABORTED. Calling it again returns the same promise.
   */
  shutdown(options: ShutdownOptions = {}): Promise<void> {
    this.shutdownPromise ??= this.runShutdown(options);
    return this.shutdownPromise;
  }

  private async runShutdown({
    timeout,
    signal,
    newConnGrace = 5000,
  }: ShutdownOptions): Promise<void> {
    this.shuttingDown = true;
    for (const fn of this.hooks) {
      try {
        fn();
      } catch (err) {
        queueMicrotask(() => {
          throw err;
        });
      }
    }
    const closed = new Promise<void>((resolve) => {
      if (!this.server.listening) return resolve();
      stopAccepting(this.server, resolve);
    });
    // An idle connection on which a request already began (Node's parser is inside its
    // head) is kept: it turns active and is closed after its response, like any other.
    const parsing = parsersInFlight(this.server);
    for (const conn of this.conns) {
      if (conn.state === 'idle') {
        if (!parsing.has(parserOf(conn.socket))) conn.socket.destroy();
      } else if (conn.state === 'active') this.closeAfterResponse(conn);
    }
    let failure: HijackError | null = null;
    const timers: NodeJS.Timeout[] = [];
    const stop = (err: HijackError) => {
      failure ??= err;
      for (const conn of this.conns) if (conn.state !== 'hijacked') conn.socket.destroy();
      this.wake?.();
    };
    if (timeout !== undefined && timeout >= 0) {
      timers.push(
        setTimeout(
          () =>
            stop(
              new HijackError(
                'ERR_SHUTDOWN_TIMEOUT',
                `shutdown: connections still active after ${timeout} ms were destroyed`,
              ),
            ),
          timeout,
        ),
      );
    }
    const onAbort = () =>
      stop(
        new HijackError(
          'ERR_SHUTDOWN_ABORTED',
          'shutdown aborted through its signal: the remaining connections were destroyed',
        ),
      );
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
    // Go treats a connection that stayed 'new' past a grace period as idle.
    const sweep = setInterval(
      () => {
        for (const conn of this.conns)
          if (conn.state === 'new' && conn.age >= newConnGrace) conn.socket.destroy();
      },
      Math.min(500, Math.max(10, newConnGrace / 4)),
    );
    sweep.unref();
    timers.push(sweep);
    try {
      while (this.waiting() > 0) {
        await new Promise<void>((resolve) => (this.wake = resolve));
      }
      this.wake = null;
      await closed;
    } finally {
      for (const t of timers) clearTimeout(t);
      signal?.removeEventListener('abort', onAbort);
    }
    if (failure) throw failure;
  }
}
