/**
 * The only code that touches Node's HTTP internals: private fields, listener names,
 * parser slots and close semantics. What they are on each Node major is data in
 * table.ts; a major without a row is probed once (probe.ts). enableHijack(),
 * trackConnections() and hijack() call {@link checkNodeInternals} first, so on a Node
 * whose internals moved they throw ERR_NOT_SUPPORTED naming the piece instead of
 * degrading silently. docs/node-internals.md tells the whole story.
 *
 * @internal
 */
import { createRequire } from 'node:module';
import net, { type Socket } from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HijackError } from '../../errors.js';
import { NODE_INTERNALS, NODE_MAJOR, type NodeHttpInternals } from './table.js';
import { probeNodeInternals, WRAPPED_BY_NODE } from './probe.js';

export { NODE_INTERNALS, NODE_MAJOR, type NodeHttpInternals } from './table.js';
export { probeNodeInternals } from './probe.js';

const require = createRequire(import.meta.url);

/** This Node's internals: its row, or what the probe found; null if the probe failed. */
let current: NodeHttpInternals | null = NODE_INTERNALS[NODE_MAJOR] ?? null;
let failure: HijackError | null = null;
if (!current) {
  try {
    current = probeNodeInternals();
  } catch (err) {
    failure = err as HijackError;
  }
}

/**
 * The internals of Node major `major` (default: the running one): its row in the table,
 * else, for the running major, what the probe found. Throws HijackError
 * ERR_NOT_SUPPORTED naming the missing piece when a piece is not there. `major` other than
 * the running one is for tests: an unknown one is probed afresh on the running Node.
 */
export function checkNodeInternals(major: number = NODE_MAJOR): NodeHttpInternals {
  if (major === NODE_MAJOR) {
    if (failure) throw failure;
    return current!;
  }
  return NODE_INTERNALS[major] ?? probeNodeInternals();
}

// Below, `use` is this Node's row. When the probe failed it is a placeholder never read:
// every entry point calls checkNodeInternals() first and throws.
const use: NodeHttpInternals = current ?? NODE_INTERNALS[26]!;

/** Node's llhttp binding class, as `_http_common` exports it. */
interface HttpCommon {
  freeParser(parser: NodeParser, req: unknown, socket: Socket): void;
}
const common: HttpCommon | null = failure ? null : (require('_http_common') as HttpCommon);

/** The parser object Node keeps on `socket.parser` for a server connection. */
export interface NodeParser {
  incoming: unknown;
  socket: Socket | null;
  execute(data: Buffer): number | ParseError;
  finish(): number | ParseError;
  pause(): void;
  resume(): void;
  unconsume(): void;
  getCurrentBuffer(): Buffer;
}

/** What the parser's onIncoming (Node's parserOnIncoming, bound per connection) looks like. */
export type OnIncoming = (this: NodeParser, req: unknown, keepAlive: boolean) => number;
/** What the parser's kOnExecute slot holds: Node's onParserExecute, bound per connection. */
export type OnExecute = (ret: unknown) => void;

interface ParserInternals extends NodeParser {
  [slot: number]: unknown;
  _consumed: boolean;
  onIncoming: OnIncoming | null;
}

/** What `parser.execute` returns when llhttp stopped with an error (or our pause). */
export interface ParseError extends Error {
  code: string;
  bytesParsed: number;
  reason?: string;
  rawPacket?: Buffer;
}

/** llhttp's HPE_PAUSED: returned from on_headers_complete it stops right after the head. */
export const HPE_PAUSED = use.hpePaused;

/** True when `err` is the error `execute` returns after our HPE_PAUSED stop. */
export function isPause(ret: unknown): ret is ParseError {
  return ret instanceof Error && (ret as ParseError).code === 'HPE_PAUSED';
}

/** Node's socket state the HTTP server adds (`socket.parser`, `_paused`, the server link). */
export interface ServerSocket extends Socket {
  parser?: NodeParser | null;
  _paused?: boolean;
  _httpMessage?: unknown;
  _server?: NetServerInternals | null;
  server?: unknown;
  _parent?: ServerSocket | null;
}

/** net.Server's connection accounting (lib/net.js). */
interface NetServerInternals {
  _connections: number;
  _emitCloseIfDrained?: () => void;
}

// --- the parser -------------------------------------------------------------------------

/** The connection's parser (`socket.parser`), null once Node or a takeover freed it. */
export function parserOf(socket: Socket): NodeParser | null {
  return (socket as ServerSocket).parser ?? null;
}

/** The parser's onIncoming: Node's, or a hook installed before. */
export function onIncomingOf(parser: NodeParser): OnIncoming | null {
  return (parser as ParserInternals).onIncoming;
}

/** Replaces the parser's onIncoming (called with the parser as `this` for each head). */
export function setOnIncoming(parser: NodeParser, fn: OnIncoming | null): void {
  (parser as ParserInternals).onIncoming = fn;
}

/** The parser's kOnExecute slot: called after each read the parser consumed in C++. */
export function onExecuteOf(parser: NodeParser): OnExecute {
  return (parser as ParserInternals)[use.kOnExecute] as OnExecute;
}

/** Replaces the parser's kOnExecute slot. */
export function setOnExecute(parser: NodeParser, fn: OnExecute): void {
  (parser as ParserInternals)[use.kOnExecute] = fn;
}

/** True when the parser reads the socket's handle in C++ (no JS 'data' events). */
export function isConsumed(socket: Socket): boolean {
  return (
    ((socket as ServerSocket).parser as ParserInternals | null | undefined)?._consumed === true
  );
}

/** Frees the connection's parser back to Node's pool (unconsuming it) and unlinks it. */
export function freeParserOf(socket: Socket, req: IncomingMessage): void {
  const s = socket as ServerSocket;
  if (s.parser) common!.freeParser(s.parser, req, socket);
  s.parser = null;
}

/**
 * A connection that is not a net.Socket (any Duplex may be emitted as 'connection') has no
 * `_unrefTimer`, which Node's parser-execute callback calls (the gate calls it for reads
 * fed from JS too): such a connection gets a no-op one.
 */
export function ensureUnrefTimer(socket: Socket): void {
  const s = socket as unknown as { _unrefTimer?: () => void };
  if (typeof s._unrefTimer !== 'function') s._unrefTimer = noop;
}

function noop(): void {}

/** `--insecure-http-parser` given to this process (Node's default for every server). */
const processLenient =
  process.execArgv.includes('--insecure-http-parser') ||
  /(^|\s)--insecure-http-parser(\s|$)/.test(process.env.NODE_OPTIONS ?? '');

/**
 * Whether the parser of a server connection reads leniently: the server's
 * `insecureHTTPParser` option, else the process flag (Node's connectionListenerInternal).
 */
export function isLenientParser(socket: Socket): boolean {
  const server = ((socket as ServerSocket).server ?? (socket as ServerSocket)._server) as
    { insecureHTTPParser?: boolean } | null | undefined;
  const own = server?.insecureHTTPParser;
  return own === undefined ? processLenient : own === true;
}

// --- the socket -------------------------------------------------------------------------

/** The response Node is writing on `socket` now (`socket._httpMessage`). */
export function responseOf(socket: Socket): ServerResponse | undefined {
  return ((socket as ServerSocket)._httpMessage as ServerResponse | null) ?? undefined;
}

/** Node's own backpressure on a server socket (`socket._paused`): it stopped the parser. */
export function isNodePaused(socket: Socket): boolean {
  return (socket as ServerSocket)._paused === true;
}

/** The raw socket under a TLS socket (`_parent`), if any. */
export function rawSocketOf(socket: Socket): Socket | null {
  return (socket as ServerSocket)._parent ?? null;
}

/** One of Node's per-connection listeners on a server socket. */
export type NodeListener = readonly [event: string, fn: (...args: any[]) => void];

/** Whether `fn` is Node's HTTP listener for `event` (by name, see table.ts). */
export function isNodeListener(event: string, fn: NodeListener[1]): boolean {
  return use.socketListeners[event]?.includes(fn.name) === true;
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

/** Node's HTTP listeners on `socket`, found by name. */
export function nodeListenersOf(socket: Socket): NodeListener[] {
  const found: NodeListener[] = [];
  for (const event in use.socketListeners) {
    for (const fn of listenersIn(socket, event)) {
      if (isNodeListener(event, fn)) found.push([event, fn]);
    }
  }
  return found;
}

/**
 * Gives `socket` back its own methods: Node's HTTP server replaced `on`, `addListener`,
 * `prependListener` and `setEncoding` on the instance to watch for 'data' listeners. By
 * assignment, as Node does (a delete would make the socket a dictionary). Also clears
 * Node's backpressure flag.
 */
export function restoreSocket(socket: Socket): void {
  const own = socket as unknown as Record<string, unknown>;
  const proto = net.Socket.prototype as unknown as Record<string, unknown>;
  for (const key of WRAPPED_BY_NODE) {
    if (Object.prototype.hasOwnProperty.call(socket, key)) own[key] = proto[key];
  }
  (socket as ServerSocket)._paused = false;
}

/**
 * Starts the handle of a socket whose parser read it in C++ and that was paused there
 * (readStop) while its stream believes a read is pending: it would never read again.
 */
export function restartHandle(socket: Socket): void {
  const handle = (socket as unknown as { _handle?: { reading: boolean; readStart(): number } })
    ._handle;
  if (handle && !handle.reading) {
    handle.reading = true;
    handle.readStart();
  }
}

/**
 * Drops `socket` (and the raw socket under a TLS one) from net.Server's count, so
 * server.close() does not wait for it (Go).
 */
export function leaveServer(socket: Socket): void {
  leave(socket as ServerSocket);
  leave((socket as ServerSocket)._parent ?? null);
}

function leave(socket: ServerSocket | null): void {
  const server = socket?._server;
  // A destroyed socket has left the count already (net's _destroy): never twice.
  if (!socket || !server || socket.destroyed) return;
  server._connections--;
  socket._server = null;
  server._emitCloseIfDrained?.();
}

// --- the response -----------------------------------------------------------------------

interface ResponseInternals {
  _header?: string | null;
  _headerSent?: boolean;
}

/** Writes the head the handler set with writeHead() that Node has not sent yet. */
export function flushStoredHead(res: ServerResponse, socket: Socket): void {
  const r = res as unknown as ResponseInternals;
  if (typeof r._header === 'string' && !r._headerSent) {
    socket.write(r._header, 'latin1');
    r._headerSent = true;
  }
}

/**
 * True when Node will close the connection after `res` (`res._last`: `Connection: close`,
 * an HTTP/1.0 client without keep-alive, a response without a known length to such a
 * client). Nothing behind its request should reach a handler (Go closes there too).
 */
export function isLastResponse(res: ServerResponse): boolean {
  return (res as unknown as { _last?: boolean })._last === true;
}

/** Removes Node's 'finish' listener (bound to the connection's whole state) from `res`. */
export function removeNodeFinish(res: ServerResponse): void {
  for (const fn of listenersIn(res, 'finish')) {
    if (fn.name === use.responseFinish) res.removeListener('finish', fn);
  }
}

// --- the server -------------------------------------------------------------------------

/**
 * Parsers of `server` in the middle of a message (llhttp between message begin and
 * complete), from Node's connection list; empty before the server listened.
 */
export function parsersInFlight(server: object): Set<unknown> {
  const key = Object.getOwnPropertySymbols(server).find(
    (k) => k.description === use.connectionsKey,
  );
  const list = key ? (server as Record<symbol, { active(): unknown[] }>)[key] : undefined;
  return new Set(list ? list.active() : []);
}

/**
 * Stops `server` accepting connections and calls `cb` once it closed, without closing any
 * connection. http.Server.close() also closes idle connections, and on Node 26 those that
 * have not sent a request yet too (`closeCloses`); net's close is what Go's Shutdown means
 * by "stop listening". Also stops the http server's request-timeout timer, as its close()
 * would.
 */
export function stopAccepting(server: object, cb: () => void): void {
  const s = server as net.Server & Record<symbol, unknown>;
  net.Server.prototype.close.call(s, () => cb());
  const key = Object.getOwnPropertySymbols(s).find(
    (k) => k.description === use.checkingIntervalKey,
  );
  if (key) clearInterval(s[key] as NodeJS.Timeout);
}
