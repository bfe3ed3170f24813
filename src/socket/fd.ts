/**
 * Finds the kernel file descriptor behind a net.Socket or tls.TLSSocket, with the checks
 * every socket call needs (a socket at all, still open, the right transport).
 *
 * @module
 */
import { HijackError } from '../errors.js';

/** The transport of a socket's handle: a TCP socket or a unix-domain socket ("pipe"). */
export type Transport = 'tcp' | 'unix';

interface Handle {
  fd?: number;
  constructor?: { name?: string };
  /** Set by tls on a TLSWrap: the TCP or Pipe handle it wraps. */
  _parent?: Handle;
}

interface SocketLike {
  destroyed?: boolean;
  connecting?: boolean;
  _handle?: Handle | null;
}

function kindOf(handle: Handle | undefined): Transport | undefined {
  const name = handle?.constructor?.name;
  if (name === 'TCP') return 'tcp';
  if (name === 'Pipe') return 'unix';
  return undefined;
}

function looksLikeSocket(v: unknown): v is SocketLike {
  return (
    typeof v === 'object' &&
    v !== null &&
    '_handle' in v &&
    typeof (v as { write?: unknown }).write === 'function' &&
    typeof (v as { destroy?: unknown }).destroy === 'function'
  );
}

/**
 * Returns the file descriptor and transport of `socket`; throws a HijackError when it has
 * none: ERR_NOT_A_SOCKET (not a net.Socket / tls.TLSSocket over a TCP or unix socket),
 * ERR_SOCKET_CLOSED (destroyed or not connected yet), ERR_NOT_TCP / ERR_NOT_UNIX when
 * `want` names the other transport.
 *
 * Works on plain sockets (`socket._handle.fd`) and TLS sockets, client or server side: a
 * TLSSocket's handle is a TLSWrap whose `_parent` is the TCP or Pipe handle it wraps.
 */
export function fdOf(socket: unknown, want?: Transport, what = 'this call'): number {
  if (!looksLikeSocket(socket)) {
    throw new HijackError(
      'ERR_NOT_A_SOCKET',
      `${what} needs a net.Socket or tls.TLSSocket; got ${describe(socket)}`,
    );
  }
  const handle = socket._handle ?? undefined;
  if (socket.destroyed || !handle) {
    throw new HijackError(
      'ERR_SOCKET_CLOSED',
      socket.destroyed
        ? `${what} needs an open socket; this one is destroyed`
        : `${what} needs a connected socket; this one has no handle (not connected yet?)`,
    );
  }
  const kind = kindOf(handle) ?? kindOf(handle._parent);
  const fd = handle.fd;
  if (!kind || typeof fd !== 'number') {
    throw new HijackError(
      'ERR_NOT_A_SOCKET',
      `${what} needs a socket over a TCP or unix-domain connection; this one runs over ` +
        `${handle._parent?.constructor?.name ?? handle.constructor?.name ?? 'an unknown handle'}`,
    );
  }
  if (fd < 0) {
    throw new HijackError(
      'ERR_SOCKET_CLOSED',
      `${what} needs an open socket; its file descriptor is closed`,
    );
  }
  if (want === 'tcp' && kind !== 'tcp') {
    throw new HijackError(
      'ERR_NOT_TCP',
      `${what} needs a TCP socket; this is a unix-domain socket`,
    );
  }
  if (want === 'unix' && kind !== 'unix') {
    throw new HijackError(
      'ERR_NOT_UNIX',
      `${what} needs a unix-domain socket; this is a TCP socket`,
    );
  }
  return fd;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v !== 'object') return typeof v;
  return `an object of class ${(v as object).constructor?.name ?? 'Object'}`;
}
