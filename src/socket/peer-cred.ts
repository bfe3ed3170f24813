/**
 * `peerCred(socket)`: who is on the other end of a unix-domain socket (SO_PEERCRED).
 *
 * @module
 */
import type { Socket } from 'node:net';
import { fdOf } from './fd.js';
import { native } from './native.js';
import { SOL_SOCKET, SO_PEERCRED, sockoptFailed } from './sockopt.js';

/** The peer process of a unix-domain socket, as the kernel recorded it at connect() time. */
export interface PeerCred {
  /** Process id of the peer (the process that called connect() or listen()). */
  pid: number;
  /** Effective user id of the peer at that time. */
  uid: number;
  /** Effective group id of the peer at that time. */
  gid: number;
}

const scratch = new Uint8Array(12);
const view = new DataView(scratch.buffer);

/**
 * Returns the pid, uid and gid of the process on the other end of a unix-domain socket.
 *
 * The kernel records them when the connection is made (for a server-side socket: the
 * client's credentials at connect(); for a client-side socket: the server's at listen()),
 * so they cannot be forged by the peer later. Throws a HijackError: ERR_NOT_A_SOCKET,
 * ERR_SOCKET_CLOSED, ERR_NOT_UNIX (a TCP socket), ERR_NATIVE_UNAVAILABLE, ERR_SOCKOPT.
 */
export function peerCred(socket: Socket): PeerCred {
  const fd = fdOf(socket, 'unix', 'peerCred()');
  const len = native().getsockopt(fd, SOL_SOCKET, SO_PEERCRED, scratch);
  if (len < 0) sockoptFailed(-len, 'getsockopt', 'SO_PEERCRED', 'peerCred()');
  return {
    pid: view.getInt32(0, true),
    uid: view.getUint32(4, true),
    gid: view.getUint32(8, true),
  };
}
