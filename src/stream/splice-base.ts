/**
 * What both engines of splice() share: the result types ({@link SpliceEnd},
 * {@link SpliceResult}, re-exported by splice.ts), a splice's counts and timers, how it
 * watches its signal, the idle check, and how it settles (both ends destroyed, the result
 * resolved). The bottom of the three: splice.ts → splice-stream.ts / splice-native.ts → here.
 *
 * @internal
 */
import type { Duplex } from 'node:stream';
import { HijackError } from '../errors.js';

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

/** What `splice()` resolves with. */
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

/** One running splice, whichever engine carries it. */
export abstract class SpliceBase<S extends Duplex> {
  aToB = 0;
  bToA = 0;
  done = false;
  timer: NodeJS.Timeout | undefined = undefined;
  onAbort: (() => void) | undefined = undefined;

  constructor(
    readonly a: S,
    readonly b: S,
    readonly idleTimeout: number,
    readonly signal: AbortSignal | undefined,
    readonly resolve: (r: SpliceResult) => void,
  ) {}

  /** Ends the splice (once): both ends destroyed, the result resolved. */
  abstract finish(end: SpliceEnd, error?: Error): void;

  /** Aborting the signal ends the splice as `aborted`. */
  watchAbort(): void {
    const signal = this.signal;
    if (!signal) return;
    this.onAbort = () => this.finish('aborted', abortError(signal));
    signal.addEventListener('abort', this.onAbort, { once: true });
  }

  /** Drops the timer and the abort listener, destroys both ends, resolves. */
  protected settle(end: SpliceEnd, error: Error | undefined, relay: SpliceResult['relay']): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.onAbort) this.signal!.removeEventListener('abort', this.onAbort);
    this.a.destroy();
    this.b.destroy();
    const result: SpliceResult = { aToB: this.aToB, bToA: this.bToA, end, relay };
    if (error) result.error = error;
    this.resolve(result);
  }
}

/** A running splice as the idle check sees it. */
export interface IdleChecked {
  readonly idleTimeout: number;
  timer: NodeJS.Timeout | undefined;
  finish(end: SpliceEnd, error?: Error): void;
}

/**
 * Ends `sp` with `ERR_IDLE_TIMEOUT` when nothing moved for its idle timeout (`idle` ms
 * since the last byte), or re-arms `tick` for the time left.
 */
export function idleCheck<S extends IdleChecked>(sp: S, idle: number, tick: (sp: S) => void): void {
  if (idle >= sp.idleTimeout) {
    sp.finish(
      'timeout',
      new HijackError(
        'ERR_IDLE_TIMEOUT',
        `no byte moved either way for ${sp.idleTimeout} ms; the connection was closed`,
        { idleTimeout: sp.idleTimeout },
      ),
    );
  } else {
    sp.timer = setTimeout(tick, sp.idleTimeout - idle, sp);
    sp.timer.unref();
  }
}

/** The error of an `aborted` end. */
export function abortError(signal: AbortSignal): HijackError {
  return new HijackError('ERR_ABORTED', 'splice aborted', { cause: signal.reason });
}
