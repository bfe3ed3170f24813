/**
 * Where a request body ends in the raw byte stream, and how to give unread body bytes
 * back in wire form at a takeover. Kept apart from the transport: it only looks at bytes.
 *
 * @internal
 */
import type { IncomingMessage } from 'node:http';

const CRLF = Buffer.from('\r\n');

/** The raw bytes a takeover must put in front of the unparsed rest, and what to skip of it. */
export interface Reframe {
  /** Bytes that go first in `head`. */
  prefix: Buffer[];
  /** Framing bytes at the start of the unparsed rest that the prefix already stands for. */
  skip: Buffer | null;
}

/** How one request body is delimited on the wire. */
export interface BodyFraming {
  readonly kind: 'none' | 'length' | 'chunked';
  /** True once every byte of the body (and its framing) has been counted. */
  readonly done: boolean;
  /** How many leading bytes of `chunk` still belong to this body; counts them. */
  take(chunk: Buffer): number;
  /** Wire form of `unread` (body bytes already decoded into the request) for a takeover. */
  reframe(unread: Buffer[]): Reframe;
}

/** The framing of `req`'s body, from its head (RFC 9112 §6.3). */
export function framingOf(req: IncomingMessage): BodyFraming {
  const te = req.headers['transfer-encoding'];
  if (te !== undefined && /(?:^|,)\s*chunked\s*$/i.test(te)) return new ChunkedFraming();
  const cl = req.headers['content-length'];
  if (cl !== undefined) {
    const n = Number(cl);
    if (Number.isSafeInteger(n) && n > 0) return new LengthFraming(n);
  }
  return NONE;
}

const NONE: BodyFraming = {
  kind: 'none',
  done: true,
  take: () => 0,
  reframe: (unread) => ({ prefix: unread, skip: null }),
};

class LengthFraming implements BodyFraming {
  readonly kind = 'length';
  constructor(private left: number) {}
  get done(): boolean {
    return this.left === 0;
  }
  take(chunk: Buffer): number {
    const n = Math.min(this.left, chunk.length);
    this.left -= n;
    return n;
  }
  reframe(unread: Buffer[]): Reframe {
    // A Content-Length body reaches the request unchanged: unread bytes are wire bytes.
    return { prefix: unread, skip: null };
  }
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

/** Longest size line or trailer section we keep to replay; beyond it, llhttp rejects anyway. */
const MAX_LINE = 16 * 1024;

class ChunkedFraming implements BodyFraming {
  readonly kind = 'chunked';
  private s = S.Size;
  private size = 0;
  private digits = 0;
  private left = 0;
  /** Raw bytes of the size line being read, or of the last-chunk line and trailers. */
  private line: number[] = [];
  /** Once the framing is invalid we stop tracking and let llhttp reject the request. */
  private broken = false;

  get done(): boolean {
    return this.s === S.Done || this.broken;
  }

  take(chunk: Buffer): number {
    if (this.broken) return chunk.length;
    let i = 0;
    while (i < chunk.length && this.s !== S.Done) {
      if (this.s === S.Data) {
        const n = Math.min(this.left, chunk.length - i);
        this.left -= n;
        i += n;
        if (this.left === 0) this.s = S.DataCr;
        continue;
      }
      const c = chunk[i++]!;
      if (!this.step(c)) {
        this.broken = true;
        return chunk.length;
      }
    }
    return i;
  }

  private record(c: number): boolean {
    if (this.line.length >= MAX_LINE) return false;
    this.line.push(c);
    return true;
  }

  private step(c: number): boolean {
    switch (this.s) {
      case S.Size: {
        const h = hexValue(c);
        if (h >= 0) {
          if (++this.digits > 15) return false;
          this.size = this.size * 16 + h;
          return this.record(c);
        }
        if (this.digits === 0) return false;
        if (c === 0x3b /* ; */ || c === 0x20 || c === 0x09) {
          this.s = S.Ext;
          return this.record(c);
        }
        if (c === 0x0d) {
          this.s = S.SizeLf;
          return this.record(c);
        }
        return false;
      }
      case S.Ext:
        if (c === 0x0d) this.s = S.SizeLf;
        else if (c === 0x0a) return false;
        return this.record(c);
      case S.SizeLf:
        if (c !== 0x0a || !this.record(c)) return false;
        if (this.size > 0) {
          this.left = this.size;
          this.s = S.Data;
          this.line = [];
        } else {
          this.s = S.TrailerStart; // keep the last-chunk line: it is replayed with the trailers
        }
        this.size = 0;
        this.digits = 0;
        return true;
      case S.DataCr:
        if (c !== 0x0d) return false;
        this.s = S.DataLf;
        return true;
      case S.DataLf:
        if (c !== 0x0a) return false;
        this.s = S.Size;
        return true;
      case S.TrailerStart:
        if (c === 0x0d) this.s = S.EndLf;
        else if (c === 0x0a) return false;
        else this.s = S.TrailerLine;
        return this.record(c);
      case S.TrailerLine:
        if (c === 0x0a) this.s = S.TrailerStart;
        return this.record(c);
      case S.EndLf:
        if (c !== 0x0a) return false;
        this.s = S.Done;
        return this.record(c);
      default:
        return false;
    }
  }

  reframe(unread: Buffer[]): Reframe {
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
      default:
        // Between chunks, inside a size line, or in the trailers: replay what was fed of it.
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
