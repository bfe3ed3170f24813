/**
 * One request body on a gated connection: where it ends is llhttp's reading (a mirror
 * parser, internal/llhttp-body.ts), so the gate hands the connection's parser exactly the
 * bytes it would have parsed as this body; how far it got is counted by the chunk scanner
 * (http1/framing.ts) so a takeover can give the unread rest back in wire form.
 *
 * @internal
 */
import type { IncomingMessage } from 'node:http';
import { BodyScanner, framingOf, type Framing, type Reframe } from '../http1/framing.js';
import { LlhttpBody } from './internal/llhttp-body.js';

/** The body of one gated request. */
export class GateBody {
  /**
   * The body of `req`: one shared, immutable empty body when the head has no framing field
   * (most requests: nothing to count, no scanner, no mirror), else its own.
   */
  static of(req: IncomingMessage, lenient: boolean): GateBody {
    const raw = req.rawHeaders;
    for (let i = 0; i < raw.length; i += 2) {
      const n = raw[i]!.length;
      // Names as Node gives them: 14 or 17 letters, one more with a lenient trailing space.
      if (n >= 14 && n <= 18) {
        const name = raw[i]!.trim().toLowerCase();
        if (name === 'content-length' || name === 'transfer-encoding') {
          return new GateBody(req, lenient);
        }
      }
    }
    return NO_BODY;
  }

  /** How the head delimits the body (what the chunk scanner counts). */
  readonly kind: Framing['kind'];
  /** True once the connection's parser has been given every byte of the body. */
  done: boolean;
  private readonly scanner: BodyScanner;
  private mirror: LlhttpBody | null;

  constructor(req: IncomingMessage, lenient: boolean) {
    this.scanner = framingOf(req);
    // null without a framing field, and on CONNECT (llhttp reads no body there).
    this.mirror = LlhttpBody.for(req, lenient);
    const raw = !this.mirror && req.method !== 'CONNECT' ? this.scanner.kind : 'none';
    // A field the scanner does not read but llhttp does (it decides) counts as raw bytes.
    this.kind = this.mirror ? (this.scanner.kind === 'none' ? 'length' : this.scanner.kind) : raw;
    this.done = this.kind === 'none' || (this.mirror ? this.mirror.done : this.scanner.done);
    if (this.done) this.release();
  }

  /**
   * How many leading bytes of `chunk` belong to the body; when less than `chunk.length`, or
   * `done` is true afterwards, the body is over and the rest is what follows it.
   */
  take(chunk: Buffer): number {
    if (this.done) return 0;
    if (!this.mirror) {
      const n = this.scanner.take(chunk);
      this.done = this.scanner.done;
      return n;
    }
    let n = this.mirror.take(chunk);
    const counted = this.scanner.take(chunk.subarray(0, n));
    // llhttp's end is the first byte after the message that is not CR or LF: where the
    // scanner (which agrees on a well-formed body) ended before a run of CR/LF, the run
    // is what follows the body, as Go reads it (a taker gets it).
    if (this.mirror.done && !this.mirror.refused && this.scanner.done && counted < n) {
      if (onlyLineEnds(chunk.subarray(counted, n))) n = counted;
    }
    if (this.mirror.done) {
      this.done = true;
      this.release();
    }
    return n;
  }

  /**
   * The body's length when it is known from the head alone and read the same by llhttp:
   * 0 without a body, a single plain Content-Length; -1 otherwise (chunked, a mirror).
   */
  plainLength(): number {
    if (this.kind === 'none') return 0;
    if (this.kind !== 'length' || this.mirror) return -1;
    return this.done ? 0 : this.scanner.remaining();
  }

  /** Bytes of chunk framing the wire still owes before the rest is valid chunked encoding. */
  owed(): number {
    return this.scanner.owed();
  }

  /** The wire form of decoded, unread body bytes for a takeover (see BodyScanner.reframe). */
  reframe(unread: Buffer[]): Reframe {
    return this.scanner.reframe(unread);
  }

  /** Lets go of the mirror parser (the body ended, or the request was taken over). */
  release(): void {
    this.mirror?.release();
    this.mirror = null;
  }
}

function onlyLineEnds(b: Buffer): boolean {
  for (const c of b) if (c !== 0x0d && c !== 0x0a) return false;
  return true;
}

/** What a head without Content-Length or Transfer-Encoding delimits: no body. */
const NO_BODY = new GateBody(
  { rawHeaders: [], method: 'GET' } as unknown as IncomingMessage,
  false,
);
