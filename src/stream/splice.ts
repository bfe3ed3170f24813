/**
 * `splice(a, b)`: joins two duplex streams (usually two sockets) both ways.
 *
 * @module
 */
import type { Duplex } from 'node:stream';
import { HijackError } from '../errors.js';

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
}

type Listener = (...args: any[]) => void;

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
 */
export function splice(a: Duplex, b: Duplex, options: SpliceOptions = {}): Promise<SpliceResult> {
  const { idleTimeout = 0, signal } = options;
  return new Promise<SpliceResult>((resolve) => {
    const added: [Duplex | AbortSignal, string, Listener][] = [];
    const on = (em: Duplex, ev: string, fn: Listener) => {
      em.on(ev, fn);
      added.push([em, ev, fn]);
    };
    let aToB = 0;
    let bToA = 0;
    let lastActivity = Date.now();
    let timer: NodeJS.Timeout | undefined;
    let done = false;
    // Per direction: source ended (EOF read) and destination's end() flushed.
    let abEnded = false;
    let baEnded = false;
    let abFinished = false;
    let baFinished = false;

    const finish = (end: SpliceEnd, error?: Error) => {
      if (done) return;
      done = true;
      if (timer) clearTimeout(timer);
      for (const [em, ev, fn] of added) {
        if ('removeListener' in em) em.removeListener(ev, fn);
        else em.removeEventListener(ev, fn);
      }
      // Our error listeners are gone: a late error must not crash the process.
      a.destroy();
      b.destroy();
      const result: SpliceResult = { aToB, bToA, end };
      if (error) result.error = error;
      resolve(result);
    };
    const checkDone = () => {
      if (abFinished && baFinished) finish('eof');
    };

    if (signal?.aborted) {
      finish('aborted', new HijackError('ERR_ABORTED', 'splice aborted', { cause: signal.reason }));
      return;
    }
    for (const s of [a, b]) {
      if ('allowHalfOpen' in s) (s as { allowHalfOpen: boolean }).allowHalfOpen = true;
    }

    const pump = (src: Duplex, dst: Duplex, isAB: boolean) => {
      on(src, 'data', (chunk: Buffer) => {
        if (isAB) aToB += chunk.length;
        else bToA += chunk.length;
        lastActivity = Date.now();
        if (!dst.write(chunk)) src.pause();
      });
      on(dst, 'drain', () => {
        if (!done) src.resume();
      });
      on(src, 'end', () => {
        if (isAB) abEnded = true;
        else baEnded = true;
        dst.end();
      });
      on(dst, 'finish', () => {
        // 'finish' follows our end(): the half-close reached the destination.
        if (isAB ? abEnded : baEnded) {
          if (isAB) abFinished = true;
          else baFinished = true;
          checkDone();
        }
      });
    };

    const onError = (err: Error) => finish('error', err);
    // A close is expected once a side's read half saw EOF and its write half was ended by
    // us; any other close is premature (destroyed, reset without an error event).
    on(a, 'close', () => {
      if (!(abEnded && baFinished)) finish('closed');
    });
    on(b, 'close', () => {
      if (!(baEnded && abFinished)) finish('closed');
    });
    on(a, 'error', onError);
    on(b, 'error', onError);

    if (signal) {
      const onAbort = () =>
        finish(
          'aborted',
          new HijackError('ERR_ABORTED', 'splice aborted', { cause: signal.reason }),
        );
      signal.addEventListener('abort', onAbort, { once: true });
      added.push([signal, 'abort', onAbort]);
    }

    if (idleTimeout > 0) {
      const tick = () => {
        const idle = Date.now() - lastActivity;
        if (idle >= idleTimeout) {
          finish(
            'timeout',
            new HijackError(
              'ERR_IDLE_TIMEOUT',
              `no byte moved either way for ${idleTimeout} ms; the connection was closed`,
              { idleTimeout },
            ),
          );
        } else {
          timer = setTimeout(tick, idleTimeout - idle);
          timer.unref?.();
        }
      };
      timer = setTimeout(tick, idleTimeout);
      timer.unref?.();
    }

    if (options.headAToB && options.headAToB.length > 0) {
      aToB += options.headAToB.length;
      b.write(options.headAToB);
    }
    if (options.headBToA && options.headBToA.length > 0) {
      bToA += options.headBToA.length;
      a.write(options.headBToA);
    }
    pump(a, b, true);
    pump(b, a, false);
    // A side that already ended or died before the splice started.
    if (a.destroyed || b.destroyed) {
      finish('closed');
      return;
    }
    if (a.readableEnded) {
      abEnded = true;
      b.end();
    }
    if (b.readableEnded) {
      baEnded = true;
      a.end();
    }
    a.resume();
    b.resume();
  });
}
