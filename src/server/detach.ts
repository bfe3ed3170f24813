/**
 * Takes a server socket away from Node's HTTP machinery for good: no parser, no server
 * timeouts, no place in the server's connection lists or counts, the old response
 * refusing every write. What Go's conn.hijackLocked does, on Node's objects.
 *
 * @internal
 */
import net from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HijackError } from '../errors.js';
import {
  flushStoredHead,
  freeParserOf,
  isConsumed,
  leaveServer,
  nodeListenersOf,
  removeNodeFinish,
  restartHandle,
  restoreSocket,
  type NodeListener,
  type ServerSocket,
} from './internal/node-http.js';

export {
  isNodeListener,
  listenersIn,
  nodeListenersOf,
  type NodeListener,
} from './internal/node-http.js';

/**
 * Removes Node's per-connection HTTP listeners (`known`, or found by name), frees the
 * parser, clears timeouts and leaves the server's count.
 */
export function detachSocket(
  socket: ServerSocket,
  req: IncomingMessage,
  known: readonly NodeListener[] = nodeListenersOf(socket),
): void {
  // In JS mode (the gate's), stop the flow before the 'data' listeners go, so no byte is
  // emitted into the void. A socket the parser consumes in C++ emits nothing in JS yet;
  // pausing it would stop its handle while its stream believes a read is pending.
  const consumed = isConsumed(socket);
  if (!consumed) socket.pause();
  for (const [event, fn] of known) socket.removeListener(event, fn);
  freeParserOf(socket, req);
  // Node's instance wrappers of on/addListener/… and its backpressure flag go.
  restoreSocket(socket);
  // Any Duplex may be a connection; only a net.Socket has timeouts.
  if (typeof socket.setTimeout === 'function') socket.setTimeout(0);
  // The taker may half-close: https servers create their sockets without allowHalfOpen.
  socket.allowHalfOpen = true;
  // As Node does for 'upgrade': flowing unset, so a later 'data' listener or pipe starts it.
  (socket as unknown as { readableFlowing: boolean | null }).readableFlowing = null;
  // A consumed socket the gate paused (readStop) while its stream believes a read is
  // pending would never read again: start the handle, the stream buffers until the taker reads.
  if (consumed) restartHandle(socket);
  // Out of net.Server's count, so server.close() does not wait for it (Go).
  leaveServer(socket);
}

const kHijacked = Symbol('hijack.hijacked');

/** True once `res` (or its request) was taken over. */
export function isHijacked(obj: object): boolean {
  return (obj as Record<symbol, unknown>)[kHijacked] === true;
}

/** Marks `req`/`res` as taken over before the takeover completes (a second call fails). */
export function markHijacked(req: IncomingMessage, res: ServerResponse): void {
  (req as unknown as Record<symbol, unknown>)[kHijacked] = true;
  (res as unknown as Record<symbol, unknown>)[kHijacked] = true;
}

/**
 * Writes the head the handler already set with writeHead() but Node had not sent yet,
 * then unhooks `res` from the socket and makes it refuse writes with ERR_HIJACKED.
 */
export function retireResponse(res: ServerResponse, socket: net.Socket): void {
  flushStoredHead(res, socket);
  if (res.socket === socket) res.detachSocket(socket);
  // A taken-over response never finishes: Node's finish handler (bound to the request, the
  // socket and the connection's parser state) would only keep all of that alive.
  removeNodeFinish(res);
  const own = res as unknown as Record<string, unknown>;
  for (const [name, fn] of refusers) own[name] = fn;
}

/** One function per ServerResponse method that must refuse after a takeover, made once. */
const refusers = [
  'write',
  'end',
  'writeHead',
  'flushHeaders',
  'writeContinue',
  'writeProcessing',
  'writeEarlyHints',
].map(
  (what) =>
    [
      what,
      function refused(): never {
        throw new HijackError(
          'ERR_HIJACKED',
          `res.${what}() after hijack(): the connection belongs to the caller of hijack() now; write to its socket instead`,
        );
      },
    ] as const,
);

/**
 * Keeps a later req.destroy() (frameworks do that) from destroying the taken-over socket,
 * and a later read of req from touching it.
 */
export function retireRequest(req: IncomingMessage): void {
  const r = req as unknown as { _destroy: typeof keepSocket; _read: typeof noRead };
  r._destroy = keepSocket;
  // A later read of the request (a logging middleware's 'data' listener, resume(), pipe())
  // gives nothing: Node's _read would resume the socket, now the taker's, and lose bytes.
  r._read = noRead;
}

function noRead(): void {}

function keepSocket(err: Error | null, cb: (err?: Error | null) => void): void {
  cb(err);
}

/** Takes the body bytes `req` holds unread out of it (the request is dead afterwards). */
export function drainUnread(req: IncomingMessage): Buffer[] {
  const out: Buffer[] = [];
  req.removeAllListeners('data');
  req.removeAllListeners('readable');
  for (let c = req.read(); c !== null; c = req.read()) {
    out.push(
      typeof c === 'string' ? Buffer.from(c, req.readableEncoding ?? 'utf8') : (c as Buffer),
    );
  }
  return out;
}

/** The connection's socket, the way Node's HTTP server set it up. */
export function socketOf(req: IncomingMessage): ServerSocket | null {
  return (req.socket as ServerSocket | null) ?? null;
}

export { net };
