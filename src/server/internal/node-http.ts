/**
 * The few pieces of Node's HTTP internals this layer relies on, in one place, so a
 * change between Node versions shows up here and in its tests (REFERENCE.md §3).
 *
 * @internal
 */
import { createRequire } from 'node:module';
import net, { type Socket } from 'node:net';

const require = createRequire(import.meta.url);

/** Node's llhttp binding class, as `_http_common` exports it. */
interface HttpCommon {
  HTTPParser: {
    kOnHeaders: number;
    kOnHeadersComplete: number;
    kOnBody: number;
    kOnMessageComplete: number;
    kOnExecute: number;
  };
  freeParser(parser: NodeParser, req: unknown, socket: Socket): void;
}

const common = require('_http_common') as HttpCommon;

/** The parser object Node keeps on `socket.parser` for a server connection. */
export interface NodeParser {
  [slot: number]: unknown;
  incoming: unknown;
  socket: Socket | null;
  _consumed: boolean;
  onIncoming: ((req: unknown, keepAlive: boolean) => number) | null;
  execute(data: Buffer): number | ParseError;
  finish(): number | ParseError;
  pause(): void;
  resume(): void;
  unconsume(): void;
  getCurrentBuffer(): Buffer;
}

/** What `parser.execute` returns when llhttp stopped with an error (or our pause). */
export interface ParseError extends Error {
  code: string;
  bytesParsed: number;
  reason?: string;
  rawPacket?: Buffer;
}

export const kOnExecute = common.HTTPParser.kOnExecute | 0;
export const freeParser = common.freeParser;

/** llhttp's HPE_PAUSED: returned from on_headers_complete it stops right after the head. */
export const HPE_PAUSED = 21;

/** Node's own listeners on a server socket, by function name (stable across 20–24). */
export const nodeSocketListeners: Record<string, readonly string[]> = {
  data: ['bound socketOnData'],
  end: ['bound socketOnEnd'],
  close: ['bound socketOnClose'],
  drain: ['bound socketOnDrain'],
  error: ['socketOnError'],
  timeout: ['socketOnTimeout'],
  resume: ['onSocketResume'],
  pause: ['onSocketPause'],
};

/**
 * Node's 'finish' listener on a ServerResponse; it holds the connection's whole state.
 * Node 20–24 bind `resOnFinish`; Node 26 adds an unbound `onResponseFinish`.
 */
export const nodeResponseFinish =
  Number(process.versions.node.split('.')[0]) >= 26 ? 'onResponseFinish' : 'bound resOnFinish';

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
export interface NetServerInternals {
  _connections: number;
  _emitCloseIfDrained?: () => void;
}

/** True when `err` is the error `execute` returns after our HPE_PAUSED stop. */
export function isPause(ret: unknown): ret is ParseError {
  return ret instanceof Error && (ret as ParseError).code === 'HPE_PAUSED';
}

/**
 * Stops `server` accepting connections and calls `cb` once it closed, without closing any
 * connection. http.Server.close() also closes idle connections, and on Node 26 those that
 * have not sent a request yet too; net's close is what Go's Shutdown means by "stop
 * listening". Also stops the http server's request-timeout timer, as its close() would.
 */
export function stopAccepting(server: object, cb: () => void): void {
  const s = server as net.Server & Record<symbol, unknown>;
  net.Server.prototype.close.call(s, () => cb());
  const key = Object.getOwnPropertySymbols(s).find(
    (k) => k.description === 'http.server.connectionsCheckingInterval',
  );
  if (key) clearInterval(s[key] as NodeJS.Timeout);
}
