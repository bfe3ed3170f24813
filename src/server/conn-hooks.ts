/**
 * The link from hijack() to trackConnections(): a per-socket callback, so the two stay
 * independent and work in either order.
 *
 * @internal
 */
import type { Socket } from 'node:net';
import { rawSocketOf } from './internal/node-http.js';

const kOnHijack = Symbol('hijack.onHijack');

/** What runs when a socket is taken over; given that socket. */
export type HijackHook = (socket: Socket) => void;

/** Registers what to run when `socket` is taken over (one shared function serves every socket). */
export function onHijacked(socket: Socket, fn: HijackHook): void {
  (socket as unknown as Record<symbol, HijackHook>)[kOnHijack] = fn;
}

/** Runs the hook of `socket` (and of the raw socket under a TLS socket), if any. */
export function noteHijacked(socket: Socket): void {
  const s = socket as unknown as Record<symbol, HijackHook | undefined>;
  s[kOnHijack]?.(socket);
  const parent = rawSocketOf(socket);
  if (parent && parent !== socket)
    (parent as unknown as Record<symbol, HijackHook | undefined>)[kOnHijack]?.(parent);
}
