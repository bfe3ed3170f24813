/**
 * The native engine of `splice()` (splice.ts): when both ends are plain sockets (TCP or unix, no
 * TLS) and the native part loaded, the bytes move in C on Node's own event loop
 * (native/relay.c) instead of through Buffers and stream events. Same contract as the
 * stream engine: half-close carried across, backpressure, idle timeout, abort, both ends
 * destroyed at the end, nothing left behind.
 *
 * How the sockets are shared with the relay:
 * - Before: their handles stop reading, what Node had already read is taken out of the
 *   streams and written across (after the heads), and the relay starts only once nothing
 *   is queued for writing on either socket (an empty write's callback is the barrier).
 * - During: the relay owns the descriptors. The sockets' `_read`, `_write`, `_writev`,
 *   `_final` and `_destroy` are replaced on the instances, so nothing in Node reads, writes
 *   or shuts down behind the relay's back: `end()` becomes the relay's half-close,
 *   `destroy()` stops the relay first, a write fails with `ERR_SPLICED`.
 * - After: the methods are given back and both sockets destroyed as usual, which closes
 *   the descriptors.
 *
 * @module
 */
import net from 'node:net';
import tls from 'node:tls';
import type { Duplex } from 'node:stream';
import { getSystemErrorName } from 'node:util';
import { HijackError } from '../errors.js';
import { loadAddon } from '../socket/native.js';
import { idleCheck, SpliceBase, type SpliceEnd, type SpliceResult } from './splice-base.js';

/** What native/relay.c exports. */
interface RelayAddon {
  readonly platform: string;
  /** A handle, or a negative errno (nothing started). */
  start(
    fdA: number,
    fdB: number,
    onEnd: (errno: number, aToB: number, bToA: number, syscall: string) => void,
    ref: boolean,
  ): object | number;
  stop(handle: object): void;
  shutdownWrite(handle: object, side: 0 | 1): void;
  counts(handle: object, out: Float64Array): void;
}

let addon: RelayAddon | null | undefined;

function relayAddon(): RelayAddon | null {
  if (addon === undefined) {
    addon = loadAddon<RelayAddon>('hijack_relay', 'HIJACK_RELAY_PATH').mod ?? null;
  }
  return addon;
}

interface SocketHandle {
  fd: number;
  reading: boolean;
  readStart(): number;
  readStop(): number;
  hasRef(): boolean;
  constructor: { name: string };
}

/** A plain net.Socket as this engine uses it. */
type RelaySocket = net.Socket & {
  _handle: SocketHandle | null;
  [kRelay]?: NativeSplice | undefined;
};

const kRelay = Symbol('hijack.relay');

/**
 * A connected TCP or unix socket with its own descriptor, open both ways, without a
 * `setTimeout()` idle timer (Node refreshes that timer on JS reads and writes only, so it
 * would fire while the relay moves bytes).
 */
function plainSocket(s: Duplex): s is RelaySocket {
  if (!(s instanceof net.Socket) || s instanceof tls.TLSSocket) return false;
  const h = (s as RelaySocket)._handle;
  const kind = h?.constructor?.name;
  return (
    !!h &&
    (kind === 'TCP' || kind === 'Pipe') &&
    typeof h.fd === 'number' &&
    h.fd >= 0 &&
    !s.connecting &&
    !s.destroyed &&
    !s.writableEnded &&
    !((s.timeout ?? 0) > 0) &&
    (s as RelaySocket)[kRelay] === undefined
  );
}

/** Whether {@link spliceNative} can carry `a` and `b`. */
export function relayable(a: Duplex, b: Duplex): boolean {
  return plainSocket(a) && plainSocket(b) && relayAddon() !== null;
}

/** The errno error Node would have raised for the same failure. */
function systemError(errno: number, syscall: string): NodeJS.ErrnoException {
  let code: string;
  try {
    code = getSystemErrorName(errno);
  } catch {
    code = `E${-errno}`;
  }
  const err = new Error(`${syscall} ${code}`) as NodeJS.ErrnoException;
  err.errno = errno;
  err.code = code;
  err.syscall = syscall;
  return err;
}

const EMPTY = Buffer.alloc(0);
const proto = net.Socket.prototype as unknown as Record<string, unknown>;
const overridden = ['_read', '_write', '_writev', '_final', '_destroy'] as const;

function relayOf(s: net.Socket): NativeSplice | undefined {
  return (s as RelaySocket)[kRelay];
}

/** `_read` while relayed: the relay reads the descriptor, Node must not. */
function noRead(): void {}

function refuseWrite(this: net.Socket, _c: unknown, _e: unknown, cb: (err: Error) => void): void {
  (typeof _e === 'function' ? (_e as (err: Error) => void) : cb)(
    new HijackError(
      'ERR_SPLICED',
      'write to a socket the native relay carries: a spliced socket belongs to its splice until the splice ends (pass { native: false } to splice() to mix in writes of your own)',
    ),
  );
}

/** `end()` while relayed: the relay half-closes once the bytes it holds for this side are out. */
function relayFinal(this: net.Socket, cb: (err?: Error | null) => void): void {
  const sp = relayOf(this);
  if (sp?.handle) relayAddon()!.shutdownWrite(sp.handle, this === sp.a ? 0 : 1);
  cb();
}

/** `destroy()` while relayed: the relay lets go of the descriptor before Node closes it. */
function relayDestroy(this: net.Socket, err: Error | null, cb: (err: Error | null) => void): void {
  const sp = relayOf(this);
  if (sp && !sp.done) {
    sp.finish(err ? 'error' : 'closed', err ?? undefined);
    // Node emits `err` once this returns; the splice's own listener is gone by then and
    // the splice already reports it, so it must not become an uncaught exception.
    if (err) this.once('error', ignoreError);
  }
  (proto._destroy as typeof relayDestroy).call(this, err, cb);
}

function ignoreError(): void {}

function onRelayError(this: net.Socket, err: Error): void {
  relayOf(this)?.finish('error', err);
}

function onRelayClose(this: net.Socket): void {
  relayOf(this)?.finish('closed');
}

function tickRelay(sp: NativeSplice): void {
  sp.tick();
}

/** Where the relay reports its counts; read at once, so one array serves every splice. */
const counts = new Float64Array(3);

/** Splices in flight: a running relay must stay reachable (its handle's finalizer stops it). */
const running = new Set<NativeSplice>();

let exitHooked = false;

/**
 * At a natural exit (relays of unref()ed sockets) Node closes the sockets' handles before
 * any addon cleanup runs; a relay still watching their descriptors would make libuv abort.
 * So every relay lets go on 'exit', which comes first.
 */
function stopAllAtExit(): void {
  for (const sp of running) if (sp.handle) relayAddon()!.stop(sp.handle);
  running.clear();
}

/** One splice carried by the native relay. */
class NativeSplice extends SpliceBase<RelaySocket> {
  handle: object | null = null;

  finish(end: SpliceEnd, error?: Error): void {
    if (this.done) return;
    this.done = true;
    running.delete(this);
    if (this.handle) {
      relayAddon()!.counts(this.handle, counts);
      relayAddon()!.stop(this.handle);
      this.aToB += counts[0]!;
      this.bToA += counts[1]!;
      this.handle = null;
    }
    for (const s of [this.a, this.b]) {
      s.removeListener('error', onRelayError);
      s.removeListener('close', onRelayClose);
      const own = s as unknown as Record<string, unknown>;
      for (const name of overridden) own[name] = proto[name];
      s[kRelay] = undefined;
    }
    this.settle(end, error, 'native');
  }

  /** The relay ended by itself (it stopped already): both EOFs carried, or a call failed. */
  readonly onEnd = (errno: number, aToB: number, bToA: number, syscall: string): void => {
    this.aToB += aToB;
    this.bToA += bToA;
    this.handle = null;
    if (errno === 0) this.finish('eof');
    else this.finish('error', systemError(errno, syscall));
  };

  tick(): void {
    if (!this.handle) return;
    relayAddon()!.counts(this.handle, counts);
    idleCheck(this, counts[2]!, tickRelay);
  }

  /** Hands the descriptors to the relay; false when it refused them (nothing changed then). */
  begin(): boolean {
    const a = this.a._handle;
    const b = this.b._handle;
    if (!a || !b || this.a.destroyed || this.b.destroyed) return false;
    // Like the sockets' own handles: a pair both unref()ed does not keep the process alive.
    const ref = a.hasRef() || b.hasRef();
    const h = relayAddon()!.start(a.fd, b.fd, this.onEnd, ref);
    if (typeof h === 'number') return false;
    this.handle = h;
    running.add(this);
    if (!exitHooked) {
      exitHooked = true;
      process.once('exit', stopAllAtExit);
    }
    for (const s of [this.a, this.b]) {
      const own = s as unknown as Record<string, unknown>;
      own._write = refuseWrite;
      own._writev = refuseWrite;
      own._final = relayFinal;
      own._destroy = relayDestroy;
    }
    if (this.idleTimeout > 0) {
      this.timer = setTimeout(tickRelay, this.idleTimeout, this);
      this.timer.unref();
    }
    return true;
  }
}

/** Stops Node reading `s` and takes out what it had read but nobody consumed. */
function takeOver(s: RelaySocket): Buffer[] {
  (s as unknown as Record<string, unknown>)._read = noRead;
  const h = s._handle!;
  if (h.reading) {
    h.reading = false;
    h.readStop();
  }
  const out: Buffer[] = [];
  for (let c = s.read(); c !== null; c = s.read()) {
    out.push(typeof c === 'string' ? Buffer.from(c, s.readableEncoding ?? 'utf8') : c);
  }
  return out;
}

/** Gives `s` back to Node's own reading (the relay refused it). */
function giveBack(s: RelaySocket): void {
  (s as unknown as Record<string, unknown>)._read = proto._read;
  const h = s._handle;
  if (h && !h.reading && !s.destroyed) {
    h.reading = true;
    h.readStart();
  }
}

/**
 * Starts a splice on the native relay. Calls `fallback` (with the bytes already written
 * each way) if the relay refuses the descriptors, so the stream engine carries on.
 */
export function spliceNative(
  x: Duplex,
  y: Duplex,
  opts: {
    idleTimeout: number;
    signal: AbortSignal | undefined;
    headAToB: Uint8Array | undefined;
    headBToA: Uint8Array | undefined;
  },
  resolve: (r: SpliceResult) => void,
  fallback: (aToB: number, bToA: number) => void,
): void {
  const a = x as RelaySocket;
  const b = y as RelaySocket;
  const sp = new NativeSplice(a, b, opts.idleTimeout, opts.signal, resolve);
  for (const s of [a, b]) {
    s.allowHalfOpen = true;
    s[kRelay] = sp;
    s.on('error', onRelayError);
    s.on('close', onRelayClose);
  }
  // Until the relay runs, end() and destroy() act on the sockets as usual; the listeners
  // above turn an error or a close meanwhile into the splice's end.
  const toB = opts.headAToB?.length ? [Buffer.from(opts.headAToB), ...takeOver(a)] : takeOver(a);
  const toA = opts.headBToA?.length ? [Buffer.from(opts.headBToA), ...takeOver(b)] : takeOver(b);
  for (const c of toB) sp.aToB += c.length;
  for (const c of toA) sp.bToA += c.length;
  sp.watchAbort();
  let waiting = 2;
  const flushed = (): void => {
    if (--waiting > 0 || sp.done) return;
    if (sp.begin()) return;
    // The relay refused (libuv still watched a descriptor): the stream engine carries on.
    sp.done = true;
    for (const s of [a, b]) {
      s.removeListener('error', onRelayError);
      s.removeListener('close', onRelayClose);
      s[kRelay] = undefined;
      giveBack(s);
    }
    if (sp.onAbort) opts.signal!.removeEventListener('abort', sp.onAbort);
    fallback(sp.aToB, sp.bToA);
  };
  // Everything queued on a socket (ours and what was written before) is out once an
  // empty write's callback runs; an error meanwhile reaches onRelayError.
  for (const [s, chunks] of [
    [b, toB],
    [a, toA],
  ] as const) {
    for (const c of chunks) s.write(c);
    s.write(EMPTY, (err) => {
      if (!err) flushed();
    });
  }
}

/** True while the native relay carries `s`. */
export function isRelayed(s: Duplex): boolean {
  return (s as RelaySocket)[kRelay] !== undefined;
}

/** Where live counts are read into; read at once, so one array serves every call. */
const live = new Float64Array(3);

/**
 * The live counts of the native splice carrying `s`: `total` is the splice's own count
 * (heads and bytes Node had read included), `relayed` only what the relay moved in C
 * (which the sockets' `bytesRead` / `bytesWritten` never see). Undefined when the relay
 * does not carry `s`. One synchronous addon call, no allocation in C.
 */
export function relayCounts(
  s: Duplex,
):
  | { aToB: number; bToA: number; relayedAToB: number; relayedBToA: number; isA: boolean }
  | undefined {
  const sp = (s as RelaySocket)[kRelay];
  if (!sp || sp.done) return undefined;
  let ra = 0;
  let rb = 0;
  if (sp.handle) {
    relayAddon()!.counts(sp.handle, live);
    ra = live[0]!;
    rb = live[1]!;
  }
  return {
    aToB: sp.aToB + ra,
    bToA: sp.bToA + rb,
    relayedAToB: ra,
    relayedBToA: rb,
    isA: s === sp.a,
  };
}
