/**
 * enableHijack(server): what a server needs for complete takeovers.
 */
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import { HijackError } from '../errors.js';
import { Gate } from './gate.js';
import { checkNodeInternals, type ServerSocket } from './internal/node-http.js';

const kEnabled = Symbol('hijack.enabled');

/** Options of {@link enableHijack}. */
export interface EnableHijackOptions {
  /**
   * Picks, from its parsed head, each request whose handler may take the connection over
   * (say, `(req) => req.url.startsWith('/attach/')`); Upgrade and CONNECT requests are
   * always picked. Default: every request. Requests left out cost what they cost on plain
   * Node, and hijack() on them keeps no byte Node parsed behind the head. Runs inside the
   * parser's head callback, before the request is emitted: keep it cheap and never throw.
   */
  takeover?: TakeoverFilter;
}

/**
 * enableHijack's `takeover` option: true for a request whose handler may take the
 * connection over. Called with the request as its head was parsed, before any handler.
 */
export type TakeoverFilter = (req: IncomingMessage) => boolean;

/**
 * Prepares an http or https server for complete takeovers. Call it before the server
 * accepts connections.
 *
 * - Upgrade and CONNECT requests reach the ordinary 'request' handler, so routers and
 *   middleware (auth, logging) decide: hijack() takes the connection over; answering
 *   normally (401, 404 …) sends that answer and closes the connection; doing neither
 *   leaves the server's usual timeouts in charge.
 * - Nothing behind a request head is parsed until the handler reads the body, answers or
 *   takes over, so hijack() gets every unread byte, pipelined requests included; requests
 *   on one connection are handled one at a time, as in Go.
 *
 * With `options.takeover`, only the requests it picks (and every Upgrade and CONNECT) get
 * these guarantees; the others are parsed as plain Node parses them, at plain Node's
 * speed, and so is a request that arrives before an earlier answer ended. hijack() on
 * such a request works when Node parsed nothing behind its head, and rejects with
 * `ERR_BYTES_LOST` otherwise.
 *
 * Works alone or with {@link trackConnections}, in either order. Idempotent: a second
 * call changes nothing.
 */
export function enableHijack<S extends HttpServer | HttpsServer>(
  server: S,
  options: EnableHijackOptions = {},
): S {
  if (!server || typeof server.on !== 'function') {
    throw new HijackError(
      'ERR_INVALID_ARGUMENT',
      'enableHijack(server) takes an http.Server or https.Server',
    );
  }
  const choose = options?.takeover ?? null;
  if (choose !== null && typeof choose !== 'function') {
    throw new HijackError(
      'ERR_INVALID_ARGUMENT',
      'enableHijack(server, { takeover }): takeover is a function (req) => boolean that picks the requests a handler may take over',
    );
  }
  checkNodeInternals();
  const s = server as unknown as Record<symbol, boolean>;
  if (s[kEnabled]) return server;
  s[kEnabled] = true;
  // Node's own listener (added by the constructor) runs first and sets up socket.parser.
  const event = isTls(server) ? 'secureConnection' : 'connection';
  server.on(event, (socket: Socket) => {
    Gate.install(socket as ServerSocket, choose);
  });
  return server;
}

function isTls(server: HttpServer | HttpsServer): boolean {
  return typeof (server as HttpsServer).addContext === 'function';
}
