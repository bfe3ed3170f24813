/**
 * The gateway's own answers (refusals, upstream failures) in Docker's error shape,
 * `{"message": "…"}`, which the Docker CLI prints as `Error response from daemon: …`.
 *
 * @module
 */
import type { ServerResponse } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Writable } from 'node:stream';

/** JSON body of a gateway answer. */
export function errorBody(message: string): string {
  return JSON.stringify({ message }) + '\n';
}

/**
 * Answers through the normal response object, if it still can; closes the connection
 * afterwards when `close` is set. Returns false when the response had already started.
 */
export function replyError(
  res: ServerResponse,
  status: number,
  message: string,
  headers: Record<string, string> = {},
  close = false,
): boolean {
  if (res.headersSent || res.writableEnded || res.destroyed) return false;
  const body = errorBody(message);
  const h: Record<string, string | number> = {
    ...headers,
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(body),
  };
  if (close) {
    h['Connection'] = 'close';
    res.shouldKeepAlive = false;
  }
  try {
    res.writeHead(status, h);
    res.end(body);
  } catch {
    return false;
  }
  return true;
}

/** A complete raw HTTP/1.1 answer with `Connection: close`, for a taken-over socket. */
export function rawErrorResponse(status: number, message: string): Buffer {
  const body = errorBody(message);
  return Buffer.from(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n` +
      'Content-Type: application/json\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      'Connection: close\r\n\r\n' +
      body,
    'latin1',
  );
}

/** Writes a raw answer on a taken-over socket and closes it once flushed. */
export function endWithError(
  socket: Writable & { destroyed: boolean },
  status: number,
  message: string,
): void {
  if (socket.destroyed) return;
  socket.end(rawErrorResponse(status, message));
}
