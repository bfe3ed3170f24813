/**
 * The endpoint: where something listens or what it connects to — a unix socket, a TCP
 * address, or TLS over TCP — its resolved forms for connecting ({@link DialEndpoint}, and
 * {@link ResolvedTarget} with the HTTP parts a client needs), and how it is written
 * (`unix:///path`, `tcp://host:port`, `tls://host:port`, IPv6 hosts in brackets).
 *
 * @module
 */

/** A listener or upstream endpoint. */
export type Endpoint =
  | { kind: 'tcp'; host: string; port: number }
  | {
      kind: 'tls';
      host: string;
      port: number;
      /** PEM file paths. For a listener: cert+key required, ca turns on mTLS. For an upstream: optional client cert and CA. */
      cert?: string;
      key?: string;
      ca?: string;
      /** Upstream only: the TLS server name to verify (defaults to host). */
      servername?: string;
    }
  | {
      kind: 'unix';
      path: string;
      /** Listener only: file mode to chmod the socket to, e.g. 0o660. */
      mode?: number;
      /** Listener only: chown the socket to these ids. */
      uid?: number;
      gid?: number;
    };

/** A host as it stands in a URL or a `Host` header: an IPv6 address in brackets (`[::1]`). */
export function formatHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/** `host:port`, with an IPv6 host in brackets (`[::1]:2375`). */
export function formatHostPort(host: string, port: number): string {
  return `${formatHost(host)}:${port}`;
}

/**
 * An endpoint as the user writes it: `unix:///path`, `tcp://127.0.0.1:2375`,
 * `tls://[::1]:2376` (mode and owner are left out). `parseEndpoint(formatEndpoint(e))`
 * gives `e` back.
 */
export function formatEndpoint(e: Endpoint): string {
  return e.kind === 'unix' ? `unix://${e.path}` : `${e.kind}://${formatHostPort(e.host, e.port)}`;
}

/** The kind of an endpoint: a unix socket, plain TCP, or TLS over TCP. */
export type EndpointKind = Endpoint['kind'];

/**
 * An endpoint resolved for connecting: the address, and `url`, the text that names it in
 * messages (as the user wrote it, or {@link formatEndpoint}'s form). The gateway's
 * upstream (`UpstreamTarget`) is this type.
 */
export type DialEndpoint =
  | { kind: 'unix'; path: string; url: string }
  | { kind: 'tcp' | 'tls'; host: string; port: number; url: string };

/**
 * A {@link DialEndpoint} with what an HTTP client puts in its request: the `Host` header
 * and a path prefix (from an `http(s)://host/prefix` target). What `resolveTarget` returns;
 * `transport`, `socketPath` and `display` are the same facts as `kind`, `path` and `url`,
 * under the names this type has always had.
 */
export type ResolvedTarget = DialEndpoint & {
  /** Default `Host` header value. */
  hostHeader: string;
  /** Path prefix to put before the request path (from an http(s) URL), `''` if none. */
  prefix: string;
  /** `unix` for a socket path, `tcp` for plain TCP, `tls` for TLS over TCP (= `kind`). */
  transport: EndpointKind;
  /** Socket path (unix; = `path`). */
  socketPath?: string;
  /** Host name or address (tcp, tls), without brackets. */
  host?: string;
  /** Port (tcp, tls). */
  port?: number;
  /** The target as the user would recognise it in an error message (= `url`). */
  display: string;
};

/** The {@link DialEndpoint} of `e` (listener options and TLS files left out); `url` defaults to {@link formatEndpoint}'s form. */
export function dialEndpoint(e: Endpoint, url: string = formatEndpoint(e)): DialEndpoint {
  return e.kind === 'unix'
    ? { kind: 'unix', path: e.path, url }
    : { kind: e.kind, host: e.host, port: e.port, url };
}

/**
 * The {@link ResolvedTarget} of `d`: `Host` is `localhost` for a unix socket, else the
 * host (IPv6 in brackets) with the port unless it is the scheme's default (80, 443).
 */
export function resolvedTarget(d: DialEndpoint, prefix = ''): ResolvedTarget {
  if (d.kind === 'unix')
    return {
      ...d,
      hostHeader: 'localhost',
      prefix,
      transport: 'unix',
      socketPath: d.path,
      display: d.url,
    };
  const hostHeader =
    d.port === (d.kind === 'tls' ? 443 : 80) ? formatHost(d.host) : formatHostPort(d.host, d.port);
  return { ...d, hostHeader, prefix, transport: d.kind, display: d.url };
}
