/**
 * The gateway's resource bounds: a slot queue for the pooled upstream connections (a
 * request waits at most the queue timeout, then gets 503), and counters with a total and
 * a per-identity cap for client connections and streams (429 beyond).
 *
 * @module
 */
import { HijackError } from '../../errors.js';
import type { ClientIdentity } from '../types.js';

/** Releases what was taken; calling it again does nothing. */
export type Release = () => void;

/** The key limits count an identity under: token name, certificate subject, uid or address. */
export function identityKey(id: ClientIdentity): string {
  if (id.token !== undefined) return `token:${id.token}`;
  if (id.cert?.subject !== undefined && id.cert.authorized) return `cert:${id.cert.subject}`;
  if (id.peer) return `uid:${id.peer.uid}`;
  return `addr:${id.address ?? id.transport}`;
}

/**
 * At most `size` holders at once; others wait in order, each at most its timeout. Waiters
 * whose signal aborts (the client left) leave the queue.
 */
export class SlotQueue {
  private used = 0;
  private readonly waiting: { grant: (r: Release) => void; timer?: NodeJS.Timeout }[] = [];

  constructor(readonly size: number) {}

  /** Holders now. */
  get inUse(): number {
    return this.used;
  }

  /** Waiters now. */
  get queued(): number {
    return this.waiting.length;
  }

  /**
   * A slot: at once when one is free, else when one frees up; rejects `ERR_QUEUE_TIMEOUT`
   * after `timeout` ms (0: wait as long as it takes) or `ERR_SOCKET_CLOSED` on abort.
   */
  acquire(timeout: number, signal?: AbortSignal): Promise<Release> {
    if (this.size <= 0 || this.used < this.size) {
      this.used++;
      return Promise.resolve(this.releaser());
    }
    return new Promise((resolve, reject) => {
      const w: { grant: (r: Release) => void; timer?: NodeJS.Timeout } = {
        grant: (r) => {
          cleanup();
          resolve(r);
        },
      };
      const leave = (err: Error) => {
        const i = this.waiting.indexOf(w);
        if (i >= 0) this.waiting.splice(i, 1);
        cleanup();
        reject(err);
      };
      const onAbort = () =>
        leave(new HijackError('ERR_SOCKET_CLOSED', 'the client went away while queued'));
      const cleanup = () => {
        if (w.timer) clearTimeout(w.timer);
        signal?.removeEventListener('abort', onAbort);
      };
      if (timeout > 0) {
        w.timer = setTimeout(
          () =>
            leave(
              new HijackError(
                'ERR_QUEUE_TIMEOUT',
                `all ${this.size} upstream connections stayed busy for ${timeout} ms`,
              ),
            ),
          timeout,
        );
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(w);
    });
  }

  private releaser(): Release {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const next = this.waiting.shift();
      if (next) next.grant(this.releaser());
      else this.used--;
    };
  }
}

/** Counts holders in total and per key; refuses beyond either cap (0 = no cap). */
export class KeyedLimit {
  private total = 0;
  private readonly byKey = new Map<string, number>();

  constructor(
    readonly what: string,
    readonly maxTotal: number,
    readonly maxPerKey: number,
  ) {}

  /** Holders now, in total or under `key`. */
  count(key?: string): number {
    return key === undefined ? this.total : (this.byKey.get(key) ?? 0);
  }

  /** Takes one under `key`, or returns the refusal's message when a cap is reached. */
  take(key: string): Release | string {
    if (this.maxTotal > 0 && this.total >= this.maxTotal)
      return `the gateway already carries ${this.total} ${this.what} (its limit); retry later`;
    const mine = this.byKey.get(key) ?? 0;
    if (this.maxPerKey > 0 && mine >= this.maxPerKey)
      return `this client already has ${mine} ${this.what} open (the limit per client); close some first`;
    this.total++;
    this.byKey.set(key, mine + 1);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.total--;
      const n = (this.byKey.get(key) ?? 1) - 1;
      if (n <= 0) this.byKey.delete(key);
      else this.byKey.set(key, n);
    };
  }
}
