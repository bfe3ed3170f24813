/**
 * The link from hijack() to trackConnections(): a per-socket callback, so the two stay
 * independent and work in either order.
 *
 * @internal
 */
import type { Socket } from 'node:net';

const kOnHijack = Symbol('hijack.onHijack');

/** Registers what to run when `socket` is taken over. */
export function onHijacked(socket: Socket, fn: () => void): void {
  (socket as unknown as Record<symbol, () => void>)[kOnHijack] = fn;
}

/** Runs the hook of `socket` (and of the raw socket under a TLS socket), if any. */
export function noteHijacked(socket: Socket): void {
  const s = socket as unknown as Record<symbol, (() => void) | undefined> & { _parent?: Socket };
  s[kOnHijack]?.();
  const parent = s._parent as unknown as Record<symbol, (() => void) | undefined> | undefined;
  if (parent && parent !== (s as unknown)) parent[kOnHijack]?.();
}
