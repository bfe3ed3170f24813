/**
 * The endpoint: where something listens or what it connects to — a unix socket, a TCP
 * address, or TLS over TCP — and how it is written (`unix:///path`, `tcp://host:port`,
 * `tls://host:port`, IPv6 hosts in brackets).
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
