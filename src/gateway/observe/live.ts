/**
 * The live connections model: every connection of a gateway with its state, identity,
 * route, age, bytes and kernel facts, plus a short rtt/throughput trend, sampled on an
 * interval. Feeds the live page (server-sent events) and `/connections.json`.
 *
 * @module
 */
import dc from 'node:diagnostics_channel';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { ConnState } from '../../server/tracker.js';
import type { GatewayRequestEvent, GatewayTakeoverEvent } from '../forward/events.js';
import type { Gateway } from '../server.js';
import { identityLabel, identityView, type IdentityView } from './identity.js';
import { socketBytes, spliceBytes } from '../../stream/splice.js';
import { createNameResolver } from './names.js';
import { tcpFacts, type TcpFacts } from './tcp.js';

/** One live connection as the page and `/connections.json` show it. */
export interface LiveConnection {
  /** The tracker's connection id. */
  id: number;
  state: ConnState;
  transport: 'tcp' | 'tls' | 'unix';
  /** The listener it came in on (`tcp://127.0.0.1:2375`). */
  listener: string;
  /** `host:port` of the client, or `unix` (with the peer's uid in `identity`). */
  remote: string;
  /** Accepted at (ms since the epoch), and milliseconds since. */
  since: number;
  age: number;
  /** Requests started on it. */
  requests: number;
  /** Who the client is (after its first identified request). */
  identity?: IdentityView;
  /** A short label of `identity`: `token app`, `uid 1000`, or the address. */
  who: string;
  /**
   * The request in flight (`pending`: raw target, no decision yet) or the last one answered
   * (folded path, rule, decision, status).
   */
  route?: {
    method: string;
    path: string;
    rule?: string;
    decision?: 'allow' | 'deny';
    /** Why it was denied (`no-rule`, `denied-by-rule`, …). */
    reason?: string;
    status?: number;
    pending?: boolean;
  };
  /**
   * The takeover it carries, if any; `bytes` are the stream's so far (`up` client →
   * upstream, `down` upstream → client), read live from its splice, either engine.
   */
  takeover?: {
    kind: string;
    protocol: string;
    since: number;
    bytes?: { up: number; down: number };
    /** The Docker container the stream is attached to (name, asked of the upstream once). */
    container?: string;
    /** The exec's command line. */
    command?: string;
    /** The container's full id. */
    containerId?: string;
    /**
     * The control connection: a live connection of the same client whose last request
     * created this exec or attached to this container (`POST /containers/{id}/exec`).
     */
    control?: number;
  };
  /**
   * Bytes read from and written to the client socket (heads included), live while a
   * splice carries it (the native relay's own counts added to Node's).
   */
  bytes: { in: number; out: number };
  /** Kernel facts; null for unix sockets or without the native part. */
  tcp: TcpFacts | null;
  /** The last samples, oldest first: rtt (ms, null when unknown) and throughput (bytes/s, both ways). */
  trend: { rtt: (number | null)[]; throughput: number[] };
}

/** A connection that closed lately, as the "recently ended" list shows it. */
export interface EndedConnection {
  id: number;
  transport: 'tcp' | 'tls' | 'unix';
  remote: string;
  who: string;
  identity?: IdentityView;
  /** Accepted and closed at (ms since the epoch); `duration` = closed - accepted. */
  since: number;
  ended: number;
  duration: number;
  requests: number;
  /** Its last request (folded path, rule, decision, status). */
  route?: LiveConnection['route'];
  /** How it ended: a takeover's end (`half-close`, `error`, `closed`, `idle-timeout`, `shutdown`), else `closed`. */
  end: string;
  /** The takeover it carried, if any (with its container and command when known). */
  takeover?: { kind: string; protocol: string; container?: string; command?: string };
  /** Bytes from and to the client socket at the end (a takeover: its stream's, exact). */
  bytes: { in: number; out: number };
}

/** A request the gateway refused lately. */
export interface LiveDenial {
  /** When (ms since the epoch). */
  time: number;
  connId: number | string | undefined;
  who: string;
  method: string;
  /** The folded path when it could be normalised, else the target as received. */
  path: string;
  /** Why: `no-rule`, `denied-by-rule`, `method-not-allowed`, `unauthenticated`, … */
  reason: string;
  /** The rule that refused it (`deny POST /containers/{id}/exec`), if one did. */
  rule?: string;
  status: number;
}

/** What one identity does, summed over its live connections (denials: since the view started). */
export interface IdentitySummary {
  /** The identity's label (`token app`, `uid 1000`, an address). */
  who: string;
  connections: number;
  /** Taken-over streams open now. */
  streams: number;
  bytes: { in: number; out: number };
  denials: number;
}

/** A whole snapshot. */
export interface LiveSnapshot {
  /** When it was taken (ms since the epoch). */
  time: number;
  /** The gateway's listeners. */
  listeners: string[];
  /** Live connections by state (hijacked ones included until they close). */
  counts: Record<'new' | 'active' | 'idle' | 'hijacked', number>;
  /** Taken-over streams now open. */
  takeovers: number;
  connections: LiveConnection[];
  /** Connections that closed lately, newest first (a bounded ring). */
  ended: EndedConnection[];
  /** Requests refused lately, newest first (a bounded ring). */
  denials: LiveDenial[];
  /** Per identity: live connections, open streams, their bytes, denials so far; most connections first. */
  identities: IdentitySummary[];
}

/** Options of {@link createLiveView}. */
export interface LiveViewOptions {
  /** Milliseconds between samples. Default 1000. */
  interval?: number;
  /** Samples kept per connection for the trend. Default 60. */
  trendLength?: number;
  /** Ended connections kept for the "recently ended" list. Default 50. */
  endedLength?: number;
  /** Denials kept for the denials list. Default 50. */
  denialsLength?: number;
  /**
   * Name Docker streams: ask the upstream which container (and command) an exec or attach
   * belongs to, once per id (cached). Default true; false asks nothing.
   */
  names?: boolean;
}

/** The live view of a gateway. */
export interface LiveView {
  /** A fresh snapshot (does not add a trend sample). */
  snapshot(): LiveSnapshot;
  /** Calls `fn` with every interval's snapshot; returns the unsubscribe function. */
  subscribe(fn: (s: LiveSnapshot) => void): () => void;
  /** Milliseconds between samples. */
  readonly interval: number;
  /** Stops sampling and listening. Idempotent. */
  close(): void;
}

interface Meta {
  identity?: IdentityView;
  route?: LiveConnection['route'];
  /** When `route` was answered (ms since the epoch). */
  routeAt?: number;
  takeover?: LiveConnection['takeover'];
  at: number;
}

interface History {
  rtt: (number | null)[];
  throughput: number[];
  bytes: number;
  t: number;
}

interface ConnLike {
  id: number;
  state: ConnState;
  socket: Socket;
  transport: 'tcp' | 'tls' | 'unix';
  remoteAddress: string | undefined;
  remotePort: number | undefined;
  createdAt: number;
  requests: number;
}

/**
 * Follows the connections of `gateway` for the live page; samples every `interval` ms until
 * closed (the timer does not keep the process alive).
 */
export function createLiveView(gateway: Gateway, options: LiveViewOptions = {}): LiveView {
  const interval = options.interval ?? 1000;
  const trendLength = options.trendLength ?? 60;
  const endedLength = options.endedLength ?? 50;
  const denialsLength = options.denialsLength ?? 50;
  /** Newest first, bounded. */
  const ended: EndedConnection[] = [];
  const denials: LiveDenial[] = [];
  /** Denials per identity label since the view started (bounded: oldest label dropped). */
  const deniedBy = new Map<string, number>();
  /** Each listed connection as last sampled, to describe it once it is gone. */
  const lastSeen = new Map<number, LiveConnection>();
  /** How takeovers ended, by connection id, until their connection leaves the list. */
  const takeoverEnds = new Map<
    number | string,
    { end: string; bytes?: { up: number; down: number } }
  >();
  const push = <T>(ring: T[], x: T, max: number) => {
    ring.unshift(x);
    if (ring.length > max) ring.length = max;
  };
  const meta = new Map<number | string, Meta>();
  const history = new Map<number, History>();
  const subscribers = new Set<(s: LiveSnapshot) => void>();
  // Requests in flight, by socket, from node:http's diagnostics channel (the gateway's
  // 'request' event comes only once a request is answered).
  const inflight = new WeakMap<Socket, { method: string; url: string; at: number }>();
  const servers = new Set<object>(gateway.servers);
  const onStart = (m: unknown) => {
    const { request, server, socket } = m as {
      request: IncomingMessage;
      server: object;
      socket: Socket;
    };
    if (!servers.has(server)) return;
    inflight.set(socket, { method: request.method ?? '', url: request.url ?? '', at: Date.now() });
  };
  dc.subscribe('http.server.request.start', onStart);

  const metaOf = (id: number | string) => {
    let m = meta.get(id);
    if (!m) meta.set(id, (m = { at: Date.now() }));
    m.at = Date.now();
    return m;
  };
  const onRequest = (e: GatewayRequestEvent) => {
    if (e.connId === undefined) return;
    const m = metaOf(e.connId);
    const id = identityView(e.identity);
    if (id) m.identity = id;
    if (e.decision === 'deny') {
      const who = identityLabel(id) || (e.client?.address ?? e.client?.transport ?? '');
      push(
        denials,
        {
          time: Date.now(),
          connId: e.connId,
          who,
          method: e.method,
          path: e.path ?? e.url,
          reason: e.reason ?? 'denied',
          ...(e.rule !== undefined ? { rule: e.rule } : {}),
          status: e.status,
        },
        denialsLength,
      );
      const n = (deniedBy.get(who) ?? 0) + 1;
      deniedBy.delete(who); // re-inserted last: the oldest label is the one dropped
      deniedBy.set(who, n);
      if (deniedBy.size > 256) deniedBy.delete(deniedBy.keys().next().value!);
    }
    m.routeAt = Date.now();
    m.route = {
      method: e.method,
      path: e.path ?? e.url,
      decision: e.decision,
      status: e.status,
      ...(e.rule !== undefined ? { rule: e.rule } : {}),
      ...(e.reason !== undefined ? { reason: e.reason } : {}),
    };
  };
  const names = options.names === false ? undefined : createNameResolver(gateway.options.upstream);
  const onTakeoverStart = (t: GatewayTakeoverEvent) => {
    if (t.connId === undefined) return;
    const tk: NonNullable<Meta['takeover']> = {
      kind: t.kind,
      protocol: t.protocol,
      since: Date.now(),
    };
    metaOf(t.connId).takeover = tk;
    names?.resolve(t.path).then((x) => {
      if (x) Object.assign(tk, x);
    });
  };
  const onTakeoverEnd = (t: GatewayTakeoverEvent) => {
    if (t.connId === undefined) return;
    takeoverEnds.set(t.connId, { end: t.end ?? 'closed', ...(t.bytes ? { bytes: t.bytes } : {}) });
  };
  gateway.on('request', onRequest);
  gateway.on('takeoverStart', onTakeoverStart);
  gateway.on('takeover', onTakeoverEnd);

  const take = (record: boolean): LiveSnapshot => {
    const now = Date.now();
    const listeners = gateway.addresses().map((a) => a.url);
    const counts = { new: 0, active: 0, idle: 0, hijacked: 0 };
    const connections: LiveConnection[] = [];
    const seen = new Set<number>();
    gateway.trackers.forEach((tracker, i) => {
      for (const c of tracker as Iterable<ConnLike>) {
        if (c.state === 'closed' || c.socket.destroyed) continue;
        seen.add(c.id);
        counts[c.state]++;
        const m = meta.get(c.id);
        const wire = socketBytes(c.socket);
        const bytes = { in: wire.read, out: wire.written };
        const tcp = c.transport === 'unix' ? null : tcpFacts(c.socket);
        let h = history.get(c.id);
        if (!h) {
          h = { rtt: [], throughput: [], bytes: bytes.in + bytes.out, t: c.createdAt };
          history.set(c.id, h);
        }
        if (record) {
          const total = bytes.in + bytes.out;
          const dt = Math.max(1, now - h.t) / 1000;
          h.rtt.push(tcp ? tcp.rtt : null);
          h.throughput.push(Math.max(0, Math.round((total - h.bytes) / dt)));
          if (h.rtt.length > trendLength) h.rtt.shift();
          if (h.throughput.length > trendLength) h.throughput.shift();
          h.bytes = total;
          h.t = now;
        }
        const conn: LiveConnection = {
          id: c.id,
          state: c.state,
          transport: c.transport,
          listener: listeners[i] ?? '',
          remote:
            c.transport === 'unix' ? 'unix' : `${c.remoteAddress ?? '?'}:${c.remotePort ?? '?'}`,
          since: c.createdAt,
          age: now - c.createdAt,
          requests: c.requests,
          who: identityLabel(m?.identity),
          bytes,
          tcp,
          trend: { rtt: [...h.rtt], throughput: [...h.throughput] },
        };
        if (m?.identity) conn.identity = m.identity;
        const cur = inflight.get(c.socket);
        if (c.state === 'active' && cur && cur.at >= (m?.routeAt ?? 0))
          conn.route = { method: cur.method, path: cur.url, pending: true };
        else if (m?.route) conn.route = m.route;
        if (m?.takeover && c.state === 'hijacked') {
          conn.takeover = { ...m.takeover };
          const sb = spliceBytes(c.socket);
          if (sb) {
            conn.takeover.bytes =
              sb.side === 'a' ? { up: sb.aToB, down: sb.bToA } : { up: sb.bToA, down: sb.aToB };
          }
        }
        connections.push(conn);
      }
    });
    if (record) {
      for (const [id, c] of lastSeen) {
        if (seen.has(id)) continue;
        lastSeen.delete(id);
        const t = takeoverEnds.get(id);
        takeoverEnds.delete(id);
        const e: EndedConnection = {
          id,
          transport: c.transport,
          remote: c.remote,
          who: c.who,
          since: c.since,
          ended: now,
          duration: now - c.since,
          requests: c.requests,
          end: t?.end ?? 'closed',
          bytes: t?.bytes ? { in: t.bytes.up, out: t.bytes.down } : c.bytes,
        };
        if (c.identity) e.identity = c.identity;
        if (c.route) e.route = c.route;
        if (c.takeover) {
          const { kind, protocol, container, command } = c.takeover;
          e.takeover = { kind, protocol };
          if (container !== undefined) e.takeover.container = container;
          if (command !== undefined) e.takeover.command = command;
        }
        push(ended, e, endedLength);
      }
      for (const c of connections) lastSeen.set(c.id, c);
      for (const id of takeoverEnds.keys())
        if (typeof id === 'number' && !seen.has(id) && !lastSeen.has(id)) takeoverEnds.delete(id);
      for (const id of history.keys()) if (!seen.has(id)) history.delete(id);
      // Request events may name a connection a moment before or after it is listed.
      for (const [id, m] of meta)
        if (typeof id === 'number' && !seen.has(id) && now - m.at > 5000) meta.delete(id);
    }
    connections.sort((a, b) => a.id - b.id);
    linkControl(connections);
    return {
      time: now,
      listeners,
      counts,
      takeovers: gateway.takeovers,
      connections,
      ended: [...ended],
      denials: [...denials],
      identities: summarise(connections, deniedBy),
    };
  };

  const tick = () => {
    const s = take(true);
    for (const fn of subscribers) {
      try {
        fn(s);
      } catch {
        /* a subscriber's failure is its own */
      }
    }
  };
  // Sample all the time (cheap: one getsockopt per connection), so trends are there at once.
  let timer: NodeJS.Timeout | undefined = setInterval(tick, interval);
  timer.unref();
  return {
    interval,
    snapshot: () => take(false),
    subscribe(fn) {
      subscribers.add(fn);
      return () => {
        subscribers.delete(fn);
      };
    },
    close() {
      if (timer) clearInterval(timer);
      timer = undefined;
      subscribers.clear();
      gateway.off('request', onRequest);
      gateway.off('takeoverStart', onTakeoverStart);
      gateway.off('takeover', onTakeoverEnd);
      dc.unsubscribe('http.server.request.start', onStart);
    },
  };
}

/** Sums the live connections per identity label, with the denials counted per label. */
function summarise(
  connections: LiveConnection[],
  deniedBy: Map<string, number>,
): IdentitySummary[] {
  const by = new Map<string, IdentitySummary>();
  const of = (who: string) => {
    let x = by.get(who);
    if (!x)
      by.set(who, (x = { who, connections: 0, streams: 0, bytes: { in: 0, out: 0 }, denials: 0 }));
    return x;
  };
  for (const c of connections) {
    const x = of(c.who || c.remote.replace(/:\d+$/, ''));
    x.connections++;
    if (c.takeover) x.streams++;
    x.bytes.in += c.bytes.in;
    x.bytes.out += c.bytes.out;
  }
  for (const [who, n] of deniedBy) of(who).denials = n;
  return [...by.values()].sort(
    (a, b) => b.connections - a.connections || a.who.localeCompare(b.who),
  );
}

/** The container a request path is about: `/containers/{x}/exec`, `/containers/{x}/…`. */
const CONTAINER_PATH = /^\/containers\/([^/]+)\//;

/**
 * Ties each named Docker stream to its control connection: the live, not taken-over
 * connection of the same client (same identity label) whose last request named the
 * stream's container (by name, full id or an id prefix of 12 or more), the most recent one.
 */
function linkControl(connections: LiveConnection[]): void {
  for (const c of connections) {
    const t = c.takeover;
    if (!t?.container) continue;
    let best: LiveConnection | undefined;
    for (const o of connections) {
      if (o === c || o.takeover || !o.route || o.who !== c.who) continue;
      const m = CONTAINER_PATH.exec(o.route.path);
      const x = m ? decodeURIComponent(m[1]!) : undefined;
      if (!x) continue;
      const same =
        x === t.container ||
        x === `/${t.container}` ||
        (t.containerId !== undefined && x.length >= 12 && t.containerId.startsWith(x));
      if (same && (!best || o.id > best.id)) best = o;
    }
    if (best) t.control = best.id;
  }
}
