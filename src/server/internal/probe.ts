/**
 * Finds, on the running Node, every piece of its HTTP internals that NODE_INTERNALS
 * records, by driving a real http.Server in-process: a socket without a handle (nothing
 * is bound or sent) goes through Node's own connection listener, and one request head
 * through its own parser. Synchronous, a fraction of a millisecond, nothing left behind.
 *
 * @internal
 */
import http from 'node:http';
import { createRequire } from 'node:module';
import net from 'node:net';
import { HijackError } from '../../errors.js';
import type { NodeHttpInternals } from './table.js';

const require = createRequire(import.meta.url);

/** The events Node's HTTP server listens to on each connection's socket. */
const SOCKET_EVENTS = ['data', 'end', 'close', 'drain', 'error', 'timeout', 'resume', 'pause'];
/** Socket methods Node's HTTP server replaces on the instance. */
export const WRAPPED_BY_NODE = ['on', 'addListener', 'prependListener', 'setEncoding'] as const;
/** The parser methods the gate and hijack() call. */
const PARSER_METHODS = ['execute', 'finish', 'pause', 'resume', 'unconsume', 'getCurrentBuffer'];
/** llhttp's HPE_PAUSED in llhttp's error enum (llhttp 6–9). */
const HPE_PAUSED = 21;

type Loose = Record<string | symbol, any>;

/** The HijackError for a piece of Node's internals that is not where it used to be. */
export function missingPiece(piece: string): HijackError {
  return new HijackError(
    'ERR_NOT_SUPPORTED',
    `hijack does not support Node ${process.version}: ${piece} is missing or changed. ` +
      'Use Node 20, 22, 24 or 26, or add this major to src/server/internal/table.ts (docs/node-internals.md)',
  );
}

/** `check` must hold, else ERR_NOT_SUPPORTED naming `piece` (a throw inside counts too). */
function need<T>(piece: string, check: () => T | false | undefined | null): T {
  let v: T | false | undefined | null;
  try {
    v = check();
  } catch {
    v = undefined;
  }
  if (v === false || v === undefined || v === null) throw missingPiece(piece);
  return v;
}

/** Named listeners of `event` on `emitter`. */
function names(emitter: net.Socket | http.ServerResponse, event: string): string[] {
  return emitter.listeners(event).map((f) => (f as { name: string }).name);
}

/**
 * Reads Node's HTTP internals off a real server and parser, or throws HijackError
 * ERR_NOT_SUPPORTED naming the first piece that is missing.
 */
export function probeNodeInternals(): NodeHttpInternals {
  const common = need("require('_http_common')", () => require('_http_common') as Loose);
  const HTTPParser = need('_http_common.HTTPParser', () =>
    typeof common.HTTPParser === 'function' ? (common.HTTPParser as Loose) : null,
  );
  const kOnExecute = need('HTTPParser.kOnExecute', () =>
    Number.isInteger(HTTPParser.kOnExecute) ? (HTTPParser.kOnExecute as number) : null,
  );
  for (const m of PARSER_METHODS) {
    need(`HTTPParser.prototype.${m}()`, () => typeof HTTPParser.prototype[m] === 'function');
  }
  // The gate's body mirror (llhttp-body.ts): a second parser with the server's leniency.
  for (const k of [
    'REQUEST',
    'kOnHeadersComplete',
    'kOnBody',
    'kOnMessageComplete',
    'kLenientAll',
  ]) {
    need(`HTTPParser.${k}`, () => Number.isInteger(HTTPParser[k]));
  }
  need("HTTPParser's end of a Connection: close message (HPE_CLOSED_CONNECTION)", () => {
    const P = HTTPParser as unknown as new () => Loose;
    const m = new P();
    m.initialize(HTTPParser.REQUEST, {}, 0, HTTPParser.kLenientNone);
    let done = false;
    m[HTTPParser.kOnMessageComplete as number] = () => (done = true);
    m.execute(Buffer.from('POST / HTTP/1.1\r\nContent-Length: 2\r\nConnection: close\r\n\r\n'));
    const r = m.execute(Buffer.from('abX')) as unknown;
    const e = r as Loose;
    return done && r instanceof Error && e.code === 'HPE_CLOSED_CONNECTION' && e.bytesParsed === 3;
  });
  const freeParser = need('_http_common.freeParser()', () =>
    typeof common.freeParser === 'function' ? (common.freeParser as Loose[string]) : null,
  );
  need('net.Server.prototype.close()', () => typeof net.Server.prototype.close === 'function');

  const server = new http.Server() as http.Server & Loose;
  need('net.Server#_connections', () => typeof server._connections === 'number');
  need('net.Server#_emitCloseIfDrained()', () => typeof server._emitCloseIfDrained === 'function');
  // Node sets up its connection list and request-timeout timer on 'listening'.
  server.emit('listening');
  const symbol = (d: string) =>
    Object.getOwnPropertySymbols(server).find((k) => k.description === d);
  const intervalKey = need("http.Server's connectionsCheckingInterval symbol", () =>
    symbol('http.server.connectionsCheckingInterval'),
  );
  clearInterval(server[intervalKey] as NodeJS.Timeout);
  const connectionsKey = need("http.Server's connections symbol (a ConnectionsList)", () =>
    symbol('http.server.connections'),
  );
  const list = server[connectionsKey] as Loose;
  need('ConnectionsList#active() and #idle()', () => {
    return typeof list.active === 'function' && typeof list.idle === 'function';
  });

  const socket = new net.Socket() as net.Socket & Loose;
  const plain = new net.Socket();
  let res: (http.ServerResponse & Loose) | null = null;
  server.on('request', (_req: unknown, r: http.ServerResponse) => (res = r as typeof res));
  server.emit('connection', socket);
  const parser = need('socket.parser (the server parser)', () => socket.parser as Loose);
  try {
    need('parser.socket', () => parser.socket === socket);
    need('parser.onIncoming', () => typeof parser.onIncoming === 'function');
    need('parser._consumed', () => parser._consumed === false);
    need(`parser[kOnExecute] (slot ${kOnExecute})`, () => typeof parser[kOnExecute] === 'function');
    need('socket._paused', () => socket._paused === false);
    for (const m of WRAPPED_BY_NODE) {
      need(`Node's socket.${m} wrapper`, () => Object.prototype.hasOwnProperty.call(socket, m));
    }
    const socketListeners: Record<string, readonly string[]> = {};
    for (const event of SOCKET_EVENTS) {
      const theirs = names(plain, event);
      socketListeners[event] = need(`Node's '${event}' listener on a server socket`, () => {
        const own = names(socket, event).filter((n) => !theirs.includes(n));
        return own.length > 0 && own.every((n) => n.length > 0) ? own : null;
      });
    }
    const closeCloses = list.idle().includes(parser) ? 'idle+new' : 'idle';

    // One head through Node's own onIncoming; the head callback answers HPE_PAUSED.
    const nodeOnIncoming = parser.onIncoming as (req: unknown, keepAlive: boolean) => number;
    parser.onIncoming = function (req: unknown, keepAlive: boolean) {
      nodeOnIncoming.call(this, req, keepAlive);
      return HPE_PAUSED;
    };
    const head = 'GET / HTTP/1.1\r\nHost: x\r\n\r\n';
    const ret = parser.execute(Buffer.from(head + 'GET')) as unknown;
    need(`llhttp's HPE_PAUSED (${HPE_PAUSED}) from the head callback`, () => {
      const e = ret as Loose;
      return ret instanceof Error && e.code === 'HPE_PAUSED' && e.bytesParsed === head.length;
    });
    const r = need("a ServerResponse from Node's onIncoming", () => res);
    need('socket._httpMessage', () => socket._httpMessage === r);
    const responseFinish = need("Node's 'finish' listener on a ServerResponse", () => {
      const n = names(r, 'finish');
      return n.length === 1 && n[0] ? n[0] : null;
    });
    r.writeHead(200);
    need('ServerResponse#_header and #_headerSent', () => {
      return typeof r._header === 'string' && r._headerSent === false;
    });
    return {
      kOnExecute,
      hpePaused: HPE_PAUSED,
      socketListeners,
      responseFinish,
      connectionsKey: connectionsKey.description!,
      checkingIntervalKey: intervalKey.description!,
      closeCloses,
    };
  } finally {
    for (const event of SOCKET_EVENTS) socket.removeAllListeners(event);
    try {
      freeParser(parser, null, socket);
    } catch {
      /* the probe's own cleanup: what is missing was reported above */
    }
    socket.destroy();
  }
}
