/**
 * Prometheus metrics of a gateway (prom-client), in a Registry of its own so two gateways
 * in one process never clash. Every label has bounded cardinality: the rule that matched
 * (from the operator's config), never the raw path; methods outside the standard set
 * become `OTHER`; error codes that do not look like codes become `OTHER`.
 *
 * @module
 */
import type { EventEmitter } from 'node:events';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ConnState } from '../../server/tracker.js';
import type {
  GatewayClientErrorEvent,
  GatewayEvents,
  GatewayRequestEvent,
  GatewayTakeoverEvent,
} from '../forward/events.js';
import type { AuthOptions, ClientIdentity } from '../types.js';
import { tcpFacts } from './tcp.js';

/** What the metrics read from a gateway: its events and its trackers. */
export interface MetricsSource extends EventEmitter<GatewayEvents> {
  readonly trackers: (Iterable<{
    state: ConnState;
    transport: string;
    socket: import('node:net').Socket;
  }> & { count(state: ConnState): number })[];
  readonly takeovers: number;
  /**
   * Bytes of taken-over streams so far, open ones included (see `Gateway.splicedBytes`):
   * when given, the spliced byte counter moves at every scrape while streams flow; when
   * absent, it moves when a stream ends.
   */
  splicedBytes?(): { up: number; down: number };
  /** The gateway's settings: its configured identities bound the `identity` label. */
  readonly options?: { readonly auth?: AuthOptions };
}

/** Options of {@link createMetrics}. */
export interface MetricsOptions {
  /** Metric name prefix. Default `hijack_gateway_`. */
  prefix?: string;
  /** Also export prom-client's process metrics (CPU, memory, event loop, fds). Default false. */
  processMetrics?: boolean;
  /** Labels added to every metric (e.g. `{ instance_name: 'edge-1' }`). */
  labels?: Record<string, string>;
  /** Read kernel TCP facts of live connections at scrape time. Default true. */
  tcpFacts?: boolean;
}

/** A gateway's metrics. */
export interface GatewayMetrics {
  /** The registry (one per gateway). */
  readonly registry: Registry;
  /** The Content-Type of {@link GatewayMetrics.text}. */
  readonly contentType: string;
  /** The Prometheus text exposition, gathered now. */
  text(): Promise<string>;
  /** Stops listening to the gateway. Idempotent. */
  close(): void;
}

const METHODS = new Set([
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'DELETE',
  'PATCH',
  'OPTIONS',
  'CONNECT',
  'TRACE',
]);

/** Returns `m` when it is a standard method, else `OTHER` (clients choose methods freely). */
export function methodLabel(m: string): string {
  return METHODS.has(m) ? m : 'OTHER';
}

/** Returns `code` when it looks like an error code (`ECONNREFUSED`, `UND_ERR_SOCKET`), else `OTHER`. */
export function codeLabel(code: string | undefined): string {
  return code && /^[A-Z][A-Z0-9_]{1,47}$/.test(code) ? code : 'OTHER';
}

/**
 * The `identity` label of a request, bounded by the configuration: the token's name
 * (`token:ci`), an allowed certificate subject (`cn:runner`), an allowed unix uid or gid
 * (`uid:1000`, `gid:998`); anything else (unidentified, or an identity the configuration
 * does not name, such as an address) is `other`.
 */
export function identityMetricLabel(id: ClientIdentity | undefined, auth?: AuthOptions): string {
  if (!id) return 'other';
  if (id.token !== undefined) return `token:${id.token}`;
  const cn = id.cert?.subject;
  if (cn !== undefined && auth?.allowSubject.includes(cn)) return `cn:${cn}`;
  if (id.peer) {
    if (auth?.allowUid.includes(id.peer.uid)) return `uid:${id.peer.uid}`;
    if (auth?.allowGid.includes(id.peer.gid)) return `gid:${id.peer.gid}`;
  }
  return 'other';
}

const SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const LONG_SECONDS = [0.1, 1, 10, 60, 300, 900, 3600, 14400, 86400];
const STATES: ConnState[] = ['new', 'active', 'idle', 'hijacked'];
/** prom-client default metrics that are gauges with a `_total` suffix: left out. */
const MISNAMED_DEFAULTS = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

/**
 * Creates the metrics of `gateway` in a fresh Registry.
 *
 * ```ts
 * const metrics = createMetrics(gateway);
 * http.createServer(async (_req, res) => {
 *   res.setHeader('Content-Type', metrics.contentType);
 *   res.end(await metrics.text());
 * }).listen(9100, '127.0.0.1');
 * ```
 */
export function createMetrics(
  gateway: MetricsSource,
  options: MetricsOptions = {},
): GatewayMetrics {
  const p = options.prefix ?? 'hijack_gateway_';
  const registry = new Registry();
  if (options.labels) registry.setDefaultLabels(options.labels);
  const registers = [registry];

  const requests = new Counter({
    name: `${p}requests_total`,
    help: 'Requests answered, by method, rule that decided (none: no rule matched), decision, deny reason and status.',
    labelNames: ['method', 'rule', 'decision', 'reason', 'status'] as const,
    registers,
  });
  const auth = gateway.options?.auth;
  const byIdentity = new Counter({
    name: `${p}identity_requests_total`,
    help: 'Requests answered, by identity (a configured token name, certificate subject, uid or gid; other: anything else) and decision.',
    labelNames: ['identity', 'decision'] as const,
    registers,
  });
  const duration = new Histogram({
    name: `${p}request_duration_seconds`,
    help: 'Time from request start to the end of the answer (for a takeover: to the splice start), by rule and decision.',
    labelNames: ['rule', 'decision'] as const,
    buckets: SECONDS,
    registers,
  });
  const headDuration = new Histogram({
    name: `${p}upstream_head_duration_seconds`,
    help: "Time from request start to the upstream's answer head, by rule.",
    labelNames: ['rule'] as const,
    buckets: SECONDS,
    registers,
  });
  const requestBytes = new Counter({
    name: `${p}request_body_bytes_total`,
    help: 'Body bytes of ordinary requests, by direction (in: from clients, out: to clients).',
    labelNames: ['direction'] as const,
    registers,
  });
  const upstreamErrors = new Counter({
    name: `${p}upstream_errors_total`,
    help: 'Requests and takeovers that failed with an error (upstream unreachable, timeouts, resets), by code.',
    labelNames: ['code'] as const,
    registers,
  });
  const clientErrors = new Counter({
    name: `${p}client_errors_total`,
    help: "Client connections Node's HTTP parser refused before any request, by code.",
    labelNames: ['code'] as const,
    registers,
  });
  const takeoversOpen = new Gauge({
    name: `${p}takeovers_open`,
    help: 'Taken-over streams open now, by kind (upgrade, raw-stream, connect).',
    labelNames: ['kind'] as const,
    registers,
  });
  const takeoversTotal = new Counter({
    name: `${p}takeovers_total`,
    help: 'Taken-over streams that ended, by kind and how they ended (half-close, error, closed, idle-timeout, shutdown).',
    labelNames: ['kind', 'end'] as const,
    registers,
  });
  const takeoverDuration = new Histogram({
    name: `${p}takeover_duration_seconds`,
    help: 'How long taken-over streams lasted, by kind.',
    labelNames: ['kind'] as const,
    buckets: LONG_SECONDS,
    registers,
  });
  const live = gateway.splicedBytes ? () => gateway.splicedBytes!() : undefined;
  /** What the counter says so far, per direction (it only ever adds the difference). */
  const counted = { up: 0, down: 0 };
  const spliced = new Counter({
    name: `${p}spliced_bytes_total`,
    help: live
      ? 'Bytes carried by taken-over streams, open ones included (read at scrape time), by direction (up: client to upstream, down: upstream to client).'
      : 'Bytes carried by taken-over streams that ended, by direction (up: client to upstream, down: upstream to client).',
    labelNames: ['direction'] as const,
    registers,
    ...(live
      ? {
          collect(this: Counter<'direction'>) {
            const now = live();
            for (const direction of ['up', 'down'] as const) {
              const d = now[direction] - counted[direction];
              if (d > 0) {
                this.inc({ direction }, d);
                counted[direction] = now[direction];
              }
            }
          },
        }
      : {}),
  });
  for (const kind of ['upgrade', 'raw-stream', 'connect']) takeoversOpen.set({ kind }, 0);
  for (const direction of ['up', 'down']) spliced.inc({ direction }, 0);

  const trackers = () => [...gateway.trackers];
  new Gauge({
    name: `${p}connections`,
    help: 'Client connections open now, by state (hijacked: taken over and not yet closed).',
    labelNames: ['state'] as const,
    registers,
    collect() {
      // The trackers keep counts by state: no walk over the connections.
      for (const state of STATES) {
        let n = 0;
        for (const t of trackers()) n += t.count(state);
        this.set({ state }, n);
      }
    },
  });

  if (options.tcpFacts ?? true) {
    /** Each socket's kernel retransmit count at the last sample: the counter adds the rise. */
    const seenRetrans = new WeakMap<object, number>();
    let retransTotal = 0;
    const sample = () => {
      const rtts: number[] = [];
      let rate = 0;
      for (const t of trackers()) {
        for (const c of t) {
          if (c.state === 'closed' || c.transport === 'unix') continue;
          const f = tcpFacts(c.socket);
          if (!f) continue;
          rtts.push(f.rtt / 1000);
          const was = seenRetrans.get(c.socket) ?? 0;
          if (f.retrans > was) retransTotal += f.retrans - was;
          seenRetrans.set(c.socket, Math.max(was, f.retrans));
          rate += f.deliveryRate ?? 0;
        }
      }
      return { rtts, rate };
    };
    let last: { at: number; v: ReturnType<typeof sample> } | undefined;
    // One pass over the sockets per scrape, shared by the metrics below.
    const facts = () => {
      if (!last || Date.now() - last.at > 100) last = { at: Date.now(), v: sample() };
      return last.v;
    };
    new Gauge({
      name: `${p}tcp_connections`,
      help: 'Live TCP/TLS client connections whose kernel facts were read at scrape time.',
      registers,
      collect() {
        this.set(facts().rtts.length);
      },
    });
    new Gauge({
      name: `${p}tcp_rtt_seconds`,
      help: 'Smoothed round-trip time of live TCP client connections at scrape time: min, mean, max.',
      labelNames: ['stat'] as const,
      registers,
      collect() {
        const r = facts().rtts;
        this.reset();
        if (r.length === 0) return;
        this.set({ stat: 'min' }, Math.min(...r));
        this.set({ stat: 'mean' }, r.reduce((a, b) => a + b, 0) / r.length);
        this.set({ stat: 'max' }, Math.max(...r));
      },
    });
    let retransCounted = 0;
    new Counter({
      name: `${p}tcp_retransmitted_segments_total`,
      help: "Segments the kernel retransmitted on TCP client connections, as seen at scrape time (each live connection's rise of tcpi_total_retrans since the previous scrape).",
      registers,
      collect() {
        facts();
        if (retransTotal > retransCounted) {
          this.inc(retransTotal - retransCounted);
          retransCounted = retransTotal;
        }
      },
    });
    new Gauge({
      name: `${p}tcp_delivery_rate_bytes_per_second`,
      help: 'Delivery rate, summed over live TCP client connections at scrape time.',
      registers,
      collect() {
        this.set(facts().rate);
      },
    });
  }
  if (options.processMetrics) {
    collectDefaultMetrics({ register: registry });
    // Gauges named like counters (promtool refuses them); the same numbers are the sums
    // of nodejs_active_handles, nodejs_active_requests and nodejs_active_resources.
    for (const name of MISNAMED_DEFAULTS) registry.removeSingleMetric(name);
  }

  const ruleOf = (e: { rule?: string }) => e.rule ?? 'none';
  const onRequest = (e: GatewayRequestEvent) => {
    const rule = ruleOf(e);
    requests.inc({
      method: methodLabel(e.method),
      rule,
      decision: e.decision,
      reason: e.reason ?? '',
      status: String(e.status),
    });
    byIdentity.inc({ identity: identityMetricLabel(e.identity, auth), decision: e.decision });
    duration.observe({ rule, decision: e.decision }, e.durations.total / 1000);
    if (e.durations.head !== undefined) headDuration.observe({ rule }, e.durations.head / 1000);
    if (e.takeover === undefined) {
      requestBytes.inc({ direction: 'in' }, e.bytes.in);
      requestBytes.inc({ direction: 'out' }, e.bytes.out);
    }
    if (e.error) upstreamErrors.inc({ code: codeLabel(e.error.code) });
  };
  const onTakeoverStart = (t: GatewayTakeoverEvent) => takeoversOpen.inc({ kind: t.kind });
  const onTakeover = (t: GatewayTakeoverEvent) => {
    takeoversOpen.dec({ kind: t.kind });
    takeoversTotal.inc({ kind: t.kind, end: t.end ?? 'closed' });
    if (t.duration !== undefined) takeoverDuration.observe({ kind: t.kind }, t.duration / 1000);
    if (t.bytes && !live) {
      spliced.inc({ direction: 'up' }, t.bytes.up);
      spliced.inc({ direction: 'down' }, t.bytes.down);
    }
    if (t.error) upstreamErrors.inc({ code: codeLabel(t.error.code) });
  };
  const onClientError = (e: GatewayClientErrorEvent) =>
    clientErrors.inc({ code: codeLabel(e.code) });
  gateway.on('request', onRequest);
  gateway.on('takeoverStart', onTakeoverStart);
  gateway.on('takeover', onTakeover);
  gateway.on('clientError', onClientError);

  return {
    registry,
    contentType: registry.contentType,
    text: () => registry.metrics(),
    close() {
      gateway.off('request', onRequest);
      gateway.off('takeoverStart', onTakeoverStart);
      gateway.off('takeover', onTakeover);
      gateway.off('clientError', onClientError);
    },
  };
}
