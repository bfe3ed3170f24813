/**
 * Every error this package throws or rejects with is a {@link HijackError} with a stable
 * `code`. Match on `err.code` (or {@link isHijackError}), never on the message: messages
 * may be reworded to tell the user better what to do; codes never change meaning.
 *
 * The class is branded with `Symbol.for('hijack.error')` (as undici brands its errors), so
 * `instanceof HijackError` and {@link isHijackError} also recognise errors made by another
 * copy of this package in the same process (two versions in node_modules, or the ESM and
 * the CommonJS build side by side).
 *
 * @module
 */
import type { IncomingHttpHeaders } from 'node:http';

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

/** No facts beyond `code`, `message` and (maybe) `cause`. */
export type NoDetails = Record<never, never>;

/** Why a getsockopt/setsockopt call failed (ERR_SOCKOPT, and the codes it maps errnos to). */
export interface SockoptDetails {
  /** The errno name, e.g. `'EPERM'`. */
  errno?: string;
  /** Which of the two calls failed. */
  syscall?: 'getsockopt' | 'setsockopt';
  /** The option asked for, e.g. `'TCP_INFO'`. */
  option?: string;
}

/**
 * The facts each code carries, copied onto the error object: an `ERR_UPGRADE_REFUSED` error
 * has `err.statusCode`, `err.headers` and so on. Read them after narrowing by code, with
 * {@link isHijackError}`(err, code)` or `err.code === …` on a {@link HijackError}. Optional
 * members are there only when the throwing site knew them. A code missing from this map
 * (none today) carries open, untyped facts.
 */
export interface ErrorDetails {
  ERR_HIJACKED: NoDetails;
  ERR_NOT_SUPPORTED: NoDetails;
  ERR_SOCKET_CLOSED: SockoptDetails;
  ERR_BYTES_LOST: NoDetails;
  ERR_RESPONSE_FINISHED: NoDetails;
  ERR_INVALID_ARGUMENT: NoDetails;
  ERR_SHUTDOWN_TIMEOUT: NoDetails;
  ERR_SHUTDOWN_ABORTED: NoDetails;

  ERR_NATIVE_UNAVAILABLE: NoDetails;
  ERR_NOT_A_SOCKET: SockoptDetails;
  ERR_NOT_TCP: NoDetails;
  ERR_NOT_UNIX: NoDetails;
  ERR_UNKNOWN_CONGESTION_CONTROL: {
    /** The algorithm asked for. */
    name: string;
    /** The algorithms the kernel offers (net.ipv4.tcp_available_congestion_control). */
    available: string[];
  };
  ERR_SOCKOPT: SockoptDetails;

  ERR_INVALID_TARGET: {
    /** The target as given. */
    target: unknown;
  };
  ERR_CONNECT: {
    /** The endpoint as shown in the message (`unix:///run/x.sock`, `host:port`). */
    target: string;
    /** Node's negative errno, when the failure was a system call. */
    errno?: number | undefined;
    /** The failed system call (`connect`, `getaddrinfo` …). */
    syscall?: string | undefined;
    /** The system error's name (`ECONNREFUSED`, `ENOENT` …). */
    sysCode?: string | undefined;
  };
  ERR_CONNECT_TIMEOUT: {
    /** The endpoint as shown in the message. */
    target: string;
    /** The connect timeout that ran out, in ms. */
    timeout: number;
  };
  ERR_HEAD_TIMEOUT: {
    /** The head timeout that ran out, in ms. */
    timeout?: number;
    /** How many bytes of the head had arrived. */
    received?: number;
  };
  ERR_HEAD_TOO_LARGE: {
    /** The size limit, in bytes. */
    maxHeaderSize: number;
  };
  ERR_MALFORMED_HEAD: {
    /** The offending line, when one line is to blame. */
    line?: string;
  };
  ERR_CLOSED_BEFORE_HEAD: {
    /** How many bytes of the head had arrived. */
    received?: number;
    /** The system error's name, when the connection failed rather than ended. */
    sysCode?: string | undefined;
  };
  ERR_UPGRADE_REFUSED: {
    /** The status the server answered with. */
    statusCode: number;
    /** Its reason phrase. */
    statusMessage: string;
    /** The response headers. */
    headers: IncomingHttpHeaders;
    /** The server's message, read from the body (Docker's `{"message": …}` or the text). */
    serverMessage: string;
  };
  ERR_UPGRADE_MISMATCH: {
    /** The status the server answered with. */
    statusCode?: number;
    /** The protocol the server switched to (client side). */
    upgrade?: string;
    /** The protocol asked for (client side). */
    expected?: string;
    /** The protocol the client asked for (gateway side). */
    requested?: string;
    /** The protocol the upstream switched to (gateway side). */
    got?: string | undefined;
  };
  ERR_ABORTED: NoDetails;

  ERR_STDCOPY_FRAME: {
    /** The stream number the frame names. */
    stream: number;
  };
  ERR_STDCOPY_SYSTEM: {
    /** The peer's message. */
    serverMessage: string;
  };
  ERR_STDCOPY_TRUNCATED: NoDetails;
  ERR_IDLE_TIMEOUT: {
    /** The idle timeout that ran out, in ms. */
    idleTimeout?: number;
  };
  ERR_SPLICED: NoDetails;

  ERR_CONFIG: {
    /** The configuration file, when the value came from one. */
    file?: string;
    /** The rule text at fault. */
    rule?: string;
    /** Where the rule came from (file position, flag, preset). */
    source?: string;
    /** The upstream value at fault. */
    upstream?: string;
  };
  ERR_USAGE: {
    /** Set when the "error" is a help request: `helpText` is what to print. */
    help?: boolean;
    /** The help text, for a help request. */
    helpText?: string;
  };
  ERR_UPSTREAM: {
    /** The upstream's address. */
    upstream?: string;
  };
}

/** The facts an error with code `C` carries: its {@link ErrorDetails} entry. */
export type DetailsOf<C extends HijackErrorCode> = C extends keyof ErrorDetails
  ? ErrorDetails[C]
  : HijackErrorDetails;

/**
 * Open facts: the shape of a code's details when {@link ErrorDetails} has no entry for it,
 * and the widest third argument of the constructor.
 */
export interface HijackErrorDetails {
  cause?: unknown;
  [key: string]: unknown;
}

/** The third argument of `new HijackError(code, message, details)`: the code's facts and a cause. */
export type HijackErrorInit<C extends HijackErrorCode> = C extends HijackErrorCode
  ? DetailsOf<C> & { cause?: unknown }
  : never;

/**
 * The rest of the constructor's arguments after code and message: the
 * {@link HijackErrorInit}, required when the code's {@link ErrorDetails} has required facts.
 */
export type HijackErrorArgs<C extends HijackErrorCode> =
  NoDetails extends DetailsOf<C> ? [details?: HijackErrorInit<C>] : [details: HijackErrorInit<C>];

/** What every {@link HijackError} has, whatever its code. */
export interface HijackErrorBase<C extends HijackErrorCode = HijackErrorCode> extends Error {
  /** Always `'HijackError'`. */
  name: string;
  /** Stable machine-readable code, one of {@link codes}. */
  readonly code: C;
}

/**
 * The one error class of this package: a stable `code`, a message that says what to do, and
 * the facts of {@link ErrorDetails} for that code as own properties. `HijackError` alone is
 * the union over all codes, so `err.code === 'ERR_UPGRADE_REFUSED'` narrows it to the type
 * with `statusCode`; `HijackError<'ERR_CONNECT'>` is one code's error.
 */
export type HijackError<C extends HijackErrorCode = HijackErrorCode> = C extends HijackErrorCode
  ? HijackErrorBase<C> & Readonly<DetailsOf<C>>
  : never;

/** The constructor of {@link HijackError}. */
export interface HijackErrorConstructor {
  /**
   * A new error with `code`, `message`, and `details` copied onto it (`cause` becomes the
   * standard `error.cause`).
   */
  new <C extends HijackErrorCode>(
    code: C,
    message: string,
    ...details: HijackErrorArgs<C>
  ): HijackError<C>;
  readonly prototype: HijackErrorBase;
  /**
   * True for any HijackError, also one made by another copy of this package: the check
   * reads the `Symbol.for('hijack.error')` brand, not the prototype chain.
   */
  [Symbol.hasInstance](value: unknown): value is HijackError;
}

/** The brand every copy of this package puts on its errors' prototype. */
const kHijackError = Symbol.for('hijack.error');

/** True when `value` carries the brand of some copy of this package's HijackError. */
function branded(value: unknown): boolean {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { [kHijackError]?: unknown })[kHijackError] === true
  );
}

class HijackErrorImpl extends Error {
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

  static override [Symbol.hasInstance](value: unknown): boolean {
    // A subclass keeps the ordinary prototype-chain check.
    if (this !== HijackErrorImpl) return Function.prototype[Symbol.hasInstance].call(this, value);
    return branded(value);
  }
}
Object.defineProperty(HijackErrorImpl, 'name', { value: 'HijackError' });
Object.defineProperty(HijackErrorImpl.prototype, kHijackError, { value: true });

/**
 * The one error class of this package: `new HijackError(code, message, details?)`. See the
 * {@link HijackError} type for what an instance has, and {@link isHijackError} to recognise
 * one (`instanceof` works too, across copies of the package).
 */
export const HijackError = HijackErrorImpl as unknown as HijackErrorConstructor;

/**
 * True when `err` is a {@link HijackError} (from this or any other copy of the package),
 * and, if `code` is given, has that code; the type then narrows to that code's error with
 * its {@link ErrorDetails}.
 */
export function isHijackError(err: unknown): err is HijackError;
export function isHijackError<C extends HijackErrorCode>(
  err: unknown,
  code: C | undefined,
): err is HijackError<C>;
export function isHijackError(err: unknown, code?: HijackErrorCode): boolean {
  return branded(err) && (code === undefined || (err as HijackErrorBase).code === code);
}
