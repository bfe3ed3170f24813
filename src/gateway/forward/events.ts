/**
 * What the gateway reports, per request and per takeover, for access logs, metrics and
 * the live connections page. Listen with `gateway.on('request' | 'takeover' | …)`.
 *
 * @module
 */
import type { ClientIdentity, DenyReason } from '../types.js';

/** Where a client connection comes from, known from its socket before any identification. */
export interface ClientEndpoint {
  transport: 'tcp' | 'tls' | 'unix';
  /** The peer's IP address (absent on unix sockets). */
  address?: string;
  port?: number;
}

/** Emitted once per request, when its answer is over (for a takeover: once the head was answered). */
export interface GatewayRequestEvent {
  /** Request id, unique within the gateway, increasing. */
  id: number;
  /** Id of the client connection (the tracker's `Conn.id`). */
  connId: number | string | undefined;
  /** The client's socket address. */
  client?: ClientEndpoint;
  /** Who the client is, once identified (absent when refused before). */
  identity?: ClientIdentity;
  method: string;
  /** The request target as received. */
  url: string;
  /** The folded path the policy matched against, when it could be normalised. */
  path?: string;
  /** The rule that decided (`allow GET /containers/json`), if one did. */
  rule?: string;
  /** The request target forwarded upstream (the admitted canonical target), when admitted. */
  target?: string;
  decision: 'allow' | 'deny';
  /** Why a request was refused (policy, identity or framing). */
  reason?: DenyReason;
  /** Status sent to the client; 0 when the client went away before any answer. */
  status: number;
  /** The kind of takeover that followed, if any (`tcp`, `websocket`, `raw-stream`, `connect`). */
  takeover?: string;
  /** Milliseconds: `head` from request start to the upstream's head; `total` to the end of the answer. */
  durations: { head?: number; total: number };
  /** Body bytes: `in` from the client, `out` to the client (heads not counted). */
  bytes: { in: number; out: number };
  /** What went wrong, if anything (upstream unreachable, client gone, timeouts). */
  error?: { code: string; message: string };
}

/** How a takeover ended. */
export type TakeoverEnd =
  /** Both sides half-closed and each half-close was carried across: the clean end. */
  | 'half-close'
  /** A side failed. */
  | 'error'
  /** A side closed or reset without a clean half-close. */
  | 'closed'
  /** No byte moved for the stream timeout. */
  | 'idle-timeout'
  /** The gateway shut down and ended the stream. */
  | 'shutdown';

/** Emitted when a takeover starts (`takeoverStart`) and when it is over (`takeover`). */
export interface GatewayTakeoverEvent {
  /** The request that started it. */
  requestId: number;
  connId: number | string | undefined;
  /** `upgrade` (any 101), `raw-stream` (Docker's 200 legacy answer) or `connect` (tunnel). */
  kind: 'upgrade' | 'raw-stream' | 'connect';
  /** The Upgrade token (`tcp`, `websocket`, `h2c`), the media type, or the CONNECT authority. */
  protocol: string;
  method: string;
  /** The folded path (or the CONNECT authority). */
  path: string;
  identity?: ClientIdentity;
  /** Bytes client → upstream and upstream → client, pre-splice bytes included (heads not). Only in `takeover`. */
  bytes?: { up: number; down: number };
  /** Milliseconds from the splice start to its end. Only in `takeover`. */
  duration?: number;
  /** Only in `takeover`. */
  end?: TakeoverEnd;
  error?: { code: string; message: string };
}

/** A taken-over stream still open, as `Gateway.streams()` lists it. */
export interface GatewayOpenStream extends GatewayTakeoverEvent {
  /** Bytes so far (pre-splice body bytes included), read live from the splice. */
  bytes: { up: number; down: number };
  /** Milliseconds since the splice started. */
  duration: number;
}

/** A client connection Node's HTTP parser refused before any request (bad or slow head). */
export interface GatewayClientErrorEvent {
  connId: number | string | undefined;
  /** The client's socket address. */
  client?: ClientEndpoint;
  /** Node's error code (`HPE_HEADER_OVERFLOW`, `ERR_HTTP_REQUEST_TIMEOUT`, …). */
  code: string;
  /** Status answered (400, 408, 431), or 0 when the socket was gone. */
  status: number;
}

/** The gateway's events and their payloads. */
export interface GatewayEvents {
  request: [GatewayRequestEvent];
  takeoverStart: [GatewayTakeoverEvent];
  takeover: [GatewayTakeoverEvent];
  clientError: [GatewayClientErrorEvent];
  listening: [GatewayAddress[]];
  close: [];
}

/** Where the gateway listens. */
export interface GatewayAddress {
  kind: 'tcp' | 'tls' | 'unix';
  /** `tcp://127.0.0.1:2375`, `tls://…`, `unix:///run/gw.sock`: usable as `docker -H`. */
  url: string;
  host?: string;
  port?: number;
  path?: string;
}

/** The socket address of a client connection (`unix` when it has no IP address). */
export function clientEndpoint(socket: {
  remoteAddress?: string | undefined;
  remotePort?: number | undefined;
  encrypted?: boolean;
}): ClientEndpoint {
  if (!socket.remoteAddress) return { transport: 'unix' };
  return {
    transport: socket.encrypted ? 'tls' : 'tcp',
    address: socket.remoteAddress,
    ...(socket.remotePort !== undefined ? { port: socket.remotePort } : {}),
  };
}

/** A short `{ code, message }` of any error. */
export function errorInfo(err: unknown): { code: string; message: string } | undefined {
  if (!err) return undefined;
  const e = err as { code?: unknown; message?: unknown };
  return {
    code: typeof e.code === 'string' ? e.code : 'ERR_UNKNOWN',
    message: String(e.message ?? err),
  };
}
