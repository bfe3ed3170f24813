/**
 * enableHijack(server): what a server needs for complete takeovers.
 */
import type { Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import { HijackError } from '../errors.js';
import { Gate } from './gate.js';
import { checkNodeInternals, type ServerSocket } from './internal/node-http.js';

const kEnabled = Symbol('hijack.enabled');

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
 * Works alone or with {@link trackConnections}, in either order. Idempotent.
 */
export function enableHijack<S extends HttpServer | HttpsServer>(server: S): S {
  if (!server || typeof server.on !== 'function') {
    throw new HijackError(
      'ERR_INVALID_ARGUMENT',
      'enableHijack(server) takes an http.Server or https.Server',
    );
  }
  checkNodeInternals();
  const s = server as unknown as Record<symbol, boolean>;
  if (s[kEnabled]) return server;
  s[kEnabled] = true;
  // Node's own listener (added by the constructor) runs first and sets up socket.parser.
  const event = isTls(server) ? 'secureConnection' : 'connection';
  server.on(event, (socket: Socket) => {
    Gate.install(socket as ServerSocket);
  });
  return server;
}

function isTls(server: HttpServer | HttpsServer): boolean {
  return typeof (server as HttpsServer).addContext === 'function';
}
