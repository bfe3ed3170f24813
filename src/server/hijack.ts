/**
 * hijack(req, res): Go's Hijacker for Node's HTTP server.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { HijackError } from '../errors.js';
import type { BodyScanner, Reframe } from '../http1/framing.js';
import { framingOf } from '../http1/framing.js';
import {
  detachSocket,
  drainUnread,
  isHijacked,
  markHijacked,
  retireRequest,
  retireResponse,
  socketOf,
} from './detach.js';
import { BodyPhase, gateOf, messageOf } from './gate.js';
import {
  checkNodeInternals,
  onExecuteOf,
  parserOf,
  setOnExecute,
  type NodeListener,
  type NodeParser,
  type ServerSocket,
} from './internal/node-http.js';
import { noteHijacked } from './conn-hooks.js';

/** What a takeover hands over. */
export interface Hijacked {
  /** The connection itself: a net.Socket, or a tls.TLSSocket on an https server. Yours to close. */
  socket: Socket | TLSSocket;
  /**
   * Bytes the client sent after the request head that nobody read, in order. They come
   * before anything `socket` emits. Often empty.
   */
  head: Buffer;
}

/**
 * Takes the connection of `req` over from Node's HTTP server, from inside an ordinary
 * request handler, for any HTTP/1.x request (GET, POST with an unread or partly read
 * body, Upgrade, CONNECT).
 *
 * Headers the handler set with `res.writeHead()` are written first. Afterwards Node never
 * touches the socket again (no parser, no server timeouts, not closed by `server.close()`,
 * `closeIdleConnections()` or `closeAllConnections()`), `res` throws `ERR_HIJACKED` on any
 * write, and a second call rejects with `ERR_HIJACKED`.
 *
 * On a server with {@link enableHijack} every unread byte is returned, in wire form
 * (a partly read chunked body continues as valid chunked encoding). Without it, Node's
 * parser may already have consumed bytes behind the head; where it did and they cannot
 * be given back, the promise rejects with `ERR_BYTES_LOST` (see the README's limits).
 *
 * @throws HijackError `ERR_HIJACKED` (second call), `ERR_NOT_SUPPORTED` (HTTP/2),
 *   `ERR_SOCKET_CLOSED`, `ERR_RESPONSE_FINISHED`, `ERR_INVALID_ARGUMENT`, `ERR_BYTES_LOST`.
 */
export function hijack(req: IncomingMessage, res: ServerResponse): Promise<Hijacked> {
  try {
    return start(req, res);
  } catch (err) {
    return Promise.reject(err);
  }
}

function start(req: IncomingMessage, res: ServerResponse): Promise<Hijacked> {
  checkNodeInternals();
  if (!req || typeof req !== 'object' || !res || typeof res !== 'object') {
    throw new HijackError(
      'ERR_INVALID_ARGUMENT',
      'hijack(req, res) takes the request and response of a request handler',
    );
  }
  if (req.httpVersionMajor === 2 || 'stream' in req) {
    throw new HijackError(
      'ERR_NOT_SUPPORTED',
      'hijack() works on HTTP/1.x only: an HTTP/2 stream shares its connection with other streams (Go refuses this too); serve this route over HTTP/1.1',
    );
  }
  if (isHijacked(req) || isHijacked(res)) {
    throw new HijackError(
      'ERR_HIJACKED',
      'hijack() was already called for this request; the connection has been taken over',
    );
  }
  const socket = socketOf(req);
  if (!socket || socket.destroyed || (!socket.readable && !socket.writable)) {
    throw new HijackError(
      'ERR_SOCKET_CLOSED',
      'hijack(): the client connection is already closed; there is nothing to take over',
    );
  }
  if (res.writableEnded) {
    throw new HijackError(
      'ERR_RESPONSE_FINISHED',
      'hijack() after res.end(): the response is finished and the connection may already serve the next request; take over before answering',
    );
  }
  markHijacked(req, res);
  const gate = gateOf(socket);
  const msg = messageOf(req);
  if (gate && msg && !gate.detached) {
    return new Promise((resolve) => {
      msg.take = (pending) => {
        const head = composeHead(req, msg.framing, msg.phase !== BodyPhase.Held, pending);
        resolve(finish(req, res, socket, head));
      };
      gate.pump();
    });
  }
  return ungated(req, res, socket);
}

/** Unread body bytes in wire form, then the unparsed rest (minus framing they replace). */
function composeHead(
  req: IncomingMessage,
  framing: { reframe(unread: Buffer[]): Reframe },
  fed: boolean,
  pending: Buffer[],
): Buffer {
  if (!fed) return Buffer.concat(pending);
  const { prefix, skip } = framing.reframe(drainUnread(req));
  let rest = Buffer.concat(pending);
  if (skip && rest.subarray(0, skip.length).equals(skip)) rest = rest.subarray(skip.length);
  return Buffer.concat([...prefix, rest]);
}

function finish(
  req: IncomingMessage,
  res: ServerResponse,
  socket: ServerSocket,
  head: Buffer,
  known?: readonly NodeListener[],
): Hijacked {
  // A request the takeover filter left out, on a gated connection: the gate lets go too.
  const kept = gateOf(socket)?.release();
  if (kept && kept.length > 0) head = Buffer.concat([head, ...kept]);
  detachSocket(socket, req, known);
  retireResponse(res, socket);
  retireRequest(req);
  noteHijacked(socket);
  return { socket, head };
}

/**
 * A server without enableHijack(): Node's parser consumed the socket in C++. What it
 * parsed beyond the head is recovered where that is exact, and refused loudly otherwise.
 */
function ungated(
  req: IncomingMessage,
  res: ServerResponse,
  socket: ServerSocket,
): Promise<Hijacked> {
  const parser = parserOf(socket);
  if (!parser) {
    // Node already let go of the socket (its own upgrade path): nothing more was parsed.
    return Promise.resolve(finish(req, res, socket, Buffer.alloc(0)));
  }
  lostCheck(parser, req);
  const framing = framingOf(req);
  const current = parser.getCurrentBuffer();
  if (current.length === 0) {
    // Outside the parser's execute (after an await): what it parsed is in `req` already.
    return Promise.resolve(finish(req, res, socket, bodyLeft(req, framing)));
  }
  // Inside execute: llhttp goes on with this chunk after the handler returns. Look at
  // what it did before Node does anything with it.
  return new Promise((resolve, reject) => {
    const nodeOnExecute = onExecuteOf(parser);
    setOnExecute(parser, (ret: unknown) => {
      setOnExecute(parser, nodeOnExecute);
      try {
        if (ret instanceof Error) {
          throw lost(
            "the bytes behind the request head are not HTTP and Node's parser rejected them before hijack() could keep them",
          );
        }
        lostCheck(parser, req);
        const buf = parser.getCurrentBuffer();
        const rest = buf.subarray(typeof ret === 'number' ? ret : buf.length);
        resolve(finish(req, res, socket, Buffer.concat([bodyLeft(req, framing), rest])));
      } catch (err) {
        socket.destroy();
        reject(err);
      }
    });
  });
}

function bodyLeft(req: IncomingMessage, framing: BodyScanner): Buffer {
  if (framing.kind === 'chunked' && !req.complete) {
    throw lost('a chunked request body was partly parsed: its framing cannot be rebuilt');
  }
  const unread = drainUnread(req);
  if (framing.kind === 'chunked') {
    const size = unread.reduce((n, b) => n + b.length, 0);
    if (size === 0) return Buffer.alloc(0);
    return Buffer.concat([
      Buffer.from(size.toString(16) + '\r\n'),
      ...unread,
      Buffer.from('\r\n0\r\n\r\n'),
    ]);
  }
  return Buffer.concat(unread);
}

function lostCheck(parser: NodeParser, req: IncomingMessage): void {
  if (parser.incoming && parser.incoming !== req) {
    throw lost(
      "Node's parser already read a request pipelined behind this one and gave it to a handler",
    );
  }
}

function lost(what: string): HijackError {
  return new HijackError(
    'ERR_BYTES_LOST',
    `hijack(): ${what}. Call enableHijack(server) before listening so no byte behind a request head is parsed away.`,
  );
}
