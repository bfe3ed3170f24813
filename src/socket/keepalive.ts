/**
 * TCP keepalive (SO_KEEPALIVE, TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT) and
 * TCP_USER_TIMEOUT: set them and read back what the kernel holds.
 *
 * @module
 */
import type { Socket } from 'node:net';
import { HijackError } from '../errors.js';
import { fdOf } from './fd.js';
import { native } from './native.js';
import {
  IPPROTO_TCP,
  SOL_SOCKET,
  SO_KEEPALIVE,
  TCP_KEEPCNT,
  TCP_KEEPIDLE,
  TCP_KEEPINTVL,
  TCP_USER_TIMEOUT,
  sockoptFailed,
} from './sockopt.js';

/** Keepalive settings. Times are in milliseconds, rounded up to whole seconds (the kernel's unit). */
export interface KeepAliveOptions {
  /** Idle time before the first probe (ms, 1 s to 32767 s). */
  idle?: number;
  /** Time between unanswered probes (ms, 1 s to 32767 s). */
  interval?: number;
  /** Unanswered probes before the connection is dropped (1–127). */
  count?: number;
}

/** Keepalive as the kernel holds it for one socket. */
export interface KeepAlive {
  /** SO_KEEPALIVE is on. */
  enabled: boolean;
  /** Idle time before the first probe (ms). */
  idle: number;
  /** Time between probes (ms). */
  interval: number;
  /** Unanswered probes before the connection is dropped. */
  count: number;
}

const MAX_KEEP_SECONDS = 32767; // MAX_TCP_KEEPIDLE / MAX_TCP_KEEPINTVL
const MAX_KEEP_COUNT = 127; // MAX_TCP_KEEPCNT

function seconds(name: string, ms: unknown): number {
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms <= 0 || ms > MAX_KEEP_SECONDS * 1000) {
    throw new HijackError(
      'ERR_INVALID_ARGUMENT',
      `setKeepAlive(): ${name} must be a number of milliseconds from 1 to ${MAX_KEEP_SECONDS * 1000}; got ${String(ms)}`,
    );
  }
  return Math.ceil(ms / 1000);
}

function setInt(
  fd: number,
  level: number,
  name: number,
  option: string,
  value: number,
  what: string,
): void {
  const r = native().setsockoptInt(fd, level, name, value);
  if (r < 0) sockoptFailed(-r, 'setsockopt', option, what);
}

function getInt(fd: number, level: number, name: number, option: string, what: string): number {
  const r = native().getsockoptInt(fd, level, name);
  if (r < -0xffffffff) sockoptFailed(-(r + 0x100000000), 'getsockopt', option, what);
  return r;
}

/**
 * Turns TCP keepalive on with the given idle time, probe interval and probe count (each
 * left as the kernel has it when not given), or off with `false`.
 *
 * With all three set, a peer that goes silent is detected after about
 * `idle + interval × count`; the socket then errors with ETIMEDOUT. Node's own
 * `socket.setKeepAlive(true, ms)` sets only the idle time (and, with libuv ≥ 1.49, fixes
 * interval and count); calling it afterwards overrides these values. Throws a HijackError:
 * ERR_INVALID_ARGUMENT, ERR_NOT_A_SOCKET, ERR_SOCKET_CLOSED, ERR_NOT_TCP,
 * ERR_NATIVE_UNAVAILABLE, ERR_SOCKOPT.
 */
export function setKeepAlive(socket: Socket, options: KeepAliveOptions | false): void {
  const what = 'setKeepAlive()';
  if (options !== false && (typeof options !== 'object' || options === null)) {
    throw new HijackError('ERR_INVALID_ARGUMENT', `${what}: options must be an object or false`);
  }
  let idle: number | undefined;
  let interval: number | undefined;
  let count: number | undefined;
  if (options) {
    if (options.idle !== undefined) idle = seconds('idle', options.idle);
    if (options.interval !== undefined) interval = seconds('interval', options.interval);
    if (options.count !== undefined) {
      const c = options.count;
      if (!Number.isInteger(c) || c < 1 || c > MAX_KEEP_COUNT) {
        throw new HijackError(
          'ERR_INVALID_ARGUMENT',
          `${what}: count must be an integer from 1 to ${MAX_KEEP_COUNT}; got ${String(c)}`,
        );
      }
      count = c;
    }
  }
  const fd = fdOf(socket, 'tcp', what);
  if (idle !== undefined) setInt(fd, IPPROTO_TCP, TCP_KEEPIDLE, 'TCP_KEEPIDLE', idle, what);
  if (interval !== undefined)
    setInt(fd, IPPROTO_TCP, TCP_KEEPINTVL, 'TCP_KEEPINTVL', interval, what);
  if (count !== undefined) setInt(fd, IPPROTO_TCP, TCP_KEEPCNT, 'TCP_KEEPCNT', count, what);
  setInt(fd, SOL_SOCKET, SO_KEEPALIVE, 'SO_KEEPALIVE', options ? 1 : 0, what);
}

/** Reads the kernel's keepalive settings for a TCP socket (times in ms). Throws as {@link setKeepAlive}. */
export function keepAlive(socket: Socket): KeepAlive {
  const what = 'keepAlive()';
  const fd = fdOf(socket, 'tcp', what);
  return {
    enabled: getInt(fd, SOL_SOCKET, SO_KEEPALIVE, 'SO_KEEPALIVE', what) !== 0,
    idle: getInt(fd, IPPROTO_TCP, TCP_KEEPIDLE, 'TCP_KEEPIDLE', what) * 1000,
    interval: getInt(fd, IPPROTO_TCP, TCP_KEEPINTVL, 'TCP_KEEPINTVL', what) * 1000,
    count: getInt(fd, IPPROTO_TCP, TCP_KEEPCNT, 'TCP_KEEPCNT', what),
  };
}

/**
 * Sets TCP_USER_TIMEOUT: the longest time (ms) sent data may stay unacknowledged (and,
 * with keepalive on, the longest time keepalive probes may go unanswered) before the kernel
 * drops the connection with ETIMEDOUT. 0 restores the system default. Throws a HijackError:
 * ERR_INVALID_ARGUMENT, ERR_NOT_A_SOCKET, ERR_SOCKET_CLOSED, ERR_NOT_TCP,
 * ERR_NATIVE_UNAVAILABLE, ERR_SOCKOPT.
 */
export function setUserTimeout(socket: Socket, ms: number): void {
  const what = 'setUserTimeout()';
  if (!Number.isInteger(ms) || ms < 0 || ms > 0x7fffffff) {
    throw new HijackError(
      'ERR_INVALID_ARGUMENT',
      `${what}: ms must be an integer from 0 (system default) to 2147483647; got ${String(ms)}`,
    );
  }
  const fd = fdOf(socket, 'tcp', what);
  setInt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, 'TCP_USER_TIMEOUT', ms, what);
}

/** Reads TCP_USER_TIMEOUT for a TCP socket (ms; 0 = system default). Throws as {@link setUserTimeout}. */
export function userTimeout(socket: Socket): number {
  const what = 'userTimeout()';
  return getInt(fdOf(socket, 'tcp', what), IPPROTO_TCP, TCP_USER_TIMEOUT, 'TCP_USER_TIMEOUT', what);
}
