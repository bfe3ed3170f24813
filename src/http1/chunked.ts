/**
 * A chunked-body decoder that accepts exactly what Go's net/http reader accepts, or less
 * (go1.19 `net/http/internal/chunked.go` and `transfer.go`'s `readTrailer`), and the
 * encoder the gateway re-frames with. The gateway never forwards a client's chunk lines:
 * it decodes them here and writes its own, so the upstream reads the body the gateway
 * read, whatever the client's bytes were.
 *
 * What Go accepts, and so what this decoder accepts:
 * - chunk-size line: bytes up to LF, shorter than 4096 bytes with the LF; trailing
 *   space, tab, CR and LF trimmed; everything from the first `;` dropped (extensions);
 *   the rest 0–16 hex digits (empty reads as 0: the last chunk); anything else refused
 *   (`5 5`, ` 5`, `0x5`, `+5`, `5 ;x`);
 * - after each chunk's data exactly CRLF (a bare LF is refused);
 * - after the last chunk: CRLF, or trailer lines ending in CRLFCRLF within 4 KiB. Go reads
 *   those with textproto; this decoder is stricter and refuses any trailer line that is
 *   not `token: value` ended by CRLF (no bare CR or LF, no folding, no control bytes).
 *   Trailers are checked and dropped, never forwarded.
 * Sizes beyond 2^53 are refused (Go would wait for that much data; nobody sends it).
 *
 * @module
 */
import { HijackError } from '../errors.js';

/** Longest chunk-size line Go reads, LF included, exclusive (`maxLineLength`). */
const MAX_LINE = 4096;
/** Go's bufio buffer: the trailer section must end within it. */
const MAX_TRAILER = 4096;
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

type State = 'size' | 'data' | 'data-crlf' | 'trailer' | 'done';

function malformed(why: string): HijackError {
  return new HijackError('ERR_MALFORMED_BODY', `malformed chunked body: ${why}`);
}

/**
 * Incremental decoder of one chunked body. Feed it raw bytes with {@link take}; it returns
 * the decoded data and how many input bytes belong to the body (the rest is what follows
 * the body). Throws `ERR_MALFORMED_BODY` on what Go would refuse (or might read otherwise).
 */
export class ChunkedDecoder {
  private state: State = 'size';
  private remaining = 0;
  private line: number[] = [];
  private trailer: number[] = [];
  /** Decoded data bytes so far. */
  decoded = 0;

  /** True once the last chunk and its trailer section were read. */
  get done(): boolean {
    return this.state === 'done';
  }

  /**
   * Decodes from `chunk`. Returns the data pieces (subarrays of `chunk`) and `used`, the
   * count of input bytes that were part of the body; bytes after `used` follow the body.
   */
  take(chunk: Buffer): { data: Buffer[]; used: number } {
    const data: Buffer[] = [];
    let i = 0;
    while (i < chunk.length && this.state !== 'done') {
      switch (this.state) {
        case 'size': {
          const lf = chunk.indexOf(0x0a, i);
          const end = lf < 0 ? chunk.length : lf + 1;
          if (this.line.length + (end - i) >= MAX_LINE) throw malformed('chunk-size line too long');
          for (let k = i; k < end; k++) this.line.push(chunk[k]!);
          i = end;
          if (lf < 0) break;
          this.remaining = parseSizeLine(this.line);
          this.line = [];
          this.state = this.remaining === 0 ? 'trailer' : 'data';
          break;
        }
        case 'data': {
          const n = Math.min(this.remaining, chunk.length - i);
          data.push(chunk.subarray(i, i + n));
          this.decoded += n;
          this.remaining -= n;
          i += n;
          if (this.remaining === 0) this.state = 'data-crlf';
          break;
        }
        case 'data-crlf': {
          this.line.push(chunk[i++]!);
          if (this.line.length === 2) {
            if (this.line[0] !== 0x0d || this.line[1] !== 0x0a)
              throw malformed('chunk data not followed by CRLF');
            this.line = [];
            this.state = 'size';
          }
          break;
        }
        case 'trailer': {
          const b = chunk[i++]!;
          const t = this.trailer;
          const prev = t.length ? t[t.length - 1] : -1;
          if (b === 0x0a && prev !== 0x0d) throw malformed('a bare LF in the trailer section');
          if (prev === 0x0d && b !== 0x0a) throw malformed('a bare CR in the trailer section');
          t.push(b);
          if (t.length === 2 && t[0] === 0x0d && t[1] === 0x0a) {
            this.state = 'done';
          } else if (
            t.length >= 4 &&
            t[t.length - 4] === 0x0d &&
            t[t.length - 3] === 0x0a &&
            t[t.length - 2] === 0x0d &&
            t[t.length - 1] === 0x0a
          ) {
            checkTrailer(Buffer.from(t));
            this.state = 'done';
          } else if (t.length >= MAX_TRAILER) {
            throw malformed('trailer section longer than 4 KiB');
          }
          break;
        }
      }
    }
    return { data, used: i };
  }
}

function parseSizeLine(line: number[]): number {
  let end = line.length;
  while (end > 0) {
    const b = line[end - 1]!;
    if (b !== 0x20 && b !== 0x09 && b !== 0x0d && b !== 0x0a) break;
    end--;
  }
  const semi = line.indexOf(0x3b);
  if (semi >= 0 && semi < end) end = semi;
  if (end > 16) throw malformed('chunk size has more than 16 hex digits');
  let n = 0;
  for (let k = 0; k < end; k++) {
    const b = line[k]!;
    let v: number;
    if (b >= 0x30 && b <= 0x39) v = b - 0x30;
    else if (b >= 0x61 && b <= 0x66) v = b - 0x61 + 10;
    else if (b >= 0x41 && b <= 0x46) v = b - 0x41 + 10;
    else throw malformed(`invalid byte 0x${b.toString(16).padStart(2, '0')} in a chunk size`);
    n = n * 16 + v;
  }
  if (n > Number.MAX_SAFE_INTEGER) throw malformed('chunk size too large');
  return n;
}

function checkTrailer(t: Buffer): void {
  const text = t.subarray(0, t.length - 4).toString('latin1');
  for (const line of text.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0 || !TOKEN.test(line.slice(0, colon)))
      throw malformed('a trailer line is not name: value');
    for (let k = 0; k < line.length; k++) {
      const c = line.charCodeAt(k);
      if ((c < 0x20 && c !== 0x09) || c === 0x7f) throw malformed('a control byte in a trailer');
    }
  }
}

/** One chunk in wire form (`size CRLF data CRLF`); an empty buffer gives nothing. */
export function encodeChunk(data: Buffer): Buffer {
  if (data.length === 0) return Buffer.alloc(0);
  return Buffer.concat([
    Buffer.from(data.length.toString(16) + '\r\n', 'latin1'),
    data,
    Buffer.from('\r\n', 'latin1'),
  ]);
}

/** The last chunk with an empty trailer section. */
export const LAST_CHUNK: Buffer = Buffer.from('0\r\n\r\n', 'latin1');
