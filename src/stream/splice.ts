/**
 * `splice(a, b)`: joins two duplex streams (usually two sockets) both ways.
 *
 * The entry of the splice engines: the public API and its types. Two engines carry the
 * bytes: splice-native.ts (the native relay, plain sockets) and splice-stream.ts (Node's
 * streams, everything else); both build on splice-base.ts. Imports run one way: this
 * module → the engines → the base.
 *
 * @module
 */
import type { Duplex } from 'node:stream';
import { HijackError } from '../errors.js';
import { abortError, type SpliceResult } from './splice-base.js';
import { isRelayed, relayable, relayCounts, spliceNative } from './splice-native.js';
import { runStream, StreamSplice, streamSpliceOf } from './splice-stream.js';

export type { SpliceEnd, SpliceResult } from './splice-base.js';

/** Options of {@link splice}. */
export interface SpliceOptions {
  /**
   * Milliseconds without a byte moving in either direction after which both ends are
   * destroyed and the splice ends with `ERR_IDLE_TIMEOUT`. 0 or absent: no limit.
   */
  idleTimeout?: number;
  /** Aborting destroys both ends; the splice ends with `ERR_ABORTED`. */
  signal?: AbortSignal;
  /** Bytes already read from `a` (e.g. behind a request head): written to `b` first. */
  headAToB?: Buffer | Uint8Array;
  /** Bytes already read from `b` (e.g. behind a response head): written to `a` first. */
  headBToA?: Buffer | Uint8Array;
  /**
   * Use the native relay when both ends are plain TCP or unix sockets (no TLS) and the
   * native part is built: bytes then move in C without a Buffer or an event per chunk.
   * While it carries them, the sockets refuse writes of your own (`ERR_SPLICED`); `end()`
   * and `destroy()` work as usual. Default true; false keeps the stream engine.
   */
  native?: boolean;
}

/** Live counts of a running splice, as {@link spliceBytes} reads them. */
export interface SpliceBytes {
  /** Bytes written from a to b so far (the head included). */
  aToB: number;
  /** Bytes written from b to a so far (the head included). */
  bToA: number;
  /** Which end of the splice the stream asked about is: `a` or `b`. */
  side: 'a' | 'b';
}

/** Bytes through a socket both ways, as {@link socketBytes} counts them. */
export interface SocketBytes {
  /** Bytes read from the socket (what `socket.bytesRead` would say had Node read them all). */
  read: number;
  /** Bytes written to the socket (what `socket.bytesWritten` would say had Node written them all). */
  written: number;
}

/**
 * Copies `a` to `b` and `b` to `a` until both directions are done; resolves (never
 * rejects) with the byte counts and how it ended.
 *
 * - Half-close: when one side ends (EOF), the other side's write half is ended
 *   (`end()`, a TCP FIN) and the opposite direction goes on until it ends too.
 *   `allowHalfOpen` is switched on for both ends so Node does not close a socket's write
 *   half by itself when its read half ends.
 * - Backpressure: a direction pauses its source while the destination's buffer is full,
 *   so memory stays within the streams' high-water marks.
 * - Ending: after a clean end both streams are destroyed (their fds released); on an
 *   error, an early close, the idle timeout or an abort both are destroyed at once.
 * - Nothing is left behind: every listener splice adds is removed when it resolves.
 * - A stream takes part in one splice at a time; splicing one already spliced throws
 *   `ERR_INVALID_ARGUMENT` (synchronously, a programming error).
 */
export function splice(a: Duplex, b: Duplex, options: SpliceOptions = {}): Promise<SpliceResult> {
  const { idleTimeout = 0, signal } = options;
  const x = a;
  const y = b;
  if (streamSpliceOf(x) || streamSpliceOf(y) || isRelayed(x) || isRelayed(y) || x === y) {
    throw new HijackError(
      'ERR_INVALID_ARGUMENT',
      'splice(a, b): a stream is already spliced, or a and b are the same stream; wait for that splice to end',
    );
  }
  return new Promise<SpliceResult>((resolve) => {
    if (signal?.aborted) {
      new StreamSplice(x, y, idleTimeout, signal, resolve).finish('aborted', abortError(signal));
      return;
    }
    if (options.native !== false && relayable(x, y)) {
      spliceNative(
        x,
        y,
        { idleTimeout, signal, headAToB: options.headAToB, headBToA: options.headBToA },
        resolve,
        (aToB, bToA) => {
          const sp = new StreamSplice(x, y, idleTimeout, signal, resolve);
          sp.aToB = aToB;
          sp.bToA = bToA;
          runStream(sp, undefined, undefined);
        },
      );
      return;
    }
    runStream(
      new StreamSplice(x, y, idleTimeout, signal, resolve),
      options.headAToB,
      options.headBToA,
    );
  });
}

/**
 * The live byte counts of the splice `stream` takes part in (either end), or undefined
 * when it is in none (never spliced, or the splice ended: its result has the final
 * counts). Both engines count as the bytes move: the stream engine per chunk, the native
 * relay in C (read with one synchronous call, no allocation). Cheap enough to call for
 * every stream on every sample or scrape; the counts only grow, and the final result's
 * counts are never below the last live ones.
 *
 * ```ts
 * const done = splice(client, upstream);
 * const timer = setInterval(() => console.log(spliceBytes(client)), 1000); // { aToB, bToA, side: 'a' }
 * await done;
 * clearInterval(timer);
 * ```
 */
export function spliceBytes(stream: Duplex): SpliceBytes | undefined {
  const sp = streamSpliceOf(stream);
  if (sp && !sp.done) return { aToB: sp.aToB, bToA: sp.bToA, side: stream === sp.a ? 'a' : 'b' };
  const r = relayCounts(stream);
  return r && { aToB: r.aToB, bToA: r.bToA, side: r.isA ? 'a' : 'b' };
}

/**
 * Bytes read from and written to `socket` so far, right whichever engine carries it:
 * `socket.bytesRead` / `bytesWritten` plus what the native relay moved past Node (those
 * two stop moving while the relay carries a socket). For any socket, spliced or not.
 */
export function socketBytes(socket: { bytesRead?: number; bytesWritten?: number }): SocketBytes {
  const read = socket.bytesRead ?? 0;
  const written = socket.bytesWritten ?? 0;
  const r = relayCounts(socket as Duplex);
  if (!r) return { read, written };
  return r.isA
    ? { read: read + r.relayedAToB, written: written + r.relayedBToA }
    : { read: read + r.relayedBToA, written: written + r.relayedAToB };
}
