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
  freeParser,
  nodeResponseFinish,
  nodeSocketListeners,
  type NetServerInternals,
  type ServerSocket,
} from './internal/node-http.js';

/** One of Node's per-connection listeners on a server socket. */
export type NodeListener = readonly [event: string, fn: (...args: any[]) => void];

/** Whether `fn` is Node's HTTP listener for `event` (by name, see internal/node-http.ts). */
export function isNodeListener(event: string, fn: NodeListener[1]): boolean {
  return nodeSocketListeners[event]?.includes(fn.name) === true;
}

/**
 * The listeners of `event` on `emitter`, read from its table: EventEmitter keeps one as a
 * function and several as an array (copied here, so callers may remove while iterating).
 * Cheaper than listeners(), which also unwraps once() wrappers.
 */
export function listenersIn(emitter: object, event: string): NodeListener[1][] {
  const l = (emitter as { _events: Record<string, unknown> })._events[event] as
    NodeListener[1] | NodeListener[1][] | undefined;
  return typeof l === 'function' ? [l] : l ? l.slice() : [];
}

/** Node's HTTP listeners on `socket`, found by name (see internal/node-http.ts). */
export function nodeListenersOf(socket: ServerSocket): NodeListener[] {
  const found: NodeListener[] = [];
  for (const event in nodeSocketListeners) {
    for (const fn of listenersIn(socket, event)) {
      if (isNodeListener(event, fn)) found.push([event, fn]);
    }
  }
  return found;
}

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
  const consumed = socket.parser?._consumed === true;
  if (!consumed) socket.pause();
  for (const [event, fn] of known) socket.removeListener(event, fn);
  const parser = socket.parser;
  if (parser) freeParser(parser, req, socket);
  socket.parser = null;
  // Node replaced these on the instance to watch for 'data' listeners; give back the
  // originals by assignment, as Node does (a delete would make the socket a dictionary).
  const own = socket as unknown as Record<string, unknown>;
  const proto = net.Socket.prototype as unknown as Record<string, unknown>;
  for (const key of wrappedByNode) {
    if (Object.prototype.hasOwnProperty.call(socket, key)) own[key] = proto[key];
  }
  socket._paused = false;
  socket.setTimeout(0);
  // The taker may half-close: https servers create their sockets without allowHalfOpen.
  socket.allowHalfOpen = true;
  // As Node does for 'upgrade': flowing unset, so a later 'data' listener or pipe starts it.
  (socket as unknown as { readableFlowing: boolean | null }).readableFlowing = null;
  // A consumed socket the gate paused (readStop) while its stream believes a read is
  // pending would never read again: start the handle, the stream buffers until the taker reads.
  const handle = (socket as unknown as { _handle?: { reading: boolean; readStart(): number } })
    ._handle;
  if (consumed && handle && !handle.reading) {
    handle.reading = true;
    handle.readStart();
  }
  leaveServer(socket);
  leaveServer(socket._parent ?? null);
}

/** Socket methods Node's HTTP server replaces on the instance. */
const wrappedByNode = ['on', 'addListener', 'prependListener', 'setEncoding'] as const;

/** Drops the socket from net.Server's count, so server.close() does not wait for it (Go). */
function leaveServer(socket: ServerSocket | null): void {
  const server = socket?._server as NetServerInternals | null | undefined;
  if (!socket || !server) return;
  server._connections--;
  socket._server = null;
  server._emitCloseIfDrained?.();
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

interface ResponseInternals {
  _header?: string | null;
  _headerSent?: boolean;
  socket: net.Socket | null;
}

/**
 * Writes the head the handler already set with writeHead() but Node had not sent yet,
 * then unhooks `res` from the socket and makes it refuse writes with ERR_HIJACKED.
 */
export function retireResponse(res: ServerResponse, socket: net.Socket): void {
  const r = res as unknown as ResponseInternals;
  if (typeof r._header === 'string' && !r._headerSent) {
    socket.write(r._header, 'latin1');
    r._headerSent = true;
  }
  if (r.socket === socket) res.detachSocket(socket);
  // A taken-over response never finishes: Node's finish handler (bound to the request, the
  // socket and the connection's parser state) would only keep all of that alive.
  for (const fn of listenersIn(res, 'finish')) {
    if (fn.name === nodeResponseFinish) res.removeListener('finish', fn);
  }
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

/** Keeps a later req.destroy() (frameworks do that) from destroying the taken-over socket. */
export function retireRequest(req: IncomingMessage): void {
  (req as unknown as { _destroy: typeof keepSocket })._destroy = keepSocket;
}

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
