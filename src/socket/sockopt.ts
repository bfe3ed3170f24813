/**
 * Linux socket option numbers and the turning of negative errno results into HijackErrors.
 *
 * @module
 */
import { constants } from 'node:os';
import { HijackError, type HijackErrorCode } from '../errors.js';

/** Levels and option names from include/uapi/linux/{socket,in,tcp}.h (Linux values). */
export const SOL_SOCKET = 1;
export const SO_KEEPALIVE = 9;
export const SO_PEERCRED = 17;
export const IPPROTO_TCP = 6;
export const TCP_KEEPIDLE = 4;
export const TCP_KEEPINTVL = 5;
export const TCP_KEEPCNT = 6;
export const TCP_INFO = 11;
export const TCP_CONGESTION = 13;
export const TCP_USER_TIMEOUT = 18;
export const TCP_CC_INFO = 26;

const errnoNames = new Map<number, string>(
  Object.entries(constants.errno).map(([name, n]) => [n, name]),
);

/** The symbolic name of an errno number (EBADF …), or `errno N`. */
export function errnoName(errno: number): string {
  return errnoNames.get(errno) ?? `errno ${errno}`;
}

/**
 * Throws the HijackError for a failed getsockopt/setsockopt: ENOTSOCK → ERR_NOT_A_SOCKET,
 * EBADF → ERR_SOCKET_CLOSED, anything else → ERR_SOCKOPT with `errno`, `syscall`, `option`.
 */
export function sockoptFailed(
  errno: number,
  syscall: 'getsockopt' | 'setsockopt',
  option: string,
  what: string,
): never {
  const name = errnoName(errno);
  let code: HijackErrorCode = 'ERR_SOCKOPT';
  let hint = '';
  if (errno === constants.errno.ENOTSOCK) code = 'ERR_NOT_A_SOCKET';
  else if (errno === constants.errno.EBADF) code = 'ERR_SOCKET_CLOSED';
  else if (errno === constants.errno.EPERM)
    hint = ' (not permitted: this needs CAP_NET_ADMIN or a value the system allows)';
  throw new HijackError(code, `${what}: ${syscall}(${option}) failed with ${name}${hint}`, {
    errno: name,
    syscall,
    option,
  });
}
