/**
 * `dialHijack()`: open a hijacked (upgraded, or Docker raw-stream) connection.
 *
 * @module
 */
import type { IncomingHttpHeaders } from 'node:http';
import net from 'node:net';
import type { Readable } from 'node:stream';
import tls from 'node:tls';
import { HijackError, isHijackError } from '../errors.js';
import {
  DEFAULT_MAX_HEADER_SIZE,
  formatRequestHead,
  readResponseHead,
  type ResponseHead,
} from '../http1/head.js';
import { connectEndpoint } from '../endpoint/connect.js';
import type { ResolvedTarget } from '../endpoint/endpoint.js';
import { resolveTarget, type Target } from '../endpoint/parse.js';

/** Options of {@link dialHijack}. */
export interface DialHijackOptions {
  /** Request method. Default `POST` (Docker's hijack endpoints are all POST). */
  method?: string;
  /** Request path with query, e.g. `/v1.41/exec/ID/start`. Default `/`. */
  path?: string;
  /**
   * Extra request headers; they replace the defaults of the same name (`Host`,
   * `User-Agent`, `Connection`, `Upgrade`, `Content-Length`). A value array repeats the field.
   */
  headers?: Record<string, string | number | readonly string[]>;
  /**
   * Request body. A string or Buffer is sent with `Content-Length`; a stream is sent
   * chunked, unless a `Content-Length` header is given, then as is.
   */
  body?: string | Buffer | Uint8Array | Readable;
  /**
   * The `Upgrade` token to ask for (default `tcp`, as Docker), or `false` for the legacy
   * mode: no `Connection: Upgrade`, and a `200` raw-stream answer is taken over too.
   */
  upgrade?: string | false;
  /** TLS options for `https://` targets: `ca`, `cert`, `key`, `servername`, `rejectUnauthorized` … */
  tls?: tls.ConnectionOptions;
  /**
   * TCP keepalive idle time in ms once connected (default 30 000, like Docker, moby#10387);
   * `false` turns keepalive off. Ignored on unix sockets.
   */
  keepAlive?: number | false;
  /** Milliseconds to establish the connection (TLS handshake included). Default 30 000; 0: none. */
  connectTimeout?: number;
  /** Milliseconds from connected to a complete response head. Default 60 000; 0: none. */
  headTimeout?: number;
  /** Largest response head accepted, in bytes. Default 16 KiB. */
  maxHeaderSize?: number;
  /**
   * Aborts the dial with `ERR_ABORTED`; once connected, aborting destroys the socket.
   */
  signal?: AbortSignal;
}

/** A connection taken over: what {@link dialHijack} resolves with. */
export interface HijackedConnection {
  /** 101, or 200 in legacy mode. */
  statusCode: number;
  /** The status line's reason phrase (e.g. `UPGRADED`). */
  statusMessage: string;
  /** Response headers, lower-cased names. */
  headers: IncomingHttpHeaders;
  /** Response headers as received, `[name, value, …]`. */
  rawHeaders: string[];
  /**
   * The `Content-Type` without parameters, lower-cased, e.g.
   * `application/vnd.docker.multiplexed-stream`; `''` if none.
   */
  mediaType: string;
  /**
   * The connection. Bytes the server sent right behind its head are read first; half-open
   * is allowed (`end()` sends a FIN and reading goes on).
   */
  socket: net.Socket | tls.TLSSocket;
  /** Half-closes: the server sees EOF; everything it still sends is delivered. */
  closeWrite(): void;
}

const DEFAULT_UPGRADE = 'tcp';
const USER_AGENT = 'hijack/0.1 (node)';
const ERROR_BODY_LIMIT = 64 * 1024;
const ERROR_BODY_WAIT_MS = 2000;
/** Informational (1xx) answers taken before the real one, as Go's Transport. */
const MAX_INFORMATIONAL = 5;

function abortError(signal: AbortSignal | undefined): HijackError {
  return new HijackError('ERR_ABORTED', 'the dial was aborted', { cause: signal?.reason });
}

function connectError(t: ResolvedTarget, err: NodeJS.ErrnoException): HijackError {
  const where = t.url;
  const code = err.code ?? 'error';
  let hint = 'Is the daemon running?';
  if (code === 'EACCES' || code === 'EPERM') {
    hint = 'Permission denied: does this user have access to the socket?';
  } else if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    hint = 'Is the host name right?';
  } else if (code === 'ENOENT') {
    hint = 'The socket file does not exist: is the daemon running?';
  }
  return new HijackError('ERR_CONNECT', `Cannot connect to ${where}: ${err.message}. ${hint}`, {
    cause: err,
    target: where,
    errno: err.errno,
    syscall: err.syscall,
    sysCode: code,
  });
}

/**
 * Connects to `t`; `first` is written at once and sent as soon as the connection is up
 * (no event-loop turn between connect and request). Connect errors keep their own codes.
 */
function connect(
  t: ResolvedTarget,
  options: DialHijackOptions,
  first: Buffer,
): Promise<net.Socket | tls.TLSSocket> {
  const { signal } = options;
  const timeout = options.connectTimeout ?? 30_000;
  return new Promise((resolve, reject) => {
    const { socket, ready: readyEvent } = connectEndpoint(t, {
      ...(options.tls ? { tls: options.tls } : {}),
      allowHalfOpen: true,
    });
    socket.write(first);
    let timer: NodeJS.Timeout | undefined;
    const cleanup = () => {
      if (timer) clearTimeout(timer);
      socket.removeListener(readyEvent, onReady);
      socket.removeListener('error', onError);
      signal?.removeEventListener('abort', onAbort);
    };
    function onReady() {
      cleanup();
      resolve(socket);
    }
    function onError(err: NodeJS.ErrnoException) {
      cleanup();
      socket.destroy();
      if (t.kind === 'tls' && socket.connecting === false && !err.syscall) {
        reject(
          new HijackError(
            'ERR_CONNECT',
            `TLS handshake with ${t.url} failed: ${err.message}. Check the certificates (tls.ca, tls.cert, tls.key) and the server name.`,
            { cause: err, target: t.url, sysCode: err.code },
          ),
        );
      } else reject(connectError(t, err));
    }
    function onAbort() {
      cleanup();
      socket.destroy();
      reject(abortError(signal));
    }
    socket.once(readyEvent, onReady);
    socket.on('error', onError);
    signal?.addEventListener('abort', onAbort, { once: true });
    if (timeout > 0) {
      timer = setTimeout(() => {
        cleanup();
        socket.destroy();
        reject(
          new HijackError(
            'ERR_CONNECT_TIMEOUT',
            `Cannot connect to ${t.url}: no connection within ${timeout} ms. Is the daemon running and reachable?`,
            { target: t.url, timeout },
          ),
        );
      }, timeout);
    }
  });
}

function writeBody(socket: net.Socket, body: Readable, chunked: boolean): void {
  body.on('data', (chunk: Buffer | string) => {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    if (buf.length === 0) return;
    const ok = chunked
      ? socket.write(`${buf.length.toString(16)}\r\n`) && socket.write(buf) && socket.write('\r\n')
      : socket.write(buf);
    if (!ok) {
      body.pause();
      socket.once('drain', () => body.resume());
    }
  });
  body.once('end', () => {
    if (chunked && !socket.destroyed) socket.write('0\r\n\r\n');
  });
  body.once('error', (err) => socket.destroy(err));
}

/** Reads what a refusing server said (bounded in size and time), for the error message. */
async function readErrorBody(socket: net.Socket, head: ResponseHead): Promise<string> {
  const length = Number(head.headers['content-length'] ?? NaN);
  const chunked = /chunked/i.test(String(head.headers['transfer-encoding'] ?? ''));
  const want = Number.isFinite(length) ? Math.min(length, ERROR_BODY_LIMIT) : ERROR_BODY_LIMIT;
  const parts: Buffer[] = [head.rest];
  let got = head.rest.length;
  const complete = () =>
    got >= want || (chunked && /(^|\r\n)0\r\n\r\n$/.test(Buffer.concat(parts).toString('latin1')));
  if (!complete() && !socket.destroyed && !socket.readableEnded) {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, ERROR_BODY_WAIT_MS);
      function onData(c: Buffer) {
        parts.push(c);
        got += c.length;
        if (complete()) done();
      }
      function done() {
        clearTimeout(timer);
        socket.removeListener('data', onData);
        socket.removeListener('end', done);
        socket.removeListener('close', done);
        socket.removeListener('error', done);
        resolve();
      }
      socket.on('data', onData);
      socket.once('end', done);
      socket.once('close', done);
      socket.once('error', done);
    });
  }
  let body = Buffer.concat(parts).subarray(0, want);
  if (chunked) {
    // Good enough for an error message: drop the chunk-size lines.
    body = Buffer.from(
      body
        .toString('utf8')
        .replace(/(^|\r\n)[0-9a-fA-F]+(;[^\r\n]*)?\r\n/g, '$1')
        .replace(/\r\n/g, ''),
    );
  }
  return body.toString('utf8').trim();
}

/** Docker's JSON errors carry `{"message": "…"}`; otherwise the text itself, shortened. */
export function serverMessage(body: string): string {
  try {
    const parsed = JSON.parse(body) as unknown;
    if (parsed && typeof parsed === 'object' && 'message' in parsed) {
      const m = (parsed as { message: unknown }).message;
      if (typeof m === 'string') return m;
    }
  } catch {
    // not JSON
  }
  return body.length > 500 ? body.slice(0, 500) + '…' : body;
}

function mediaTypeOf(headers: IncomingHttpHeaders): string {
  const ct = headers['content-type'];
  return typeof ct === 'string' ? (ct.split(';')[0] ?? '').trim().toLowerCase() : '';
}

function hasHeader(headers: Record<string, unknown> | undefined, name: string): boolean {
  if (!headers) return false;
  const n = name.toLowerCase();
  return Object.keys(headers).some((k) => k.toLowerCase() === n);
}

/**
 * Sends one HTTP/1.1 request asking for a takeover and returns the raw connection once
 * the server switched (101, or 200 raw-stream in legacy mode `upgrade: false`).
 *
 * Bytes that arrive right behind the response head are read first from `socket`; the
 * connection stays half-open (`closeWrite()` sends EOF, reading goes on). Rejects with a
 * {@link HijackError}: `ERR_INVALID_TARGET`, `ERR_CONNECT` (names the target, asks whether
 * the daemon runs), `ERR_CONNECT_TIMEOUT`, `ERR_HEAD_TIMEOUT`, `ERR_HEAD_TOO_LARGE`,
 * `ERR_MALFORMED_HEAD`, `ERR_CLOSED_BEFORE_HEAD`, `ERR_UPGRADE_REFUSED` (with
 * `statusCode` and the server's `serverMessage`), `ERR_UPGRADE_MISMATCH`, `ERR_ABORTED`.
 *
 * @example
 * const { socket, mediaType, closeWrite } = await dialHijack('unix:///var/run/docker.sock', {
 *   path: `/v1.41/exec/${id}/start`,
 *   headers: { 'Content-Type': 'application/json' },
 *   body: JSON.stringify({ Detach: false, Tty: false }),
 * });
 */
export async function dialHijack(
  target: Target,
  options: DialHijackOptions = {},
): Promise<HijackedConnection> {
  const t = resolveTarget(target);
  const { signal } = options;
  const method = options.method ?? 'POST';
  const upgrade = options.upgrade === undefined ? DEFAULT_UPGRADE : options.upgrade;
  if (upgrade !== false && (typeof upgrade !== 'string' || upgrade === '')) {
    throw new HijackError(
      'ERR_INVALID_ARGUMENT',
      'upgrade must be a token such as "tcp", or false',
    );
  }
  const path = t.prefix + (options.path ?? '/');
  if (!path.startsWith('/') && path !== '*') {
    throw new HijackError(
      'ERR_INVALID_ARGUMENT',
      `path must start with "/": ${JSON.stringify(path)}`,
    );
  }
  const body = options.body;
  const isStream = body !== undefined && typeof body === 'object' && 'pipe' in body;
  const bodyBuf =
    body === undefined || isStream
      ? undefined
      : typeof body === 'string'
        ? Buffer.from(body)
        : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const user = options.headers ?? {};

  const headers: Record<string, string | number | readonly string[]> = {};
  if (!hasHeader(user, 'host')) headers['Host'] = t.hostHeader;
  if (!hasHeader(user, 'user-agent')) headers['User-Agent'] = USER_AGENT;
  if (bodyBuf) {
    if (!hasHeader(user, 'content-length')) headers['Content-Length'] = bodyBuf.length;
  } else if (isStream) {
    if (!hasHeader(user, 'content-length') && !hasHeader(user, 'transfer-encoding')) {
      headers['Transfer-Encoding'] = 'chunked';
    }
  } else if (/^(POST|PUT|PATCH)$/.test(method) && !hasHeader(user, 'content-length')) {
    headers['Content-Length'] = 0;
  }
  if (upgrade !== false) {
    if (!hasHeader(user, 'connection')) headers['Connection'] = 'Upgrade';
    if (!hasHeader(user, 'upgrade')) headers['Upgrade'] = upgrade;
  }
  Object.assign(headers, user);
  const requestHead = formatRequestHead({ method, path, headers });

  if (signal?.aborted) throw abortError(signal);
  const inline = bodyBuf !== undefined && bodyBuf.length <= 64 * 1024;
  const socket = await connect(
    t,
    options,
    inline ? Buffer.concat([requestHead, bodyBuf]) : requestHead,
  );
  const onAbortLate = () => socket.destroy(abortError(signal));
  try {
    if (signal?.aborted) throw abortError(signal);
    socket.setNoDelay(true);
    if (t.kind !== 'unix' && options.keepAlive !== false) {
      socket.setKeepAlive(true, options.keepAlive ?? 30_000);
    }
    // Errors while writing surface through the head read (close/error before head).
    const swallow = () => {};
    socket.on('error', swallow);
    if (bodyBuf && !inline) socket.write(bodyBuf);
    else if (isStream) writeBody(socket, body as Readable, !hasHeader(user, 'content-length'));

    // Informational answers (100 Continue, 103 Early Hints) precede the real one. The head
    // timeout and size limit hold across all of them, and at most 5 are taken (Go's
    // Transport): a server cannot keep a dial pending by sending 1xx forever.
    const timeout = options.headTimeout ?? 60_000;
    const deadline = timeout > 0 ? Date.now() + timeout : 0;
    let budget = options.maxHeaderSize ?? DEFAULT_MAX_HEADER_SIZE;
    let head: ResponseHead;
    for (let informational = 0; ; informational++) {
      const left = deadline ? deadline - Date.now() : 0;
      if (deadline && left <= 0) {
        throw new HijackError(
          'ERR_HEAD_TIMEOUT',
          `no final response head within ${timeout} ms (${informational} informational answers); is the server slow or not speaking HTTP?`,
          { timeout, received: 0 },
        );
      }
      head = await readResponseHead(socket, { maxHeaderSize: budget, timeout: left, signal });
      budget -= head.headLength;
      if (head.statusCode >= 100 && head.statusCode < 200 && head.statusCode !== 101) {
        if (informational >= MAX_INFORMATIONAL) {
          throw new HijackError(
            'ERR_MALFORMED_HEAD',
            `${t.url} sent more than ${MAX_INFORMATIONAL} informational (1xx) answers before its response`,
          );
        }
        if (head.rest.length) socket.unshift(head.rest);
        continue;
      }
      break;
    }
    socket.removeListener('error', swallow);

    const accepted = head.statusCode === 101 || (upgrade === false && head.statusCode === 200);
    if (!accepted) {
      const text = await readErrorBody(socket, head);
      const message = serverMessage(text);
      const hint =
        head.statusCode === 200 && upgrade !== false
          ? ' (the server answered 200 without switching protocols: something on the way may drop the Upgrade header; use upgrade: false to take a 200 raw stream over)'
          : '';
      throw new HijackError(
        'ERR_UPGRADE_REFUSED',
        `${t.url} refused the takeover of ${method} ${path}: ${head.statusCode} ${head.statusMessage}${message ? `: ${message}` : ''}${hint}`,
        {
          statusCode: head.statusCode,
          statusMessage: head.statusMessage,
          headers: head.headers,
          serverMessage: message,
        },
      );
    }
    if (head.statusCode === 101 && upgrade !== false) {
      const got = head.headers['upgrade'];
      // The field may be repeated (`Upgrade: tcp` twice reads "tcp, tcp"): every protocol
      // named must be the one asked for.
      const named =
        typeof got === 'string' ? got.split(',').map((p) => p.trim().toLowerCase()) : [];
      if (typeof got === 'string' && named.some((p) => p !== upgrade.toLowerCase())) {
        throw new HijackError(
          'ERR_UPGRADE_MISMATCH',
          `${t.url} switched to protocol ${JSON.stringify(got)}, not the ${JSON.stringify(upgrade)} asked for`,
          { statusCode: 101, upgrade: got, expected: upgrade },
        );
      }
    }
    if (head.rest.length > 0) socket.unshift(head.rest);
    if (signal) {
      signal.addEventListener('abort', onAbortLate, { once: true });
      socket.once('close', () => signal.removeEventListener('abort', onAbortLate));
    }
    return {
      statusCode: head.statusCode,
      statusMessage: head.statusMessage,
      headers: head.headers,
      rawHeaders: head.rawHeaders,
      mediaType: mediaTypeOf(head.headers),
      socket,
      closeWrite: () => {
        if (!socket.destroyed && !socket.writableEnded) socket.end();
      },
    };
  } catch (err) {
    socket.destroy();
    if (isHijackError(err)) throw err;
    const e = err as NodeJS.ErrnoException;
    throw new HijackError(
      'ERR_CLOSED_BEFORE_HEAD',
      `the connection to ${t.url} failed before the response head ended: ${e.message}`,
      { cause: e, sysCode: e.code },
    );
  }
}
