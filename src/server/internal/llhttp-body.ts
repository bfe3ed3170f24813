/**
 * Where llhttp itself ends a request body: a second llhttp parser (Node's own binding, the
 * one `_http_common` exports) is given a head that repeats the request's framing fields,
 * then the body bytes as they arrive. It ends the body where the connection's parser will,
 * on every input and every Node line, with the same leniency (`insecureHTTPParser`), and
 * refuses what that parser will refuse. No hand-written approximation of llhttp is involved.
 *
 * How the end is read: the mirror's head says `Connection: close`, so llhttp stops at the
 * first byte after the message that is not CR or LF (`HPE_CLOSED_CONNECTION`, error
 * position one past it). CR and LF between a body and what follows are what llhttp skips
 * before a next request anyway.
 *
 * @internal
 */
import { createRequire } from 'node:module';
import type { IncomingMessage } from 'node:http';

const require = createRequire(import.meta.url);

interface MirrorParser {
  [slot: number]: unknown;
  initialize(type: number, resource: object, maxHeaderSize: number, lenient: number): void;
  execute(data: Buffer): number | (Error & { code?: string; bytesParsed?: number });
}

interface ParserClass {
  new (): MirrorParser;
  REQUEST: number;
  kOnHeaders: number;
  kOnHeadersComplete: number;
  kOnBody: number;
  kOnMessageComplete: number;
  kOnExecute: number;
  kLenientNone: number;
  kLenientAll: number;
  kLenientKeepAlive?: number;
  kLenientDataAfterClose?: number;
}

let Parser: ParserClass | null = null;
try {
  Parser = (require('_http_common') as { HTTPParser: ParserClass }).HTTPParser;
} catch {
  Parser = null;
}

/** True when Node's llhttp binding is reachable (every supported Node line). */
export const MIRROR_AVAILABLE = Parser !== null && typeof Parser.kLenientAll === 'number';

/** Lenient flags that change framing; keep-alive and data-after-close stay strict here. */
function lenientFlags(lenient: boolean): number {
  const P = Parser!;
  if (!lenient) return P.kLenientNone;
  return P.kLenientAll & ~(P.kLenientKeepAlive ?? 0) & ~(P.kLenientDataAfterClose ?? 0);
}

/** A Content-Length value both llhttp and a double read exactly. */
const DIGITS = /^[0-9]{1,15}$/;

const pool: LlhttpBody[] = [];
const POOL_MAX = 64;
const noop = (): number => 0;

/** llhttp's reading of one request body. */
export class LlhttpBody {
  /** llhttp saw the end of the message. */
  done = false;
  /** llhttp refused the body (the connection's parser will answer 400). */
  refused = false;
  private completed = false;
  private readonly parser: MirrorParser;

  private constructor() {
    this.parser = new Parser!();
    const p = this.parser;
    p[Parser!.kOnHeaders] = noop;
    p[Parser!.kOnHeadersComplete] = noop;
    p[Parser!.kOnBody] = noop;
    p[Parser!.kOnExecute] = noop;
    p[Parser!.kOnMessageComplete] = () => {
      this.completed = true;
    };
  }

  /**
   * A mirror for `req`'s body, or null when it is not needed (no framing field, CONNECT, a
   * single plain Content-Length) or cannot reproduce the head (the caller counts then).
   */
  static for(req: IncomingMessage, lenient: boolean): LlhttpBody | null {
    if (!MIRROR_AVAILABLE || req.method === 'CONNECT') return null;
    const raw = req.rawHeaders;
    let lines = '';
    let fields = 0;
    let plainLength = false;
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i]!;
      const n = name.trim().length;
      if (n !== 14 && n !== 17) continue;
      const lower = name.trim().toLowerCase();
      if (lower === 'content-length' || lower === 'transfer-encoding') {
        fields++;
        plainLength = name.length === 14 && lower === 'content-length' && DIGITS.test(raw[i + 1]!);
        lines += `${name}: ${raw[i + 1]!}\r\n`;
      }
    }
    // No framing field; or one plain Content-Length, which llhttp reads as the number it
    // is (the caller counts it): no mirror needed.
    if (lines === '' || (fields === 1 && plainLength)) return null;
    const m = pool.pop() ?? new LlhttpBody();
    m.done = false;
    m.refused = false;
    m.completed = false;
    m.parser.initialize(Parser!.REQUEST, {}, 0, lenientFlags(lenient));
    const version = /^1\.[01]$/.test(req.httpVersion) ? req.httpVersion : '1.1';
    const head = Buffer.from(
      `${req.method ?? 'POST'} / HTTP/${version}\r\n${lines}Connection: close\r\n\r\n`,
      'latin1',
    );
    const r = m.parser.execute(head);
    if (r instanceof Error) {
      m.release();
      return null;
    }
    if (m.completed) m.done = true; // a body of length 0
    return m;
  }

  /**
   * How many leading bytes of `chunk` belong to the body (all of it while the body goes
   * on, or when llhttp refused it: the connection's parser then refuses the same bytes).
   */
  take(chunk: Buffer): number {
    if (this.done) return 0;
    const r = this.parser.execute(chunk);
    if (r instanceof Error) {
      this.done = true;
      if (this.completed && r.code === 'HPE_CLOSED_CONNECTION' && (r.bytesParsed ?? 0) > 0) {
        return Math.min(chunk.length, r.bytesParsed! - 1);
      }
      this.refused = true;
      return chunk.length;
    }
    if (this.completed) this.done = true;
    return chunk.length;
  }

  /** Gives the parser back to the pool; the object must not be used afterwards. */
  release(): void {
    if (pool.length < POOL_MAX) pool.push(this);
  }
}
