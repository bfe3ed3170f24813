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
  return replyAs(res, status, 'application/json', errorBody(message), close, headers);
}

/**
 * Answers with a body exactly as given (dockerd's own shape of an answer, such as its
 * missing-object errors), if the response can still start; closes afterwards when `close`.
 * `headers` go first (the content headers win).
 */
export function replyAs(
  res: ServerResponse,
  status: number,
  contentType: string,
  body: string,
  close = false,
  headers: Record<string, string> = {},
): boolean {
  if (res.headersSent || res.writableEnded || res.destroyed) return false;
  const h: Record<string, string | number> = {
    ...headers,
    'Content-Type': contentType,
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
    // The head is ASCII; the body is UTF-8, as its Content-Length counts it.
    'utf8',
  );
}

/** Writes a raw answer on a taken-over socket and closes it once flushed. */
export function endWithError(
  socket: Writable & { destroyed: boolean },
  status: number,
  message: string,
): void {
  if (socket.destroyed) return;
  closeAfterAnswer(socket, rawErrorResponse(status, message));
}

/** How long a connection closed after its answer waits for the client's own close. */
export const LINGER_MS = 2000;

/**
 * Closes a taken-over client connection after its last answer, as a server does after
 * `Connection: close`: FIN first (writing `last`, if given), so the client reads the whole
 * answer and no unread request byte turns the close into a reset; the descriptor goes when
 * the client closes too or, at the latest, after {@link LINGER_MS}. A client that never
 * closes cannot pin it.
 */
export function closeAfterAnswer(
  socket: Writable & { destroyed: boolean; once(ev: 'close', fn: () => void): unknown },
  last?: string | Buffer,
): void {
  if (socket.destroyed) return;
  socket.end(last);
  const timer = setTimeout(() => socket.destroy(), LINGER_MS);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
}
