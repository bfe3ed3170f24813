/**
 * The kernel facts the live page and the metrics show for one connection, from `tcpInfo`.
 *
 * @module
 */
import type { Socket } from 'node:net';
import { tcpInfo } from '../../socket/index.js';

/** Kernel facts of a TCP connection, in display units. */
export interface TcpFacts {
  /** Smoothed round-trip time, milliseconds. */
  rtt: number;
  /** Round-trip time variation, milliseconds. */
  rttvar: number;
  /** Lowest round-trip time seen, milliseconds (absent on old kernels). */
  minRtt?: number;
  /** Congestion window, segments. */
  cwnd: number;
  /** Most recent delivery rate, bytes per second (absent on old kernels). */
  deliveryRate?: number;
  /** Retransmitted segments over the connection's life. */
  retrans: number;
}

/**
 * Returns the kernel facts of `socket`, or null when there are none: a unix socket
 * (ERR_NOT_TCP), a closed socket, or no native part.
 */
export function tcpFacts(socket: Socket | undefined): TcpFacts | null {
  if (!socket || socket.destroyed) return null;
  try {
    const i = tcpInfo(socket);
    const f: TcpFacts = {
      rtt: i.rtt / 1000,
      rttvar: i.rttvar / 1000,
      cwnd: i.sndCwnd,
      retrans: i.totalRetrans,
    };
    if (i.minRtt !== undefined && i.minRtt !== 0xffffffff) f.minRtt = i.minRtt / 1000;
    if (i.deliveryRate !== undefined) f.deliveryRate = i.deliveryRate;
    return f;
  } catch {
    return null;
  }
}
