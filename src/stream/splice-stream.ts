/**
 * The stream engine of `splice()` (splice.ts): listeners on both ends, Node's own buffers in
 * between. Carries every pair the native engine cannot (TLS, any Duplex, no addon) and
 * takes over when the native relay refuses a pair.
 *
 * Memory matters here: a gateway holds thousands of idle spliced pairs. A splice is one
 * small object hung on both streams under a symbol; the listeners are module-level
 * functions shared by every splice (the way ws hangs its state on the socket), so an idle
 * pair costs its two streams and little more.
 *
 * @internal
 */
import type { Duplex } from 'node:stream';
import { idleCheck, SpliceBase, type SpliceEnd } from './splice-base.js';

const kSplice = Symbol('hijack.splice');

type Spliced = Duplex & { [kSplice]?: StreamSplice | undefined };

/** One running splice; reached from either stream through `kSplice`. */
export class StreamSplice extends SpliceBase<Spliced> {
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

function tickSplice(sp: StreamSplice): void {
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

/** The running stream-engine splice `stream` takes part in, if any (cleared when it ends). */
export function streamSpliceOf(stream: Duplex): StreamSplice | undefined {
  return (stream as Spliced)[kSplice];
}

/** The stream engine: listeners on both ends, Node's own buffers in between. */
export function runStream(
  sp: StreamSplice,
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
