/**
 * Observing a gateway: the JSON access log, Prometheus metrics and the live connections
 * page, separately ({@link createAccessLog}, {@link createMetrics}, {@link createLiveView},
 * {@link createObserveServer}) or all at once with {@link observeGateway}. See docs/observe.md.
 *
 * @module
 */
import { createAuthenticator } from '../identity/authenticator.js';
import type { Gateway } from '../server.js';
import type { Endpoint } from '../types.js';
import { createAccessLog, type AccessLog, type AccessLogOptions } from './access-log.js';
import { createLiveView, type LiveView, type LiveViewOptions } from './live.js';
import { createMetrics, type GatewayMetrics, type MetricsOptions } from './metrics.js';
import { createObserveServer, type ObserveServer } from './server.js';

export {
  createAccessLog,
  requestLine,
  type AccessLog,
  type AccessLogLine,
  type AccessLogKind,
  type AccessLogSource,
  type AccessLogOptions,
  type LogDestination,
} from './access-log.js';
export {
  createMetrics,
  methodLabel,
  codeLabel,
  identityMetricLabel,
  type GatewayMetrics,
  type MetricsOptions,
  type MetricsSource,
} from './metrics.js';
export {
  createLiveView,
  type LiveConnection,
  type EndedConnection,
  type LiveDenial,
  type IdentitySummary,
  type LiveSnapshot,
  type LiveView,
  type LiveViewOptions,
} from './live.js';
export { createObserveServer, type ObserveServer, type ObserveServerOptions } from './server.js';
export { tcpFacts, type TcpFacts } from './tcp.js';
export { identityView, identityLabel, type IdentityView } from './identity.js';
export { LIVE_HTML, liveScript } from './page.js';

/** Options of {@link observeGateway}. */
export interface ObserveOptions {
  /** The access log; default `{ level: gateway.options.logLevel, destination: 'stdout' }`; false: none. */
  log?: AccessLogOptions | false;
  /**
   * Metrics; default on (served only where a listener is: `listen`, or `/metrics` on the
   * live page's listener). false: none.
   */
  metrics?: (MetricsOptions & { listen?: Endpoint }) | false;
  /** The live page, off by default: give its listener (`--live-listen`). */
  live?: (LiveViewOptions & { listen: Endpoint }) | false;
  /** Apply the gateway's client checks (allowlists, tokens) on these listeners. Default true. */
  auth?: boolean;
}

/** What {@link observeGateway} started. */
export interface Observer {
  readonly log?: AccessLog;
  readonly metrics?: GatewayMetrics;
  readonly live?: LiveView;
  /** The live page's listener (which also serves `/metrics` unless metrics have their own). */
  readonly liveServer?: ObserveServer;
  /** The metrics listener, when metrics have one of their own. */
  readonly metricsServer?: ObserveServer;
  /** Starts the listeners; resolves with their URLs. */
  listen(): Promise<{ live?: string; metrics?: string }>;
  /** Stops everything it started (the gateway itself is not closed). Idempotent. */
  close(): Promise<void>;
}

const sameEndpoint = (a: Endpoint, b: Endpoint) =>
  a.kind === 'unix' || b.kind === 'unix'
    ? a.kind === b.kind && (a as { path: string }).path === (b as { path: string }).path
    : a.host === b.host && a.port === b.port && a.port !== 0;

/**
 * Attaches the access log, metrics and (when asked) the live page to `gateway`; what
 * `hijack gateway` does with `--log-level`, `--metrics-listen` and `--live-listen`.
 *
 * ```ts
 * const gw = createGateway({ listen: [{ kind: 'tcp', host: '127.0.0.1', port: 2375 }], … });
 * const obs = observeGateway(gw, {
 *   log: { level: 'info', destination: 'stderr' },
 *   live: { listen: { kind: 'tcp', host: '127.0.0.1', port: 8080 } },
 * });
 * await gw.listen();
 * console.log(await obs.listen()); // { live: 'http://127.0.0.1:8080/' }
 * // …
 * await gw.close();
 * await obs.close();
 * ```
 */
export function observeGateway(gateway: Gateway, options: ObserveOptions = {}): Observer {
  const log =
    options.log === false
      ? undefined
      : createAccessLog(gateway, { level: gateway.options.logLevel, ...options.log });
  const metrics =
    options.metrics === false ? undefined : createMetrics(gateway, options.metrics ?? {});
  const live = options.live ? createLiveView(gateway, options.live) : undefined;
  const auth = options.auth === false ? undefined : createAuthenticator(gateway.options.auth);
  const metricsListen = options.metrics ? options.metrics.listen : undefined;
  const liveListen = options.live ? options.live.listen : undefined;
  const shared = metricsListen && liveListen && sameEndpoint(metricsListen, liveListen);

  const liveServer = liveListen
    ? createObserveServer({
        endpoint: liveListen,
        live,
        ...(metrics && (!metricsListen || shared) ? { metrics } : {}),
        ...(auth ? { auth } : {}),
      })
    : undefined;
  const metricsServer =
    metrics && metricsListen && !shared
      ? createObserveServer({ endpoint: metricsListen, metrics, ...(auth ? { auth } : {}) })
      : undefined;

  let closing: Promise<void> | undefined;
  return {
    ...(log ? { log } : {}),
    ...(metrics ? { metrics } : {}),
    ...(live ? { live } : {}),
    ...(liveServer ? { liveServer } : {}),
    ...(metricsServer ? { metricsServer } : {}),
    async listen() {
      const out: { live?: string; metrics?: string } = {};
      if (liveServer) {
        out.live = await liveServer.listen();
        if (!metricsServer && metrics) out.metrics = metricsUrl(out.live);
      }
      if (metricsServer) out.metrics = metricsUrl(await metricsServer.listen());
      return out;
    },
    close() {
      closing ??= (async () => {
        await Promise.all([liveServer?.close(), metricsServer?.close()]);
        live?.close();
        metrics?.close();
        await log?.close();
      })();
      return closing;
    },
  };
}

function metricsUrl(base: string): string {
  return base.startsWith('http') ? `${base}metrics` : `${base} (GET /metrics)`;
}
