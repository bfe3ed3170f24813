/**
 * Every error this package throws or rejects with is a {@link HijackError} with a stable
 * `code`. Match on `err.code` (or {@link isHijackError}), never on the message: messages
 * may be reworded to tell the user better what to do; codes never change meaning.
 *
 * @module
 */

/** The codes, grouped by layer. Each value is its own name. */
export const codes = {
  // server: hijack(), enableHijack(), trackConnections()
  /** The connection was already taken over: a second hijack, or a write on the old response. */
  ERR_HIJACKED: 'ERR_HIJACKED',
  /** The request cannot be taken over, e.g. an HTTP/2 stream (Go refuses those too). */
  ERR_NOT_SUPPORTED: 'ERR_NOT_SUPPORTED',
  /** The socket was already closed or destroyed when the takeover was asked for. */
  ERR_SOCKET_CLOSED: 'ERR_SOCKET_CLOSED',
  /** Node's parser consumed bytes behind the request head that cannot be given back. */
  ERR_BYTES_LOST: 'ERR_BYTES_LOST',
  /** The response was already finished: there is no connection left to take over. */
  ERR_RESPONSE_FINISHED: 'ERR_RESPONSE_FINISHED',
  /** An argument is not what the function takes (wrong type, unknown option value). */
  ERR_INVALID_ARGUMENT: 'ERR_INVALID_ARGUMENT',
  /** tracker.shutdown() reached its timeout; the remaining connections were destroyed. */
  ERR_SHUTDOWN_TIMEOUT: 'ERR_SHUTDOWN_TIMEOUT',
  /** tracker.shutdown() was aborted through its signal; the remaining connections were destroyed. */
  ERR_SHUTDOWN_ABORTED: 'ERR_SHUTDOWN_ABORTED',

  // socket: tcpInfo(), peerCred(), keepalive and congestion control
  /** The native part is not built or cannot load on this system. */
  ERR_NATIVE_UNAVAILABLE: 'ERR_NATIVE_UNAVAILABLE',
  /** The argument is not a net.Socket / tls.TLSSocket with a file descriptor. */
  ERR_NOT_A_SOCKET: 'ERR_NOT_A_SOCKET',
  /** The call needs a TCP socket (e.g. tcpInfo on a unix socket). */
  ERR_NOT_TCP: 'ERR_NOT_TCP',
  /** The call needs a unix-domain socket (e.g. peerCred on a TCP socket). */
  ERR_NOT_UNIX: 'ERR_NOT_UNIX',
  /** The kernel does not know the congestion control algorithm asked for. */
  ERR_UNKNOWN_CONGESTION_CONTROL: 'ERR_UNKNOWN_CONGESTION_CONTROL',
  /** getsockopt/setsockopt failed; `errno` and `syscall` say how. */
  ERR_SOCKOPT: 'ERR_SOCKOPT',

  // client: dialHijack()
  /** The target string or object cannot be understood. */
  ERR_INVALID_TARGET: 'ERR_INVALID_TARGET',
  /** The endpoint is missing or refused the connection (is the daemon running?). */
  ERR_CONNECT: 'ERR_CONNECT',
  /** Connecting took longer than the connect timeout. */
  ERR_CONNECT_TIMEOUT: 'ERR_CONNECT_TIMEOUT',
  /** The response head did not arrive within the head timeout. */
  ERR_HEAD_TIMEOUT: 'ERR_HEAD_TIMEOUT',
  /** The response head grew over the size limit. */
  ERR_HEAD_TOO_LARGE: 'ERR_HEAD_TOO_LARGE',
  /** The status line or a header line is not HTTP/1.x. */
  ERR_MALFORMED_HEAD: 'ERR_MALFORMED_HEAD',
  /** The server closed the connection before the response head ended. */
  ERR_CLOSED_BEFORE_HEAD: 'ERR_CLOSED_BEFORE_HEAD',
  /** The server answered, but not with a takeover (101, or 200 raw-stream when asked). */
  ERR_UPGRADE_REFUSED: 'ERR_UPGRADE_REFUSED',
  /** The server switched to another protocol than the one asked for. */
  ERR_UPGRADE_MISMATCH: 'ERR_UPGRADE_MISMATCH',
  /** The operation was aborted through its AbortSignal. */
  ERR_ABORTED: 'ERR_ABORTED',

  // stream: stdcopy and splice
  /** A stdcopy frame names a stream other than 0–3. */
  ERR_STDCOPY_FRAME: 'ERR_STDCOPY_FRAME',
  /** The peer sent a stdcopy system-error frame (stream 3); the message is the peer's. */
  ERR_STDCOPY_SYSTEM: 'ERR_STDCOPY_SYSTEM',
  /** The stream ended inside a stdcopy frame. */
  ERR_STDCOPY_TRUNCATED: 'ERR_STDCOPY_TRUNCATED',
  /** No byte moved in either direction for the idle timeout. */
  ERR_IDLE_TIMEOUT: 'ERR_IDLE_TIMEOUT',
  /** A write of your own to a socket the native relay of splice() carries. */
  ERR_SPLICED: 'ERR_SPLICED',

  // gateway and CLI
  /** A configuration file or value is invalid; the message says where. */
  ERR_CONFIG: 'ERR_CONFIG',
  /** A command-line flag or its value is invalid. */
  ERR_USAGE: 'ERR_USAGE',
  /** The upstream is missing, refused, or failed mid-request. */
  ERR_UPSTREAM: 'ERR_UPSTREAM',
  /** A request body is not well framed (a chunked body Go would refuse, a body cut short). */
  ERR_MALFORMED_BODY: 'ERR_MALFORMED_BODY',
  /** A request body is larger than the configured maximum (answered 413). */
  ERR_BODY_TOO_LARGE: 'ERR_BODY_TOO_LARGE',
  /** A request body stopped arriving for the body timeout (answered 408). */
  ERR_BODY_TIMEOUT: 'ERR_BODY_TIMEOUT',
  /** A request waited for an upstream slot longer than the queue timeout (answered 503). */
  ERR_QUEUE_TIMEOUT: 'ERR_QUEUE_TIMEOUT',
  /** A configured limit on connections or streams was reached (answered 429). */
  ERR_LIMIT: 'ERR_LIMIT',
} as const;

/** A code of {@link codes}. */
export type HijackErrorCode = keyof typeof codes;

/** Extra facts an error may carry, copied onto the error object. */
export interface HijackErrorDetails {
  cause?: unknown;
  [key: string]: unknown;
}

/** The one error class of this package: a stable `code` and a message that says what to do. */
export class HijackError extends Error {
  /** Stable machine-readable code, one of {@link codes}. */
  readonly code: HijackErrorCode;

  constructor(code: HijackErrorCode, message: string, details?: HijackErrorDetails) {
    super(message, details && 'cause' in details ? { cause: details.cause } : undefined);
    this.name = 'HijackError';
    this.code = code;
    if (details) {
      for (const [k, v] of Object.entries(details)) {
        if (k !== 'cause') (this as Record<string, unknown>)[k] = v;
      }
    }
  }
}

/** True when `err` is a {@link HijackError}, and, if `code` is given, has that code. */
export function isHijackError(err: unknown, code?: HijackErrorCode): err is HijackError {
  return err instanceof HijackError && (code === undefined || err.code === code);
}
