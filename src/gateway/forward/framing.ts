/**
 * Finds where an HTTP/1.1 message body ends in a raw byte stream (RFC 9112 §6): a fixed
 * Content-Length, chunked transfer coding, or the end of the connection. The bytes are
 * never changed, only counted, so the gateway can pass a body through untouched and know
 * what comes after it.
 *
 * @module
 */
import { HijackError } from '../../errors.js';

/** How a body is delimited. */
export type Framing =
  { kind: 'none' } | { kind: 'length'; length: number } | { kind: 'chunked' } | { kind: 'close' };

const enum S {
  Size,
  Ext,
  SizeLf,
  Data,
  DataCr,
  DataLf,
  LineStart,
  Line,
  LastLf,
  Done,
}

const MAX_LINE = 8192;

/**
 * Counts body bytes. `feed(chunk)` returns how many bytes of `chunk` belong to the body;
 * when that is less than `chunk.length`, or `done` is true, the body is over and the rest
 * of the chunk is what follows it. Throws `ERR_MALFORMED_HEAD` on broken chunk framing.
 */
export class BodyFramer {
  /** True once the whole body was seen. */
  done: boolean;
  private state: S = S.Size;
  private remaining: number;
  private size = 0;
  private digits = 0;
  private line = 0;
  private readonly framing: Framing;

  constructor(framing: Framing) {
    this.framing = framing;
    this.remaining = framing.kind === 'length' ? framing.length : 0;
    this.done = framing.kind === 'none' || (framing.kind === 'length' && framing.length === 0);
  }

  /** Number of bytes of `chunk` that are body; the rest follows the body. */
  feed(chunk: Uint8Array): number {
    if (this.done) return 0;
    const f = this.framing;
    if (f.kind === 'close') return chunk.length;
    if (f.kind === 'length') {
      const n = Math.min(this.remaining, chunk.length);
      this.remaining -= n;
      if (this.remaining === 0) this.done = true;
      return n;
    }
    return this.feedChunked(chunk);
  }

  private fail(why: string): never {
    throw new HijackError('ERR_MALFORMED_HEAD', `malformed chunked body: ${why}`);
  }

  private feedChunked(b: Uint8Array): number {
    let i = 0;
    while (i < b.length) {
      const c = b[i]!;
      switch (this.state) {
        case S.Size: {
          const d = hex(c);
          if (d >= 0) {
            if (++this.digits > 15) this.fail('chunk size too large');
            this.size = this.size * 16 + d;
          } else if (this.digits === 0) this.fail('chunk size expected');
          else if (c === 0x0d) this.state = S.SizeLf;
          else if (c === 0x3b || c === 0x20 || c === 0x09) this.state = S.Ext;
          else this.fail('bad character in chunk size');
          i++;
          break;
        }
        case S.Ext:
          if (c === 0x0d) this.state = S.SizeLf;
          else if (c === 0x0a) this.fail('bare LF after chunk size');
          else if (++this.line > MAX_LINE) this.fail('chunk extension too long');
          i++;
          break;
        case S.SizeLf:
          if (c !== 0x0a) this.fail('CR without LF after chunk size');
          i++;
          this.line = 0;
          this.digits = 0;
          if (this.size === 0) this.state = S.LineStart;
          else {
            this.remaining = this.size;
            this.size = 0;
            this.state = S.Data;
          }
          break;
        case S.Data: {
          const n = Math.min(this.remaining, b.length - i);
          this.remaining -= n;
          i += n;
          if (this.remaining === 0) this.state = S.DataCr;
          break;
        }
        case S.DataCr:
          if (c !== 0x0d) this.fail('chunk data longer than its size');
          this.state = S.DataLf;
          i++;
          break;
        case S.DataLf:
          if (c !== 0x0a) this.fail('CR without LF after chunk data');
          this.state = S.Size;
          i++;
          break;
        case S.LineStart:
          if (c === 0x0d) this.state = S.LastLf;
          else this.state = S.Line;
          this.line = 0;
          i++;
          break;
        case S.Line:
          if (c === 0x0a) this.state = S.LineStart;
          else if (++this.line > MAX_LINE) this.fail('trailer line too long');
          i++;
          break;
        case S.LastLf:
          if (c !== 0x0a) this.fail('CR without LF at the end of the trailers');
          i++;
          this.state = S.Done;
          this.done = true;
          return i;
        case S.Done:
          return i;
      }
    }
    return i;
  }
}

function hex(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

/**
 * The framing of a request body from its header fields (`headers` lower-cased, as Node
 * gives them). Throws `ERR_MALFORMED_HEAD` for what a proxy must refuse (RFC 9112 §6.3):
 * both Transfer-Encoding and Content-Length, a coding other than a final `chunked`, a
 * Content-Length that is not one decimal number.
 */
export function requestFraming(headers: Record<string, string | string[] | undefined>): Framing {
  const te = headers['transfer-encoding'];
  const cl = headers['content-length'];
  if (te !== undefined) {
    if (cl !== undefined) {
      throw new HijackError('ERR_MALFORMED_HEAD', 'both Transfer-Encoding and Content-Length');
    }
    const codings = String(te)
      .split(',')
      .map((s) => s.trim().toLowerCase());
    if (
      codings[codings.length - 1] !== 'chunked' ||
      codings.filter((c) => c === 'chunked').length !== 1
    ) {
      throw new HijackError(
        'ERR_MALFORMED_HEAD',
        `unsupported Transfer-Encoding ${JSON.stringify(te)}`,
      );
    }
    return { kind: 'chunked' };
  }
  if (cl !== undefined) return { kind: 'length', length: parseLength(cl) };
  return { kind: 'none' };
}

/**
 * The framing of a response body (RFC 9112 §6.3): none for HEAD, 1xx, 204 and 304;
 * chunked; Content-Length; else until the connection closes.
 */
export function responseFraming(
  method: string,
  statusCode: number,
  headers: Record<string, string | string[] | undefined>,
): Framing {
  if (method === 'HEAD' || statusCode < 200 || statusCode === 204 || statusCode === 304) {
    return { kind: 'none' };
  }
  const te = headers['transfer-encoding'];
  if (te !== undefined) {
    return /(^|,)\s*chunked\s*$/i.test(String(te)) ? { kind: 'chunked' } : { kind: 'close' };
  }
  const cl = headers['content-length'];
  if (cl !== undefined) return { kind: 'length', length: parseLength(cl) };
  return { kind: 'close' };
}

function parseLength(v: string | string[]): number {
  const values = (Array.isArray(v) ? v.join(',') : v).split(',').map((s) => s.trim());
  const first = values[0]!;
  if (!/^[0-9]{1,15}$/.test(first) || values.some((x) => x !== first)) {
    throw new HijackError('ERR_MALFORMED_HEAD', `invalid Content-Length ${JSON.stringify(v)}`);
  }
  return Number(first);
}
