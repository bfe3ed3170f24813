/**
 * `splice(a, b)`: joins two duplex streams (usually two sockets) both ways.
 *
 * Memory matters here: a gateway holds thousands of idle spliced pairs. A splice is one
 * small object hung on both streams under a symbol; the listeners are module-level
 * functions shared by every splice (the way ws hangs its state on the socket), so an idle
 * pair costs its two streams and little more.
 *
 * @module
 */
import type { Duplex } from 'node:stream';
import { HijackError } from '../errors.js';
import { isRelayed, relayable, relayCounts, spliceNative } from './relay.js';
import { abortError, idleCheck, SpliceBase } from './splice-ends.js';

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

/** How a splice ended. */
export type SpliceEnd =
  /** Both sides sent EOF and both half-closes were delivered: the clean end. */
  | 'eof'
  /** A side failed (`error` says how); both ends were destroyed. */
  | 'error'
  /** A side was closed or destroyed before its EOF was carried across. */
  | 'closed'
  /** Idle timeout (`error` is `ERR_IDLE_TIMEOUT`). */
  | 'timeout'
  /** Aborted through the signal (`error` is `ERR_ABORTED`). */
  | 'aborted';

/** What {@link splice} resolves with. */
export interface SpliceResult {
  /** Bytes written from a to b (the head included). */
  aToB: number;
  /** Bytes written from b to a (the head included). */
  bToA: number;
  /** How it ended. */
  end: SpliceEnd;
  /** The error behind an `error`, `timeout` or `aborted` end. */
  error?: Error;
  /** Which engine carried the bytes: the native relay or Node's streams. */
  relay: 'native' | 'stream';
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

const kSplice = Symbol('hijack.splice');

type Spliced = Duplex & { [kSplice]?: Splice | undefined };

/** One running splice; reached from either stream through `kSplice`. */
class Splice extends SpliceBase<Spliced> {
  lastActivity = 0;
  /** Per direction: the source ended (EOF read), and the destination's end() was flushed. */
  abEnded = false;
  baEnded = false;
  abFinished = false;
  baFinished = false;

  finish(end: SpliceEnd, error?: Error): void {
    if (this.done) return;
    this.done = true;
    for (const s of [this.a, this.b]) {
      for (const [ev, fn] of listeners) s.removeListener(ev, fn);
      s[kSplice] = undefined;
    }
    // Our error listeners are gone: a late error must not crash the process.
    this.settle(end, error, 'stream');
  }

  /** The idle check: armed once, re-armed for the time left after the last byte. */
  tick(): void {
    idleCheck(this, Date.now() - this.lastActivity, tickSplice);
  }
}

function tickSplice(sp: Splice): void {
  sp.tick();
}

function onData(this: Spliced, chunk: Buffer): void {
  const sp = this[kSplice]!;
  const isA = this === sp.a;
  if (isA) sp.aToB += chunk.length;
  else sp.bToA += chunk.length;
  if (sp.idleTimeout > 0) sp.lastActivity = Date.now();
  if (!(isA ? sp.b : sp.a).write(chunk)) this.pause();
}

/** The destination drained: its source may flow again. */
function onDrain(this: Spliced): void {
  const sp = this[kSplice]!;
  if (!sp.done) (this === sp.a ? sp.b : sp.a).resume();
}

function onEnd(this: Spliced): void {
  const sp = this[kSplice]!;
  if (this === sp.a) {
    sp.abEnded = true;
    sp.b.end();
  } else {
    sp.baEnded = true;
    sp.a.end();
  }
}

/** 'finish' follows our end(): the half-close reached this (destination) stream. */
function onFinish(this: Spliced): void {
  const sp = this[kSplice]!;
  if (this === sp.b ? sp.abEnded : sp.baEnded) {
    if (this === sp.b) sp.abFinished = true;
    else sp.baFinished = true;
    if (sp.abFinished && sp.baFinished) sp.finish('eof');
  }
}

/**
 * A close is expected once a side's read half saw EOF and its write half was ended by
 * us; any other close is premature (destroyed, reset without an error event).
 */
function onClose(this: Spliced): void {
  const sp = this[kSplice]!;
  const expected = this === sp.a ? sp.abEnded && sp.baFinished : sp.baEnded && sp.abFinished;
  if (!expected) sp.finish('closed');
}

function onError(this: Spliced, err: Error): void {
  this[kSplice]!.finish('error', err);
}

const listeners: [string, (this: Spliced, ...args: any[]) => void][] = [
  ['data', onData],
  ['drain', onDrain],
  ['end', onEnd],
  ['finish', onFinish],
  ['close', onClose],
  ['error', onError],
];

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
  const x = a as Spliced;
  const y = b as Spliced;
  if (x[kSplice] || y[kSplice] || isRelayed(x) || isRelayed(y) || x === y) {
    throw new HijackError(
      'ERR_INVALID_ARGUMENT',
      'splice(a, b): a stream is already spliced, or a and b are the same stream; wait for that splice to end',
    );
  }
  return new Promise<SpliceResult>((resolve) => {
    if (signal?.aborted) {
      new Splice(x, y, idleTimeout, signal, resolve).finish('aborted', abortError(signal));
      return;
    }
    if (options.native !== false && relayable(x, y)) {
      spliceNative(
        x,
        y,
        { idleTimeout, signal, headAToB: options.headAToB, headBToA: options.headBToA },
        resolve,
        (aToB, bToA) => {
          const sp = new Splice(x, y, idleTimeout, signal, resolve);
          sp.aToB = aToB;
          sp.bToA = bToA;
          stream(sp, undefined, undefined);
        },
      );
      return;
    }
    stream(new Splice(x, y, idleTimeout, signal, resolve), options.headAToB, options.headBToA);
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
  const sp = (stream as Spliced)[kSplice];
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

/** The stream engine: listeners on both ends, Node's own buffers in between. */
function stream(
  sp: Splice,
  headAToB: Uint8Array | undefined,
  headBToA: Uint8Array | undefined,
): void {
  const { a: x, b: y, idleTimeout } = sp;
  for (const s of [x, y]) {
    if ('allowHalfOpen' in s) (s as { allowHalfOpen: boolean }).allowHalfOpen = true;
    s[kSplice] = sp;
    for (const [ev, fn] of listeners) s.on(ev, fn);
  }
  sp.watchAbort();
  if (idleTimeout > 0) {
    sp.lastActivity = Date.now();
    sp.timer = setTimeout(tickSplice, idleTimeout, sp);
    sp.timer.unref?.();
  }
  if (headAToB && headAToB.length > 0) {
    sp.aToB += headAToB.length;
    y.write(headAToB);
  }
  if (headBToA && headBToA.length > 0) {
    sp.bToA += headBToA.length;
    x.write(headBToA);
  }
  // A side that already ended or died before the splice started.
  if (x.destroyed || y.destroyed) {
    sp.finish('closed');
    return;
  }
  if (x.readableEnded) {
    sp.abEnded = true;
    y.end();
  }
  if (y.readableEnded) {
    sp.baEnded = true;
    x.end();
  }
  x.resume();
  y.resume();
}
