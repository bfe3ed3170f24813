/**
 * Reading an HTTP/1.x response head straight off a socket, and writing a request head.
 *
 * Used by {@link dialHijack} and by the gateway (upstream answers): the head is read until
 * its empty line (CRLF, or a bare LF as Go's reader also takes) whatever the chunk boundaries, and every byte after it is handed back in
 * `rest`, none parsed, none lost.
 *
 * @module
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import { HijackError } from '../errors.js';

/** Default limit of a response head, in bytes (Node's own default for --max-http-header-size). */
export const DEFAULT_MAX_HEADER_SIZE = 16 * 1024;

/** Options of {@link readResponseHead}. */
export interface ReadResponseHeadOptions {
  /** Largest head accepted, in bytes, its empty line included. Default 16 KiB. */
  maxHeaderSize?: number;
  /** Milliseconds to wait for the whole head; 0 or absent: no limit. */
  timeout?: number;
  /** Aborts the read with `ERR_ABORTED`. */
  signal?: AbortSignal;
}

/** An HTTP/1.x response head as read by {@link readResponseHead}. */
export interface ResponseHead {
  /** Status code, 100–999. */
  statusCode: number;
  /** Reason phrase, possibly empty (e.g. `UPGRADED` from dockerd). */
  statusMessage: string;
  /** `1.0` or `1.1`. */
  httpVersion: string;
  /**
   * Header fields by lower-cased name. Repeated fields are joined with `, ` (RFC 9110
   * §5.3), except `set-cookie`, which is an array (it cannot be joined).
   */
  headers: IncomingHttpHeaders;
  /** Names and values as received, alternating: `[name, value, name, value, …]`. */
  rawHeaders: string[];
  /** Bytes that followed the head in the last chunk read: the start of the body/stream. */
  rest: Buffer;
  /** Length of the head in bytes, its empty line included. */
  headLength: number;
}

/**
 * Where the head in `buf` ends, searching from `from`: the index of the LF that ends its
 * last line and the length of the empty line after it (LF or CRLF), or -1.
 */
function headEnd(buf: Buffer, from: number): { at: number; eol: number } | null {
  for (let i = buf.indexOf(0x0a, from); i !== -1; i = buf.indexOf(0x0a, i + 1)) {
    if (buf[i + 1] === 0x0a) return { at: i, eol: 1 };
    if (buf[i + 1] === 0x0d && buf[i + 2] === 0x0a) return { at: i, eol: 2 };
  }
  return null;
}
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// Field values: visible ASCII, obs-text, SP and HTAB; no CR, LF or NUL.
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
const STATUS_LINE = /^HTTP\/(1\.[01]) ([0-9]{3})(?: ([\t\x20-\x7e\x80-\xff]*))?$/;

/**
 * Parses a complete response head (without its last line end and the empty line) into its
 * parts.
 * Throws `ERR_MALFORMED_HEAD` naming the first bad line.
 */
export function parseResponseHead(head: Buffer): Omit<ResponseHead, 'rest' | 'headLength'> {
  const text = head.toString('latin1');
  // Lines end in LF, a CR before it dropped: Go's textproto reads bare-LF heads too.
  const lines = text.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  const statusLine = lines[0] ?? '';
  const m = STATUS_LINE.exec(statusLine);
  if (!m) {
    throw new HijackError(
      'ERR_MALFORMED_HEAD',
      `the server's answer does not start with an HTTP/1.x status line: ${JSON.stringify(statusLine.slice(0, 80))}; is the target an HTTP server?`,
      { line: statusLine.slice(0, 200) },
    );
  }
  const rawHeaders: string[] = [];
  const headers: IncomingHttpHeaders = {};
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon) : '';
    const value = colon > 0 ? line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, '') : '';
    if (!TOKEN.test(name) || !FIELD_VALUE.test(value)) {
      throw new HijackError(
        'ERR_MALFORMED_HEAD',
        `malformed header line in the server's answer: ${JSON.stringify(line.slice(0, 80))}`,
        { line: line.slice(0, 200) },
      );
    }
    rawHeaders.push(name, value);
    const key = name.toLowerCase();
    if (key === 'set-cookie') {
      (headers['set-cookie'] ??= []).push(value);
    } else {
      const prev = headers[key];
      headers[key] = prev === undefined ? value : `${prev as string}, ${value}`;
    }
  }
  return {
    statusCode: Number(m[2]),
    statusMessage: m[3] ?? '',
    httpVersion: m[1]!,
    headers,
    rawHeaders,
  };
}

/**
 * Reads one HTTP/1.x response head from `socket`: resolves once its empty line arrived, with
 * the parsed head and the bytes behind it in `rest`.
 *
 * The socket is read in paused mode and left paused, with no listener of ours attached,
 * so the caller can `unshift(rest)` or write `rest` elsewhere, then read on. Rejects with
 * `ERR_HEAD_TOO_LARGE`, `ERR_MALFORMED_HEAD`, `ERR_CLOSED_BEFORE_HEAD`,
 * `ERR_HEAD_TIMEOUT` or `ERR_ABORTED` (or the socket's own error); on rejection the
 * socket is not destroyed: that is the caller's decision.
 */
export function readResponseHead(
  socket: Readable,
  options: ReadResponseHeadOptions = {},
): Promise<ResponseHead> {
  const maxHeaderSize = options.maxHeaderSize ?? DEFAULT_MAX_HEADER_SIZE;
  const { timeout, signal } = options;
  return new Promise<ResponseHead>((resolve, reject) => {
    let buf: Buffer = Buffer.alloc(0);
    let timer: NodeJS.Timeout | undefined;
    let settled = false;

    const cleanup = () => {
      settled = true;
      socket.removeListener('readable', onReadable);
      socket.removeListener('end', onEnd);
      socket.removeListener('close', onEnd);
      socket.removeListener('error', onError);
      signal?.removeEventListener('abort', onAbort);
      if (timer) clearTimeout(timer);
    };
    const fail = (err: Error) => {
      if (settled) return;
      cleanup();
      reject(err);
    };
    function onError(err: Error) {
      fail(err);
    }
    function onEnd() {
      fail(
        new HijackError(
          'ERR_CLOSED_BEFORE_HEAD',
          `the server closed the connection after ${buf.length} bytes, before its response head ended`,
          { received: buf.length },
        ),
      );
    }
    function onAbort() {
      fail(
        new HijackError('ERR_ABORTED', 'reading the response head was aborted', {
          cause: signal?.reason,
        }),
      );
    }
    function onReadable() {
      let chunk: Buffer | null;
      while (!settled && (chunk = socket.read() as Buffer | null) !== null) {
        const from = Math.max(0, buf.length - 2);
        buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
        const end = headEnd(buf, from);
        const at = end ? end.at : -1;
        // The head's length: its lines, the LF of the last one, the empty line.
        const length = end ? end.at + 1 + end.eol : -1;
        const limit = at === -1 ? buf.length : length;
        if (limit > maxHeaderSize) {
          fail(
            new HijackError(
              'ERR_HEAD_TOO_LARGE',
              `the server's response head is over ${maxHeaderSize} bytes; raise maxHeaderSize if that is expected`,
              { maxHeaderSize },
            ),
          );
          return;
        }
        if (at !== -1) {
          let parsed: Omit<ResponseHead, 'rest' | 'headLength'>;
          try {
            // Without the last line's line end (CRLF or LF).
            parsed = parseResponseHead(buf.subarray(0, buf[at - 1] === 0x0d ? at - 1 : at));
          } catch (err) {
            fail(err as Error);
            return;
          }
          cleanup();
          resolve({ ...parsed, rest: buf.subarray(length), headLength: length });
          return;
        }
      }
    }

    if (signal?.aborted) {
      onAbort();
      return;
    }
    if (socket.destroyed || socket.readableEnded) {
      onEnd();
      return;
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    if (timeout && timeout > 0) {
      timer = setTimeout(() => {
        fail(
          new HijackError(
            'ERR_HEAD_TIMEOUT',
            `no complete response head within ${timeout} ms (${buf.length} bytes received); is the server slow or not speaking HTTP?`,
            { timeout, received: buf.length },
          ),
        );
      }, timeout);
    }
    socket.on('error', onError);
    socket.on('end', onEnd);
    socket.on('close', onEnd);
    socket.on('readable', onReadable);
    // Data may already sit in the buffer (e.g. after an unshift).
    if (socket.readableLength > 0) onReadable();
  });
}

/** A request head as {@link formatRequestHead} writes it. */
export interface RequestHead {
  /** Method token, e.g. `POST`. */
  method: string;
  /** Request target, e.g. `/v1.41/exec/abc/start?x=1`. */
  path: string;
  /** Header fields in order; a value array repeats the field. */
  headers: Record<string, string | number | readonly string[]> | [string, string][];
}

/**
 * Serializes an HTTP/1.1 request head, CRLFCRLF included. Throws `ERR_INVALID_ARGUMENT`
 * on a method, path, header name or value that would break the framing (CR, LF, NUL,
 * spaces in the path), so no header can be injected.
 */
export function formatRequestHead(head: RequestHead): Buffer {
  const { method, path } = head;
  if (!TOKEN.test(method)) {
    throw new HijackError('ERR_INVALID_ARGUMENT', `invalid method ${JSON.stringify(method)}`);
  }
  if (!/^[\x21-\x7e\x80-\xff]+$/.test(path)) {
    throw new HijackError(
      'ERR_INVALID_ARGUMENT',
      `invalid request path ${JSON.stringify(path)}: no spaces or control characters (percent-encode them)`,
    );
  }
  const pairs: [string, string][] = Array.isArray(head.headers)
    ? head.headers
    : Object.entries(head.headers).flatMap(([k, v]) =>
        Array.isArray(v) ? v.map((x): [string, string] => [k, String(x)]) : [[k, String(v)]],
      );
  let out = `${method} ${path} HTTP/1.1\r\n`;
  for (const [name, value] of pairs) {
    if (!TOKEN.test(name)) {
      throw new HijackError('ERR_INVALID_ARGUMENT', `invalid header name ${JSON.stringify(name)}`);
    }
    if (!FIELD_VALUE.test(value)) {
      throw new HijackError(
        'ERR_INVALID_ARGUMENT',
        `invalid value for header ${name}: no CR, LF or NUL allowed`,
      );
    }
    out += `${name}: ${value}\r\n`;
  }
  return Buffer.from(out + '\r\n', 'latin1');
}
