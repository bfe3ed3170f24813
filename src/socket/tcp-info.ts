/**
 * `tcpInfo(socket)`: Linux `struct tcp_info` (include/uapi/linux/tcp.h), read with one
 * getsockopt(TCP_INFO) and decoded here in TypeScript by the length the kernel returned.
 *
 * @module
 */
import type { Socket } from 'node:net';
import { HijackError } from '../errors.js';
import { fdOf } from './fd.js';
import { native } from './native.js';
import { IPPROTO_TCP, TCP_INFO, sockoptFailed } from './sockopt.js';

/**
 * What the kernel knows about one TCP connection: every field of `struct tcp_info` that the
 * running kernel filled. Names are the kernel's without the `tcpi_` prefix, in camelCase.
 *
 * Fields up to `totalRetrans` (the first 104 bytes) are filled by every Linux kernel in use;
 * the optional ones are present only when the kernel filled them (a field the kernel did not
 * fill is absent, never a made-up 0). Units: times in µs unless noted (`last*` in ms),
 * sizes in bytes, rates in bytes per second.
 */
export interface TcpInfo {
  /** TCP state: 1 ESTABLISHED, 2 SYN_SENT, 3 SYN_RECV, 4 FIN_WAIT1, 5 FIN_WAIT2, 6 TIME_WAIT, 7 CLOSE, 8 CLOSE_WAIT, 9 LAST_ACK, 10 LISTEN, 11 CLOSING (see {@link tcpStateName}). */
  state: number;
  /** Congestion-avoidance state: 0 Open, 1 Disorder, 2 CWR, 3 Recovery, 4 Loss. */
  caState: number;
  /** Retransmissions of the current unacknowledged segment (count). */
  retransmits: number;
  /** Unanswered zero-window or keepalive probes (count). */
  probes: number;
  /** Exponential backoff of the retransmission timer (shift count). */
  backoff: number;
  /** Negotiated options, bitmask: 1 timestamps, 2 SACK, 4 window scaling, 8 ECN, 16 ECN seen, 32 SYN data, 64 µs timestamps, 128 TFO child. */
  options: number;
  /** Send window scale (shift, 0–14): the peer's announced scale. */
  sndWscale: number;
  /** Receive window scale (shift, 0–14): our announced scale. */
  rcvWscale: number;
  /** The last delivery-rate sample was application limited. */
  deliveryRateAppLimited: boolean;
  /** Why a TCP Fast Open client attempt failed (0 unspecified, 1 no cookie, 2 SYN data not acked, 3 SYN retransmitted). */
  fastopenClientFail: number;
  /** Retransmission timeout (µs). */
  rto: number;
  /** Delayed-ACK timeout (µs). */
  ato: number;
  /** Send maximum segment size (bytes). */
  sndMss: number;
  /** Estimated receive segment size (bytes). */
  rcvMss: number;
  /** Segments sent and not yet acknowledged (count). */
  unacked: number;
  /** Segments selectively acknowledged (count). */
  sacked: number;
  /** Segments considered lost (count). */
  lost: number;
  /** Segments retransmitted and not yet acknowledged (count). */
  retrans: number;
  /** Forward-acknowledged segments (count; 0 on current kernels). */
  fackets: number;
  /** Time since the last data segment was sent (ms). */
  lastDataSent: number;
  /** Time since the last ACK was sent (ms; not tracked by Linux, 0). */
  lastAckSent: number;
  /** Time since the last data segment was received (ms). */
  lastDataRecv: number;
  /** Time since the last ACK was received (ms). */
  lastAckRecv: number;
  /** Path MTU (bytes). */
  pmtu: number;
  /** Receive slow-start threshold (bytes). */
  rcvSsthresh: number;
  /** Smoothed round-trip time (µs). */
  rtt: number;
  /** Round-trip time variation (µs). */
  rttvar: number;
  /** Send slow-start threshold (segments; 2147483647 = not yet set). */
  sndSsthresh: number;
  /** Congestion window (segments). */
  sndCwnd: number;
  /** Advertised MSS (bytes). */
  advmss: number;
  /** Reordering metric (segments). */
  reordering: number;
  /** Receiver-side round-trip estimate (µs). */
  rcvRtt: number;
  /** Receive buffer space estimate (bytes). */
  rcvSpace: number;
  /** Retransmitted segments over the connection's life (count). */
  totalRetrans: number;
  /** Current pacing rate (bytes/s; Infinity when unlimited). Linux 3.15+. */
  pacingRate?: number;
  /** Pacing rate cap from SO_MAX_PACING_RATE (bytes/s; Infinity when unlimited). Linux 3.15+. */
  maxPacingRate?: number;
  /** Bytes acknowledged by the peer (bytes). Linux 4.1+. */
  bytesAcked?: number;
  /** Bytes received and acknowledged by us (bytes). Linux 4.1+. */
  bytesReceived?: number;
  /** Segments sent, retransmissions included (count). Linux 4.2+. */
  segsOut?: number;
  /** Segments received (count). Linux 4.2+. */
  segsIn?: number;
  /** Bytes written by the application and not yet sent (bytes). Linux 4.6+. */
  notsentBytes?: number;
  /** Minimum round-trip time seen (µs). Linux 4.6+. */
  minRtt?: number;
  /** Segments received with data (count). Linux 4.6+. */
  dataSegsIn?: number;
  /** Segments sent with data (count). Linux 4.6+. */
  dataSegsOut?: number;
  /** Most recent delivery-rate sample (bytes/s). Linux 4.9+. */
  deliveryRate?: number;
  /** Time with data in flight (µs). Linux 4.10+. */
  busyTime?: number;
  /** Time limited by the receive window (µs). Linux 4.10+. */
  rwndLimited?: number;
  /** Time limited by the send buffer (µs). Linux 4.10+. */
  sndbufLimited?: number;
  /** Segments delivered, retransmissions included (count). Linux 4.18+. */
  delivered?: number;
  /** Segments delivered with ECN CE marks (count). Linux 4.18+. */
  deliveredCe?: number;
  /** Bytes sent, retransmissions included (bytes). Linux 4.19+. */
  bytesSent?: number;
  /** Bytes retransmitted (bytes). Linux 4.19+. */
  bytesRetrans?: number;
  /** D-SACKs received (count). Linux 4.19+. */
  dsackDups?: number;
  /** Reordering events seen (count). Linux 4.19+. */
  reordSeen?: number;
  /** Out-of-order segments received (count). Linux 5.4+. */
  rcvOoopack?: number;
  /** Peer's advertised receive window (bytes). Linux 5.4+. */
  sndWnd?: number;
  /** Our advertised receive window (bytes). Linux 6.2+. */
  rcvWnd?: number;
  /** PLB or timeout-triggered rehashes (count). Linux 6.2+. */
  rehash?: number;
  /** RTO timeouts (count). Linux 6.7+. */
  totalRto?: number;
  /** RTO recoveries (count). Linux 6.7+. */
  totalRtoRecoveries?: number;
  /** Time spent in RTO recoveries (ms). Linux 6.7+. */
  totalRtoTime?: number;
  /** Segments received with CE marks (count). Linux 6.18+. */
  receivedCe?: number;
  /** AccECN: bytes delivered with ECT(1) (bytes). Linux 6.18+. */
  deliveredE1Bytes?: number;
  /** AccECN: bytes delivered with ECT(0) (bytes). Linux 6.18+. */
  deliveredE0Bytes?: number;
  /** AccECN: bytes delivered with CE (bytes). Linux 6.18+. */
  deliveredCeBytes?: number;
  /** AccECN: bytes received with ECT(1) (bytes). Linux 6.18+. */
  receivedE1Bytes?: number;
  /** AccECN: bytes received with ECT(0) (bytes). Linux 6.18+. */
  receivedE0Bytes?: number;
  /** AccECN: bytes received with CE (bytes). Linux 6.18+. */
  receivedCeBytes?: number;
  /**
   * The raw 32 bits at offset 276 (AccECN fail mode / option seen, ECN mode): their layout
   * changed between kernel releases, so they are given undecoded. Linux 6.18+.
   */
  accecnRaw?: number;
}

/** Size of the base struct every kernel fills (through `tcpi_total_retrans`). */
export const TCP_INFO_BASE_LENGTH = 104;
/** Size of the struct as this version of the package knows it. */
export const TCP_INFO_KNOWN_LENGTH = 280;

const TWO_32 = 4294967296;

/** A u64 rate from its two words; all ones (the kernel's "unlimited") becomes Infinity. */
function rate(lo: number, hi: number): number {
  return lo === 0xffffffff && hi === 0xffffffff ? Infinity : lo + hi * TWO_32;
}

const stateNames = [
  'UNKNOWN',
  'ESTABLISHED',
  'SYN_SENT',
  'SYN_RECV',
  'FIN_WAIT1',
  'FIN_WAIT2',
  'TIME_WAIT',
  'CLOSE',
  'CLOSE_WAIT',
  'LAST_ACK',
  'LISTEN',
  'CLOSING',
  'NEW_SYN_RECV',
  'BOUND_INACTIVE',
] as const;

/** The kernel's name of a TCP state number (`TcpInfo.state`): 1 → 'ESTABLISHED' …; 'UNKNOWN' otherwise. */
export function tcpStateName(state: number): string {
  return stateNames[state] ?? 'UNKNOWN';
}

/**
 * Decodes `length` bytes of a `struct tcp_info` (as getsockopt filled them) into a
 * {@link TcpInfo}. Pure: no system call. Fields beyond `length` are left out; fields beyond
 * what this package knows are ignored. Throws ERR_SOCKOPT when `length` is shorter than the
 * 104-byte base every kernel fills. Reads the host's byte order (the kernel's own).
 */
export function decodeTcpInfo(buf: Uint8Array, length: number): TcpInfo {
  const n = Math.min(length, buf.byteLength);
  if (!(n >= TCP_INFO_BASE_LENGTH)) {
    throw new HijackError(
      'ERR_SOCKOPT',
      `getsockopt(TCP_INFO) returned ${length} bytes; at least ${TCP_INFO_BASE_LENGTH} were expected`,
    );
  }
  // 32-bit words through a Uint32Array: several times faster than DataView reads. It needs
  // 4-byte alignment and whole words, so other input is copied first (zero padded; padding
  // is never read as a field, every field is checked against n).
  let b = buf;
  if (buf.byteOffset % 4 !== 0 || n % 4 !== 0) {
    b = new Uint8Array((n + 3) & ~3);
    b.set(buf.subarray(0, n));
  }
  const w = new Uint32Array(b.buffer, b.byteOffset, (n + 3) >> 2);
  if (n >= TCP_INFO_KNOWN_LENGTH) {
    // The common case on a current kernel: one object literal, one hidden class, no
    // property additions (several times faster than growing the object field by field).
    return {
      state: b[0]!,
      caState: b[1]!,
      retransmits: b[2]!,
      probes: b[3]!,
      backoff: b[4]!,
      options: b[5]!,
      sndWscale: b[6]! & 0x0f,
      rcvWscale: b[6]! >> 4,
      deliveryRateAppLimited: (b[7]! & 1) === 1,
      fastopenClientFail: (b[7]! >> 1) & 3,
      rto: w[2]!, // offset 8
      ato: w[3]!, // offset 12
      sndMss: w[4]!, // offset 16
      rcvMss: w[5]!, // offset 20
      unacked: w[6]!, // offset 24
      sacked: w[7]!, // offset 28
      lost: w[8]!, // offset 32
      retrans: w[9]!, // offset 36
      fackets: w[10]!, // offset 40
      lastDataSent: w[11]!, // offset 44
      lastAckSent: w[12]!, // offset 48
      lastDataRecv: w[13]!, // offset 52
      lastAckRecv: w[14]!, // offset 56
      pmtu: w[15]!, // offset 60
      rcvSsthresh: w[16]!, // offset 64
      rtt: w[17]!, // offset 68
      rttvar: w[18]!, // offset 72
      sndSsthresh: w[19]!, // offset 76
      sndCwnd: w[20]!, // offset 80
      advmss: w[21]!, // offset 84
      reordering: w[22]!, // offset 88
      rcvRtt: w[23]!, // offset 92
      rcvSpace: w[24]!, // offset 96
      totalRetrans: w[25]!, // offset 100
      pacingRate: rate(w[26]!, w[27]!), // 104
      maxPacingRate: rate(w[28]!, w[29]!), // 112
      bytesAcked: w[30]! + w[31]! * TWO_32, // 120
      bytesReceived: w[32]! + w[33]! * TWO_32, // 128
      segsOut: w[34]!, // 136
      segsIn: w[35]!, // 140
      notsentBytes: w[36]!, // 144
      minRtt: w[37]!, // 148
      dataSegsIn: w[38]!, // 152
      dataSegsOut: w[39]!, // 156
      deliveryRate: w[40]! + w[41]! * TWO_32, // 160
      busyTime: w[42]! + w[43]! * TWO_32, // 168
      rwndLimited: w[44]! + w[45]! * TWO_32, // 176
      sndbufLimited: w[46]! + w[47]! * TWO_32, // 184
      delivered: w[48]!, // 192
      deliveredCe: w[49]!, // 196
      bytesSent: w[50]! + w[51]! * TWO_32, // 200
      bytesRetrans: w[52]! + w[53]! * TWO_32, // 208
      dsackDups: w[54]!, // 216
      reordSeen: w[55]!, // 220
      rcvOoopack: w[56]!, // 224
      sndWnd: w[57]!, // 228
      rcvWnd: w[58]!, // 232
      rehash: w[59]!, // 236
      totalRto: w[60]! & 0xffff, // 240
      totalRtoRecoveries: w[60]! >>> 16, // 242
      totalRtoTime: w[61]!, // 244
      receivedCe: w[62]!, // 248
      deliveredE1Bytes: w[63]!, // 252
      deliveredE0Bytes: w[64]!, // 256
      deliveredCeBytes: w[65]!, // 260
      receivedE1Bytes: w[66]!, // 264
      receivedE0Bytes: w[67]!, // 268
      receivedCeBytes: w[68]!, // 272
      accecnRaw: w[69]!, // 276
    };
  }
  const info: TcpInfo = {
    state: b[0]!,
    caState: b[1]!,
    retransmits: b[2]!,
    probes: b[3]!,
    backoff: b[4]!,
    options: b[5]!,
    sndWscale: b[6]! & 0x0f,
    rcvWscale: b[6]! >> 4,
    deliveryRateAppLimited: (b[7]! & 1) === 1,
    fastopenClientFail: (b[7]! >> 1) & 3,
    rto: w[2]!, // offset 8
    ato: w[3]!, // offset 12
    sndMss: w[4]!, // offset 16
    rcvMss: w[5]!, // offset 20
    unacked: w[6]!, // offset 24
    sacked: w[7]!, // offset 28
    lost: w[8]!, // offset 32
    retrans: w[9]!, // offset 36
    fackets: w[10]!, // offset 40
    lastDataSent: w[11]!, // offset 44
    lastAckSent: w[12]!, // offset 48
    lastDataRecv: w[13]!, // offset 52
    lastAckRecv: w[14]!, // offset 56
    pmtu: w[15]!, // offset 60
    rcvSsthresh: w[16]!, // offset 64
    rtt: w[17]!, // offset 68
    rttvar: w[18]!, // offset 72
    sndSsthresh: w[19]!, // offset 76
    sndCwnd: w[20]!, // offset 80
    advmss: w[21]!, // offset 84
    reordering: w[22]!, // offset 88
    rcvRtt: w[23]!, // offset 92
    rcvSpace: w[24]!, // offset 96
    totalRetrans: w[25]!, // offset 100
  };
  if (n >= 112) info.pacingRate = rate(w[26]!, w[27]!);
  if (n >= 120) info.maxPacingRate = rate(w[28]!, w[29]!);
  if (n >= 128) info.bytesAcked = w[30]! + w[31]! * TWO_32;
  if (n >= 136) info.bytesReceived = w[32]! + w[33]! * TWO_32;
  if (n >= 140) info.segsOut = w[34]!;
  if (n >= 144) info.segsIn = w[35]!;
  if (n >= 148) info.notsentBytes = w[36]!;
  if (n >= 152) info.minRtt = w[37]!;
  if (n >= 156) info.dataSegsIn = w[38]!;
  if (n >= 160) info.dataSegsOut = w[39]!;
  if (n >= 168) info.deliveryRate = w[40]! + w[41]! * TWO_32;
  if (n >= 176) info.busyTime = w[42]! + w[43]! * TWO_32;
  if (n >= 184) info.rwndLimited = w[44]! + w[45]! * TWO_32;
  if (n >= 192) info.sndbufLimited = w[46]! + w[47]! * TWO_32;
  if (n >= 196) info.delivered = w[48]!;
  if (n >= 200) info.deliveredCe = w[49]!;
  if (n >= 208) info.bytesSent = w[50]! + w[51]! * TWO_32;
  if (n >= 216) info.bytesRetrans = w[52]! + w[53]! * TWO_32;
  if (n >= 220) info.dsackDups = w[54]!;
  if (n >= 224) info.reordSeen = w[55]!;
  if (n >= 228) info.rcvOoopack = w[56]!;
  if (n >= 232) info.sndWnd = w[57]!;
  if (n >= 236) info.rcvWnd = w[58]!;
  if (n >= 240) info.rehash = w[59]!;
  if (n >= 242) info.totalRto = w[60]! & 0xffff;
  if (n >= 244) info.totalRtoRecoveries = w[60]! >>> 16;
  if (n >= 248) info.totalRtoTime = w[61]!;
  if (n >= 252) info.receivedCe = w[62]!;
  if (n >= 256) info.deliveredE1Bytes = w[63]!;
  if (n >= 260) info.deliveredE0Bytes = w[64]!;
  if (n >= 264) info.deliveredCeBytes = w[65]!;
  if (n >= 268) info.receivedE1Bytes = w[66]!;
  if (n >= 272) info.receivedE0Bytes = w[67]!;
  if (n >= 276) info.receivedCeBytes = w[68]!;
  if (n >= 280) info.accecnRaw = w[69]!;
  return info;
}

// One buffer for every call: larger than any struct tcp_info so far, so a newer kernel's
// extra fields are simply not decoded rather than cut short mid-field.
const scratch = new Uint8Array(512);

/**
 * Returns what the kernel knows about a TCP connection: every `struct tcp_info` field the
 * running kernel fills (see {@link TcpInfo} for names and units).
 *
 * Works on net.Socket and tls.TLSSocket, client or server side, and on the socket
 * `hijack()` returns. Throws a HijackError: ERR_NOT_A_SOCKET, ERR_SOCKET_CLOSED,
 * ERR_NOT_TCP (a unix-domain socket), ERR_NATIVE_UNAVAILABLE (native part not built or
 * not Linux), ERR_SOCKOPT (the system call failed).
 */
export function tcpInfo(socket: Socket): TcpInfo {
  const fd = fdOf(socket, 'tcp', 'tcpInfo()');
  const len = native().getsockopt(fd, IPPROTO_TCP, TCP_INFO, scratch);
  if (len < 0) sockoptFailed(-len, 'getsockopt', 'TCP_INFO', 'tcpInfo()');
  return decodeTcpInfo(scratch, len);
}
