/**
 * Congestion control per socket (TCP_CONGESTION) and BBR's model of the path (TCP_CC_INFO).
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { HijackError } from '../errors.js';
import { fdOf } from './fd.js';
import { native } from './native.js';
import { IPPROTO_TCP, TCP_CC_INFO, TCP_CONGESTION, sockoptFailed } from './sockopt.js';
import { constants } from 'node:os';

/** BBR's model of the path (`struct tcp_bbr_info`). */
export interface BbrInfo {
  /** Estimated bottleneck bandwidth (bytes/s). */
  bandwidth: number;
  /** Minimum round-trip time in BBR's current window (µs). */
  minRtt: number;
  /** Pacing gain (a ratio; the kernel's fixed-point value divided by 256). */
  pacingGain: number;
  /** Congestion-window gain (a ratio; the kernel's value divided by 256). */
  cwndGain: number;
}

const TCP_CA_NAME_MAX = 16;
const nameBuf = new Uint8Array(TCP_CA_NAME_MAX);
const ccBuf = new Uint8Array(64);
const ccView = new DataView(ccBuf.buffer);

/**
 * The congestion control algorithms this kernel has loaded
 * (/proc/sys/net/ipv4/tcp_available_congestion_control), or [] where that is unreadable.
 */
export function availableCongestionControls(): string[] {
  try {
    return readFileSync('/proc/sys/net/ipv4/tcp_available_congestion_control', 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean);
  } catch {
    return [];
  }
}

/**
 * Returns the name of the congestion control algorithm a TCP socket uses ('cubic', 'bbr',
 * 'reno' …). Throws a HijackError: ERR_NOT_A_SOCKET, ERR_SOCKET_CLOSED, ERR_NOT_TCP,
 * ERR_NATIVE_UNAVAILABLE, ERR_SOCKOPT.
 */
export function congestionControl(socket: Socket): string {
  const what = 'congestionControl()';
  const fd = fdOf(socket, 'tcp', what);
  const len = native().getsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, nameBuf);
  if (len < 0) sockoptFailed(-len, 'getsockopt', 'TCP_CONGESTION', what);
  const end = nameBuf.indexOf(0);
  return Buffer.from(nameBuf.buffer, 0, end >= 0 && end < len ? end : len).toString('latin1');
}

/**
 * Switches a TCP socket to the named congestion control algorithm ('cubic', 'reno', 'bbr'
 * where the kernel has it). Throws a HijackError: ERR_UNKNOWN_CONGESTION_CONTROL (the
 * kernel has no such algorithm; the message lists the available ones), ERR_SOCKOPT with
 * errno EPERM (an algorithm not in net.ipv4.tcp_allowed_congestion_control, for a process
 * without CAP_NET_ADMIN), ERR_INVALID_ARGUMENT, ERR_NOT_A_SOCKET, ERR_SOCKET_CLOSED,
 * ERR_NOT_TCP, ERR_NATIVE_UNAVAILABLE.
 */
export function setCongestionControl(socket: Socket, name: string): void {
  const what = 'setCongestionControl()';
  if (typeof name !== 'string' || name.length === 0) {
    throw new HijackError('ERR_INVALID_ARGUMENT', `${what}: name must be a non-empty string`);
  }
  const fd = fdOf(socket, 'tcp', what);
  const bytes = Buffer.from(name, 'latin1');
  const unknown = () =>
    new HijackError(
      'ERR_UNKNOWN_CONGESTION_CONTROL',
      `${what}: the kernel has no congestion control named ${JSON.stringify(name)}; ` +
        `available: ${availableCongestionControls().join(', ') || 'unknown'} ` +
        '(others may need a kernel module, e.g. modprobe tcp_bbr)',
      { name, available: availableCongestionControls() },
    );
  if (bytes.length >= TCP_CA_NAME_MAX || bytes.includes(0)) throw unknown();
  const r = native().setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, bytes, bytes.length);
  if (r === -constants.errno.ENOENT) throw unknown();
  if (r < 0) sockoptFailed(-r, 'setsockopt', 'TCP_CONGESTION', what);
}

/**
 * Returns BBR's bandwidth estimate, min RTT and gains for a socket using BBR, or null when
 * the socket uses another algorithm. Throws as {@link congestionControl}.
 */
export function bbrInfo(socket: Socket): BbrInfo | null {
  const what = 'bbrInfo()';
  if (congestionControl(socket) !== 'bbr') return null;
  const fd = fdOf(socket, 'tcp', what);
  const len = native().getsockopt(fd, IPPROTO_TCP, TCP_CC_INFO, ccBuf);
  if (len < 0) sockoptFailed(-len, 'getsockopt', 'TCP_CC_INFO', what);
  if (len < 20) return null;
  return {
    bandwidth: ccView.getUint32(0, true) + ccView.getUint32(4, true) * 4294967296,
    minRtt: ccView.getUint32(8, true),
    pacingGain: ccView.getUint32(12, true) / 256,
    cwndGain: ccView.getUint32(16, true) / 256,
  };
}
