/**
 * Connecting to an endpoint: one socket to a {@link DialEndpoint} (a unix socket, TCP, or
 * TLS with ALPN `http/1.1` and the host as server name unless it is an address), and the
 * event that says it is ready. The client's dial and the gateway's upstream both open
 * their connections here.
 *
 * @module
 */
import net from 'node:net';
import tls from 'node:tls';
import type { DialEndpoint } from './endpoint.js';

/** Options of {@link connectEndpoint}. */
export interface ConnectEndpointOptions {
  /** TLS settings (tls endpoints): CA, client certificate, server name, … */
  tls?: tls.ConnectionOptions;
  /** Keep the writable side open when the peer ends (half-close). Default false. */
  allowHalfOpen?: boolean;
}

/** A socket being connected, and the event it emits once usable. */
export interface EndpointConnection {
  socket: net.Socket;
  /** `connect` (unix, tcp) or `secureConnect` (tls: the handshake is done). */
  ready: 'connect' | 'secureConnect';
}

/** Starts connecting to `d`; the caller listens for `ready` and `error`. */
export function connectEndpoint(
  d: DialEndpoint,
  options: ConnectEndpointOptions = {},
): EndpointConnection {
  const allowHalfOpen = options.allowHalfOpen === true;
  if (d.kind === 'unix')
    return { socket: net.connect({ path: d.path, allowHalfOpen }), ready: 'connect' };
  if (d.kind === 'tcp')
    return { socket: net.connect({ host: d.host, port: d.port, allowHalfOpen }), ready: 'connect' };
  const servername = options.tls?.servername ?? (net.isIP(d.host) ? undefined : d.host);
  const socket = tls.connect({
    ...options.tls,
    host: d.host,
    port: d.port,
    ...(servername ? { servername } : {}),
    ALPNProtocols: ['http/1.1'],
    allowHalfOpen,
  } as tls.ConnectionOptions);
  socket.allowHalfOpen = allowHalfOpen;
  return { socket, ready: 'secureConnect' };
}
