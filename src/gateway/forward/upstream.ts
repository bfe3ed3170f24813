/**
 * The upstream: where the gateway forwards to. Parses its address (the endpoint syntax,
 * src/endpoint/), opens raw connections for takeovers and keeps an undici pool for
 * ordinary requests.
 *
 * @module
 */
import net from 'node:net';
import { Pool } from 'undici';
import { connectEndpoint } from '../../endpoint/connect.js';
import { dialEndpoint, formatHostPort, type DialEndpoint } from '../../endpoint/endpoint.js';
import { parseEndpoint } from '../../endpoint/parse.js';
import { HijackError } from '../../errors.js';

/** TLS settings towards a `tls://` / `https://` upstream. */
export interface UpstreamTlsOptions {
  /** CA certificates (PEM) that may sign the upstream's certificate. */
  ca?: string | Buffer | (string | Buffer)[];
  /** Client certificate (PEM) for mutual TLS. */
  cert?: string | Buffer;
  /** Client key (PEM) for mutual TLS. */
  key?: string | Buffer;
  /** Name checked against the upstream's certificate (default: its host). */
  servername?: string;
  /** Default true; false accepts any certificate (tests only). */
  rejectUnauthorized?: boolean;
}

/** A parsed upstream address: the endpoint module's {@link DialEndpoint}. */
export type UpstreamTarget = DialEndpoint;

/**
 * Parses the library's upstream string: the one endpoint syntax (src/endpoint/parse.ts,
 * `unix:///path`, `tcp://host:port`, `tls://host:port`) with the web spellings
 * `http://host[:port]` and `https://host[:port]` (as `tcp://` and `tls://`) and a bare
 * absolute path (as `unix://` + path). `url` is the value as written (a bare path gets its
 * `unix://`). Throws `ERR_CONFIG` saying what is accepted.
 */
export function parseUpstream(value: string): UpstreamTarget {
  const s = String(value).trim();
  const e = parseEndpoint(s, 'upstream', 'upstream', { web: true, barePath: true });
  return dialEndpoint(e, s.startsWith('/') ? `unix://${s}` : s);
}

/** The error clients and events get when the upstream cannot be reached. */
export function upstreamUnreachable(target: UpstreamTarget, cause: unknown): HijackError {
  const code = (cause as { code?: string } | undefined)?.code;
  const daemon =
    target.kind === 'unix' && /docker/.test(target.path) ? 'Docker daemon' : 'upstream daemon';
  const why =
    code === 'ENOENT'
      ? 'the socket does not exist'
      : code === 'ECONNREFUSED'
        ? 'the connection was refused'
        : code === 'EACCES'
          ? 'permission denied'
          : code === 'ERR_CONNECT_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT'
            ? 'connecting timed out'
            : (cause as Error | undefined)?.message || 'the connection failed';
  return new HijackError(
    'ERR_UPSTREAM',
    `hijack gateway: cannot connect to the upstream at ${target.url} (${why}). Is the ${daemon} running?`,
    { cause, upstream: target.url },
  );
}

/** Options of {@link dialUpstream}. */
export interface DialOptions {
  /** Milliseconds to connect (and finish the TLS handshake); 0: no limit. */
  timeout?: number;
  tls?: UpstreamTlsOptions;
}

/**
 * Opens one raw connection to the upstream; resolves once it is connected (TLS: once
 * the handshake is done); rejects with `ERR_UPSTREAM` naming the upstream.
 */
export function dialUpstream(
  target: UpstreamTarget,
  options: DialOptions = {},
): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const { socket, ready: event } = connectEndpoint(target, {
      ...(options.tls ? { tls: options.tls } : {}),
    });
    let timer: NodeJS.Timeout | undefined;
    const fail = (err: unknown) => {
      if (timer) clearTimeout(timer);
      socket.removeListener(event, ok);
      socket.destroy();
      reject(upstreamUnreachable(target, err));
    };
    const ok = () => {
      if (timer) clearTimeout(timer);
      socket.removeListener('error', fail);
      if (target.kind !== 'unix') socket.setNoDelay(true);
      resolve(socket);
    };
    socket.once(event, ok);
    socket.once('error', fail);
    if (options.timeout && options.timeout > 0) {
      timer = setTimeout(
        () => fail(Object.assign(new Error('connect timeout'), { code: 'ERR_CONNECT_TIMEOUT' })),
        options.timeout,
      );
    }
  });
}

/** Options of {@link createUpstreamPool}. */
export interface PoolOptions {
  /** Most connections kept to the upstream. */
  connections: number;
  /** Milliseconds to connect. */
  connectTimeout: number;
  /** Milliseconds an idle pooled connection is kept. */
  keepAliveTimeout: number;
  tls?: UpstreamTlsOptions;
}

/** A keep-alive pool (undici) for ordinary requests. */
export function createUpstreamPool(target: UpstreamTarget, options: PoolOptions): Pool {
  const common = {
    connections: options.connections,
    pipelining: 1,
    keepAliveTimeout: options.keepAliveTimeout,
    keepAliveMaxTimeout: Math.max(options.keepAliveTimeout, 1000),
    // The gateway applies its own head/idle timeouts per request; 0 = none here.
    headersTimeout: 0,
    bodyTimeout: 0,
    strictContentLength: true,
  };
  if (target.kind === 'unix') {
    return new Pool('http://localhost', {
      ...common,
      socketPath: target.path,
      connect: { timeout: options.connectTimeout },
    });
  }
  if (target.kind === 'tcp') {
    return new Pool(`http://${formatHostPort(target.host, target.port)}`, {
      ...common,
      connect: { timeout: options.connectTimeout },
    });
  }
  return new Pool(`https://${formatHostPort(target.host, target.port)}`, {
    ...common,
    connect: { timeout: options.connectTimeout, ...options.tls },
  });
}
