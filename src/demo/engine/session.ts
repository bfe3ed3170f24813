/**
 * A hijacked stream session as dockerd runs one: take the connection over with
 * {@link hijack}, answer `101 UPGRADED` (or the legacy `200 OK` raw stream), feed the
 * client's bytes to stdin (with the bytes sent right behind the request first), write
 * stdout/stderr with stdcopy framing unless TTY, and close the stream when the command ends.
 *
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { PassThrough, Writable } from 'node:stream';
import { hijack } from '../../server/index.js';
import { muxStdcopy } from '../../stream/index.js';
import { wantsUpgrade } from './http.js';

/** How long a closed session waits for the client to close its side before destroying. */
const LINGER_MS = 5000;

/** An open session: its socket, stdin, and writers for stdout and stderr. */
export interface Session {
  socket: Socket;
  /** The client's bytes (head first); ends when the client half-closes. */
  stdin: PassThrough;
  stdout: Writable;
  stderr: Writable;
  /** True when answered with 101, false for the legacy 200 raw stream. */
  upgraded: boolean;
  /** Ends both writers, then the socket (write side); destroys it if the client lingers. */
  close(): Promise<void>;
  /** Resolves when the socket has closed (client gone or session closed). */
  closed: Promise<void>;
  /**
   * Writes `line` for the client's user: a stderr frame (a TTY stream: its output, on a
   * line of its own); resolves with the bytes put on the wire (0 when the stream has ended).
   */
  notice(line: string): Promise<number>;
}

/** Options of {@link openSession}. */
export interface SessionOptions {
  /** stdcopy framing (non-TTY) or raw bytes (TTY). */
  framed: boolean;
  /** Media type for the Content-Type header. */
  mediaType: string;
  /** Extra header lines of the 101/200 head (`Name: value`). */
  headers: string[];
}

/** A writable that writes into `socket` and does not end it when it ends itself. */
function rawWriter(socket: Socket): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, cb) {
      if (socket.destroyed) return cb();
      socket.write(chunk, (err) => cb(err ?? null));
    },
  });
}

function ended(w: Writable): Promise<void> {
  return new Promise((resolve) => {
    if (w.writableFinished || w.destroyed) return resolve();
    w.once('finish', resolve);
    w.once('close', resolve);
    w.once('error', () => resolve());
    w.end();
  });
}

/** Takes the request's connection over and answers it as dockerd does; see {@link Session}. */
export async function openSession(
  req: IncomingMessage,
  res: ServerResponse,
  opts: SessionOptions,
): Promise<Session> {
  const upgraded = wantsUpgrade(req);
  const { socket, head } = await hijack(req, res);
  const lines = upgraded
    ? [
        'HTTP/1.1 101 UPGRADED',
        `Content-Type: ${opts.mediaType}`,
        'Connection: Upgrade',
        'Upgrade: tcp',
        ...opts.headers,
      ]
    : ['HTTP/1.1 200 OK', `Content-Type: ${opts.mediaType}`, ...opts.headers];
  socket.setNoDelay(true);
  socket.write(lines.join('\r\n') + '\r\n\r\n');

  const stdin = new PassThrough();
  if (head.length > 0) stdin.write(head);
  socket.pipe(stdin);
  // A client that goes away ends stdin too, so no command waits on it forever.
  socket.once('close', () => stdin.end());

  const stdout = opts.framed ? muxStdcopy(socket, 'stdout') : rawWriter(socket);
  const stderr = opts.framed ? muxStdcopy(socket, 'stderr') : stdout;
  for (const w of [stdout, stderr]) w.on('error', () => socket.destroy());
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) => {
    if (socket.destroyed) resolve();
    else socket.once('close', () => resolve());
  });
  let closing: Promise<void> | null = null;
  const notice = (line: string): Promise<number> => {
    const text = Buffer.from(opts.framed ? `${line}\n` : `\r\n${line}\r\n`);
    return new Promise((resolve) => {
      if (closing || socket.destroyed || stderr.writableEnded) return resolve(0);
      stderr.write(text, (err) => resolve(err ? 0 : text.length + (opts.framed ? 8 : 0)));
    });
  };
  return {
    notice,
    socket,
    stdin,
    stdout,
    stderr,
    upgraded,
    closed,
    close() {
      closing ??= (async () => {
        await ended(stdout);
        if (stderr !== stdout) await ended(stderr);
        if (!socket.destroyed) {
          socket.end();
          const linger = setTimeout(() => socket.destroy(), LINGER_MS);
          linger.unref();
          socket.once('close', () => clearTimeout(linger));
          // The client's remaining bytes are no one's any more; keep reading to see its end.
          socket.unpipe(stdin);
          stdin.end();
          socket.resume();
        }
        await closed;
      })();
      return closing;
    },
  };
}
