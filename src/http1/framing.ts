/**
 * Where an HTTP/1.1 message body ends in a raw byte stream (RFC 9112 §6), and how to give
 * body bytes that were already decoded back in wire form. Kept apart from the transport:
 * it only counts bytes, never changes them. Used by the takeover gate (request bodies)
 * and by the gateway (request and response bodies passed through untouched).
 *
 * @module
 */
import type { IncomingMessage } from 'node:http';
import { HijackError } from '../errors.js';

/** How a body is delimited. */
export type Framing =
  { kind: 'none' } | { kind: 'length'; length: number } | { kind: 'chunked' } | { kind: 'close' };

type Headers = Record<string, string | string[] | undefined>;

/**
 * The framing of a request body from its header fields (lower-cased, as Node gives them).
 * Throws `ERR_MALFORMED_HEAD` for what a proxy must refuse (RFC 9112 §6.3): both
 * Transfer-Encoding and Content-Length, a coding other than one final `chunked`, a
 * Content-Length that is not one decimal number.
 */
export function requestFraming(headers: Headers): Framing {
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
export function responseFraming(method: string, statusCode: number, headers: Headers): Framing {
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
  // Leading zeros are read as Go's ParseUint and llhttp read them; past 15 significant
  // digits the value is not exact in a double, and no body that long ends anyway.
  if (
    !/^[0-9]+$/.test(first) ||
    first.replace(/^0+(?=.)/, '').length > 15 ||
    values.some((x) => x !== first)
  ) {
    throw new HijackError('ERR_MALFORMED_HEAD', `invalid Content-Length ${JSON.stringify(v)}`);
  }
  return Number(first);
}

/** The scanner of `req`'s body, for the gate: Node's parser already accepted the head. */
export function framingOf(req: IncomingMessage): BodyScanner {
  // From rawHeaders, the way Node folds them (Transfer-Encoding joined, the first
  // Content-Length): reading req.headers would build the whole headers object per request.
  const raw = req.rawHeaders;
  let te: string | undefined;
  let cl: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 17 && name.toLowerCase() === 'transfer-encoding') {
      te = te === undefined ? raw[i + 1]! : `${te}, ${raw[i + 1]!}`;
    } else if (name.length === 14 && cl === undefined && name.toLowerCase() === 'content-length') {
      cl = raw[i + 1]!;
    }
  }
  let framing: Framing;
  try {
    framing = requestFraming({ 'transfer-encoding': te, 'content-length': cl });
  } catch {
    framing = te !== undefined ? { kind: 'chunked' } : { kind: 'none' };
  }
  return new BodyScanner(framing);
}

const CRLF = Buffer.from('\r\n');

/** The raw bytes a takeover must put in front of the unparsed rest, and what to skip of it. */
export interface Reframe {
  /** Bytes that go first. */
  prefix: Buffer[];
  /** Framing bytes at the start of the unparsed rest that the prefix already stands for. */
  skip: Buffer | null;
}

const enum S {
  Size,
  Ext,
  SizeLf,
  Data,
  DataCr,
  DataLf,
  TrailerStart,
  TrailerLine,
  EndLf,
  Done,
}

/** Longest size line or trailer section kept (and allowed, when strict). */
const MAX_LINE = 16 * 1024;

/** Options of {@link BodyScanner}. */
export interface BodyScannerOptions {
  /**
   * Throw `ERR_MALFORMED_HEAD` on broken chunk framing (a proxy passing bytes on). Lenient
   * (the default) stops counting and takes the rest as body, for a parser behind it that
   * rejects the message itself.
   */
  strict?: boolean;
}

/**
 * Counts the bytes of one body. `take(chunk)` returns how many leading bytes of `chunk`
 * belong to the body; when that is less than `chunk.length`, or `done` is true, the body
 * is over and the rest is what follows it.
 */
export class BodyScanner {
  /** True once every byte of the body (and its framing) has been counted. */
  done: boolean;
  readonly kind: Framing['kind'];
  private readonly strict: boolean;
  private left: number;
  private s = S.Size;
  private size = 0;
  /** Hex digits of the size read so far; `significant` leaves out leading zeros. */
  private digits = 0;
  private significant = 0;
  /** Raw bytes of the size line being read, or of the last-chunk line and trailers. */
  private line: number[] = [];

  constructor(framing: Framing, options: BodyScannerOptions = {}) {
    this.kind = framing.kind;
    this.strict = options.strict ?? false;
    this.left = framing.kind === 'length' ? framing.length : 0;
    this.done = framing.kind === 'none' || (framing.kind === 'length' && framing.length === 0);
  }

  take(chunk: Uint8Array): number {
    if (this.done) return 0;
    if (this.kind === 'close') return chunk.length;
    if (this.kind === 'length') {
      const n = Math.min(this.left, chunk.length);
      this.left -= n;
      if (this.left === 0) this.done = true;
      return n;
    }
    let i = 0;
    while (i < chunk.length && !this.done) {
      if (this.s === S.Data) {
        const n = Math.min(this.left, chunk.length - i);
        this.left -= n;
        i += n;
        if (this.left === 0) this.s = S.DataCr;
        continue;
      }
      const why = this.step(chunk[i++]!);
      if (why) {
        if (this.strict)
          throw new HijackError('ERR_MALFORMED_HEAD', `malformed chunked body: ${why}`);
        this.done = true; // lenient: the rest goes on to a parser that rejects it
        return chunk.length;
      }
    }
    return i;
  }

  private record(c: number): string | null {
    if (this.line.length >= MAX_LINE) return 'chunk line or trailers too long';
    this.line.push(c);
    return null;
  }

  /** One byte outside chunk data; returns why the framing is broken, or null. */
  private step(c: number): string | null {
    switch (this.s) {
      case S.Size: {
        const h = hexValue(c);
        if (h >= 0) {
          this.digits++;
          if (h > 0 || this.significant > 0) this.significant++;
          // Go's reader takes 16 digits at most, leading zeros counted (strict); llhttp's
          // leading zeros are free (lenient). The value must be exact in a double in both.
          if ((this.strict && this.digits > 16) || this.significant > 13) {
            return 'chunk size too large';
          }
          this.size = this.size * 16 + h;
          return this.record(c);
        }
        if (this.digits === 0) return 'chunk size expected';
        if (c === 0x3b /* ; */ || c === 0x20 || c === 0x09) this.s = S.Ext;
        else if (c === 0x0d) this.s = S.SizeLf;
        else return 'bad character in chunk size';
        return this.record(c);
      }
      case S.Ext:
        if (c === 0x0a) return 'bare LF after chunk size';
        if (c === 0x0d) this.s = S.SizeLf;
        return this.record(c);
      case S.SizeLf:
        if (c !== 0x0a) return 'CR without LF after chunk size';
        if (this.record(c)) return 'chunk line too long';
        if (this.size > 0) {
          this.left = this.size;
          this.s = S.Data;
          this.line = [];
        } else {
          this.s = S.TrailerStart; // the last-chunk line is kept: it is replayed with the trailers
        }
        this.size = 0;
        this.digits = 0;
        this.significant = 0;
        return null;
      case S.DataCr:
        if (c !== 0x0d) return 'chunk data longer than its size';
        this.s = S.DataLf;
        return null;
      case S.DataLf:
        if (c !== 0x0a) return 'CR without LF after chunk data';
        this.s = S.Size;
        return null;
      case S.TrailerStart:
        if (c === 0x0a) return 'bare LF in the trailers';
        this.s = c === 0x0d ? S.EndLf : S.TrailerLine;
        return this.record(c);
      case S.TrailerLine:
        if (c === 0x0a) this.s = S.TrailerStart;
        return this.record(c);
      case S.EndLf:
        if (c !== 0x0a) return 'CR without LF at the end of the trailers';
        this.s = S.Done;
        this.done = true;
        return this.record(c);
      default:
        return 'bytes after the end of the body';
    }
  }

  /** Bytes of a Content-Length body not counted yet (0 for other framings). */
  remaining(): number {
    return this.kind === 'length' ? this.left : 0;
  }

  /**
   * Framing bytes the wire still owes before a takeover can hand the rest on as valid
   * chunked encoding: the CRLF (or its LF) after chunk data that was read to its end.
   */
  owed(): number {
    if (this.kind !== 'chunked') return 0;
    return this.s === S.DataCr ? 2 : this.s === S.DataLf ? 1 : 0;
  }

  /**
   * Wire form of `unread` (body bytes already decoded into the request) for a takeover:
   * a Content-Length body is raw already; a chunked one gets a chunk synthesised around
   * them, plus what was counted of the current size line or trailers.
   */
  reframe(unread: Buffer[]): Reframe {
    if (this.kind !== 'chunked') return { prefix: unread, skip: null };
    const u = unread.reduce((n, b) => n + b.length, 0);
    const whole = (): Buffer[] =>
      u > 0 ? [Buffer.from(u.toString(16) + '\r\n'), ...unread, CRLF] : [];
    switch (this.s) {
      case S.Data:
        // Mid-chunk: one chunk holds the unread bytes and the rest of the current one.
        return {
          prefix: [Buffer.from((u + this.left).toString(16) + '\r\n'), ...unread],
          skip: null,
        };
      case S.DataCr:
        return { prefix: whole(), skip: CRLF };
      case S.DataLf:
        return { prefix: whole(), skip: CRLF.subarray(1) };
      case S.Done:
        // The whole body was counted: what was decoded and not read, then its end again
        // (a body read to its end gives nothing, as in Go and for Content-Length bodies).
        return { prefix: u > 0 ? [...whole(), Buffer.from(this.line)] : [], skip: null };
      default:
        // Between chunks, inside a size line, or in the trailers: replay what was counted of it.
        return { prefix: [...whole(), Buffer.from(this.line)], skip: null };
    }
  }
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}
