/**
 * The per-connection gate that enableHijack() installs. It stops Node's parser right
 * after every request head (llhttp's HPE_PAUSED), so nothing behind a head is parsed until
 * the handler's fate is known. While a request is current the parser stays paused and the
 * bytes that arrive are kept here; the body is fed from JS only when the handler reads it,
 * and only up to its end; the next request is parsed only after the response ended (Go's
 * one-request-at-a-time). A takeover then finds every unread byte still in wire form.
 * Between requests the parser consumes the socket in C++ as usual, so a head costs no JS
 * data event; a read that holds one whole message and nothing after it is parsed through.
 *
 * Each message's body is in one phase ({@link BodyPhase}); the transitions, and what moves
 * the connection on:
 *
 *   Held    → Feeding  the handler reads req (gatedRead), the response finished, or the
 *                      client's EOF came: body bytes go to llhttp as they arrive.
 *   Held    → Parsed   the read held the whole message (llhttp parsed it through), or the
 *                      head says there is no body.
 *   Feeding → Parsed   llhttp's reading of the body (the mirror) ended.
 *   any     → taken    hijack() was called: `take` is set, and the takeover completes at the
 *                      next pump (after the chunk CRLF owed, if any); the gate detaches.
 *   Parsed + responded the message is done: the next head is parsed, unless the message was
 *                      `final` (Upgrade/CONNECT) or its response the connection's `last`.
 *
 * @internal
 */
import net from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { GateBody } from './gate-body.js';
import {
  ensureUnrefTimer,
  HPE_PAUSED,
  isLastResponse,
  isLenientParser,
  isNodeListener,
  isNodePaused,
  isPause,
  listenersIn,
  onExecuteOf,
  onIncomingOf,
  parserOf,
  type OnIncoming,
  responseOf,
  setOnExecute,
  setOnIncoming,
  type NodeParser,
  type ServerSocket,
} from './internal/node-http.js';

/** Past this many buffered bytes the gate stops reading the socket until it moves on. */
const PENDING_LIMIT = 64 * 1024;

/** Fed to llhttp to let it finish a message that has no body left. */
const EMPTY = Buffer.alloc(0);
const CRLFCRLF = Buffer.from('\r\n\r\n');

/**
 * Where a gated message's body is (transitions in this file's header):
 * - `Held`: kept by the gate in wire form, none given to llhttp yet;
 * - `Feeding`: given to llhttp as it arrives, up to its end;
 * - `Parsed`: llhttp has the whole message, head and body.
 */
export const enum BodyPhase {
  Held,
  Feeding,
  Parsed,
}

/** One request on a gated connection, from its head to its response's end or takeover. */
export class GatedMessage {
  res: ServerResponse | null = null;
  /** Where the body is; see {@link BodyPhase}. */
  phase = BodyPhase.Held;
  /** The response finished. */
  responded = false;
  /** A takeover was asked for; `take` completes it. */
  take: ((pending: Buffer[]) => void) | null = null;
  /** The client ended its side (EOF) while this message was current. */
  eof = false;
  /** Its response was the connection's last: nothing behind it is parsed. */
  last = false;
  constructor(
    readonly gate: Gate,
    readonly req: IncomingMessage,
    readonly framing: GateBody,
    /** An Upgrade or CONNECT request: answered normally, the connection closes after it. */
    readonly final: boolean,
  ) {}
}

const kGate = Symbol('hijack.gate');
const kMessage = Symbol('hijack.message');

/**
 * req._read of a gated request: the handler wants the body, so the gate feeds it. Once a
 * takeover was asked for (or completed: the link is gone) the body belongs to the taker,
 * and a read gives nothing: it must not resume the socket either (Node's _read would).
 */
function gatedRead(this: IncomingMessage, n: number): void {
  const m = messageOf(this);
  if (!m || m.take || m.gate.detached) return;
  if (m.phase === BodyPhase.Held) {
    m.phase = BodyPhase.Feeding;
    queueMicrotask(m.gate.pumpLater);
  }
  return Object.getPrototypeOf(this)._read.call(this, n);
}

/**
 * socket.push of a gated socket: the client's EOF (push(null)) goes through the gate,
 * which may hold it until the handler of an Upgrade or CONNECT request decided.
 */
function gatedPush(this: net.Socket, chunk: unknown, encoding?: BufferEncoding): boolean {
  if (chunk === null) {
    const gate = gateOf(this);
    if (gate && gate.holdEof()) return false;
  }
  return net.Socket.prototype.push.call(this, chunk, encoding);
}

/** 'finish' of a gated response: the next request may be parsed now. */
function onResponseFinish(this: ServerResponse): void {
  const m = (this as unknown as Record<symbol, GatedMessage>)[kMessage]!;
  m.responded = true;
  // Node closes the connection after this answer: what follows is never parsed (Go).
  if (isLastResponse(this)) m.last = true;
  // An Upgrade or CONNECT answered normally: the connection ends now, Node may see the EOF.
  if (m.final) m.gate.releaseEof();
  m.gate.pump();
}

/** The gate of `socket`, if enableHijack() installed one. */
export function gateOf(socket: net.Socket | null | undefined): Gate | undefined {
  return socket ? (socket as unknown as Record<symbol, Gate | undefined>)[kGate] : undefined;
}

/** The gated message of `req`, if its connection has a gate. */
export function messageOf(req: IncomingMessage): GatedMessage | undefined {
  return (req as unknown as Record<symbol, GatedMessage | undefined>)[kMessage];
}

export class Gate {
  private readonly pending: Buffer[] = [];
  private pendingBytes = 0;
  private parserPaused = false;
  /** Set by onIncoming when it stopped llhttp after a head during the current execute. */
  private stoppedAtHead = false;
  /** Set by onIncoming when the current read is one whole message llhttp parses through. */
  private wholeRead = false;
  /** The chunk the gate is feeding the parser (JS reads), null for reads parsed in C++. */
  private feeding: Buffer | null = null;
  private pumping = false;
  private pausedSocket = false;
  private cur: GatedMessage | null = null;
  /** A takeover waits for owed chunk framing and listens for the socket's close. */
  private waitsForClose = false;
  /** The client's EOF, held until the current Upgrade/CONNECT handler decides. */
  private eofHeld = false;
  private readonly lenient: boolean;
  /** enableHijack's `takeover` filter; null: every request is gated. */
  private readonly choose: ((req: IncomingMessage) => boolean) | null;
  private readonly nodeOnIncoming: OnIncoming;
  private readonly nodeOnExecute: (ret: unknown) => void;
  detached = false;

  private constructor(
    readonly socket: ServerSocket,
    readonly parser: NodeParser,
    choose: ((req: IncomingMessage) => boolean) | null,
  ) {
    this.nodeOnIncoming = onIncomingOf(parser)!;
    this.nodeOnExecute = onExecuteOf(parser);
    this.lenient = isLenientParser(socket);
    this.choose = choose;
  }

  /**
   * Installs a gate on a socket Node's HTTP server just set up; idempotent. With `choose`,
   * only the requests it picks (and every Upgrade and CONNECT) are gated.
   */
  static install(
    socket: ServerSocket,
    choose: ((req: IncomingMessage) => boolean) | null = null,
  ): Gate | undefined {
    const parser = parserOf(socket);
    if (!parser || !onIncomingOf(parser) || gateOf(socket)) return gateOf(socket);
    ensureUnrefTimer(socket);
    const gate = new Gate(socket, parser, choose);
    (socket as unknown as Record<symbol, Gate>)[kGate] = gate;
    // Bytes that reach JS (a socket the parser does not consume) go through the gate too.
    // Node's other listeners are looked up only if the connection is taken over.
    for (const fn of listenersIn(socket, 'data')) {
      if (isNodeListener('data', fn)) socket.removeListener('data', fn);
    }
    // The prototype's `on`: Node's instance wrapper would stop the parser consuming.
    const on = net.Socket.prototype.on as (
      this: net.Socket,
      ev: string,
      fn: (...a: any[]) => void,
    ) => net.Socket;
    on.call(socket, 'data', gate.onData);
    on.call(socket, 'drain', gate.onDrain);
    (socket as unknown as { push: typeof gatedPush }).push = gatedPush;
    setOnIncoming(parser, gate.onIncoming);
    setOnExecute(parser, gate.onExecute);
    return gate;
  }

  /**
   * After each read the parser consumed in C++: at a head stop, or while paused, keep the
   * bytes it did not parse and let the gate decide.
   */
  private readonly onExecute = (ret: unknown): void => {
    if (this.wholeRead) {
      // The read held one whole message and nothing more: llhttp parsed it all. Reads
      // that come while it is current are the gate's.
      this.wholeRead = false;
      this.nodeOnExecute(ret);
      if (this.cur && !this.detached) {
        this.parser.pause();
        this.parserPaused = true;
      }
      this.pump();
      return;
    }
    if (this.stoppedAtHead || this.parserPaused) {
      // Only a stop at a head during this read has a real position; a parser paused before
      // the read parsed nothing (Node then derives a stale count from llhttp's error_pos).
      const parsed = !this.stoppedAtHead
        ? 0
        : isPause(ret)
          ? ret.bytesParsed
          : typeof ret === 'number'
            ? ret
            : 0;
      const buf = this.parser.getCurrentBuffer();
      this.stoppedAtHead = false;
      this.parserPaused = true;
      this.unshiftLast(buf.subarray(parsed));
      this.nodeOnExecute(parsed);
      this.pump();
      return;
    }
    this.nodeOnExecute(ret);
  };

  private readonly onData = (chunk: Buffer): void => {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    this.pump();
  };

  /** Node's own backpressure (socket._paused) lifts on drain; move on then. */
  private readonly onDrain = (): void => {
    // Node resumed the parser on drain; while a request is current it stays paused.
    if (this.cur && !this.detached) {
      this.parser.pause();
      this.parserPaused = true;
    }
    if (this.pendingBytes > 0) queueMicrotask(this.pumpLater);
  };

  private readonly onIncoming = (req: unknown, keepAlive: boolean): number => {
    const r = req as IncomingMessage & { upgrade: boolean };
    const final = r.upgrade || r.method === 'CONNECT';
    // With a takeover filter, a request it leaves out is Node's alone: parsed on in C++ as
    // plain Node parses it, so is one sent before an earlier answer ended. Only at a clean
    // point: a head the parser met in a read from the socket, with nothing kept here.
    if (
      this.choose !== null &&
      this.cur === null &&
      this.feeding === null &&
      this.pendingBytes === 0 &&
      (responseOf(this.socket) !== undefined || (!final && !this.choose(r)))
    ) {
      return this.nodeOnIncoming.call(this.parser, req, keepAlive);
    }
    // Upgrade and CONNECT go to the ordinary 'request' handler, as any other request.
    r.upgrade = false;
    const msg = new GatedMessage(this, r, GateBody.of(r, this.lenient), final);
    (r as unknown as Record<symbol, GatedMessage>)[kMessage] = msg;
    this.cur = msg;
    // The common case, a read that holds this whole message and nothing after it (a
    // keep-alive client waiting for its answer): llhttp may parse it through, as nothing
    // behind it can be lost and its body, if any, is raw in the request for a taker.
    // Otherwise llhttp stops right after the head (HPE_PAUSED).
    const whole = !final && this.holdsWholeMessage(msg);
    // Set before the handler runs: a takeover asked for inside it waits for the rest of this read.
    if (whole) {
      msg.phase = BodyPhase.Parsed;
      this.wholeRead = true;
    } else {
      this.stoppedAtHead = true;
    }
    r._read = gatedRead;
    // An Upgrade or CONNECT answered normally ends the connection: what follows its head is
    // not HTTP.
    const ret = this.nodeOnIncoming.call(this.parser, req, final ? false : keepAlive);
    const res = responseOf(this.socket);
    if (res && (res as unknown as { req?: unknown }).req === req) {
      msg.res = res;
      (res as unknown as Record<symbol, GatedMessage>)[kMessage] = msg;
      res.on('finish', onResponseFinish);
    } else {
      msg.responded = true;
    }
    return whole ? ret : HPE_PAUSED;
  };

  /**
   * Whether the read being parsed ends exactly with the message whose head just completed:
   * it starts inside that head (not with the CR/LF llhttp skips between messages), its
   * first CRLFCRLF ends the head, and what follows is the whole body of a plain
   * Content-Length (or none). Anything else takes the exact path.
   */
  private holdsWholeMessage(msg: GatedMessage): boolean {
    const length = msg.framing.plainLength();
    if (length < 0) return false;
    const b = this.feeding ?? this.parser.getCurrentBuffer();
    if (b.length < 4 || b[0] === 0x0d || b[0] === 0x0a) return false;
    const at = b.indexOf(CRLFCRLF);
    return at >= 0 && b.length - (at + 4) === length;
  }

  /**
   * The client's EOF arrived (socket.push(null)). Returns true to hold it: while the
   * handler of an Upgrade or CONNECT request has not decided, as Node's 'upgrade' event and
   * Go's Hijack let a taker read what a half-closed client sent and still answer. For other
   * requests the body bytes held go to the parser first, as plain Node had parsed them
   * before its EOF (a body cut short then gets Node's 400), and the EOF goes on.
   */
  holdEof(): boolean {
    const m = this.cur;
    if (this.detached || !m) return false;
    m.eof = true;
    if (m.take) {
      // A takeover waiting for chunk framing that cannot come now: complete it, the EOF
      // then reaches the taker's socket after the bytes handed over.
      this.pump();
      return false;
    }
    if (m.final && !m.responded) {
      this.eofHeld = true;
      return true;
    }
    this.pump();
    // No byte comes after the EOF: Node's finish() must see the parser's real state (a
    // paused llhttp reports a cut-short body as fine).
    if (!this.detached && this.pendingBytes === 0) {
      this.parser.resume();
      this.parserPaused = false;
    }
    return false;
  }

  /** Lets a held EOF go on (to Node's handling, or to the taker's socket). */
  releaseEof(): void {
    if (!this.eofHeld) return;
    this.eofHeld = false;
    net.Socket.prototype.push.call(this.socket, null);
  }

  /** pump(), bound, for queueMicrotask. */
  readonly pumpLater = (): void => this.pump();

  /** Feeds what can be fed now; completes a takeover that was asked for. */
  pump(): void {
    // Inside the parser's execute (a handler taking over at once): the rest of this read is
    // not collected yet; onExecute pumps once it is.
    if (this.pumping || this.detached || this.stoppedAtHead || this.wholeRead) return;
    this.pumping = true;
    try {
      for (;;) {
        const m = this.cur;
        if (m) {
          if (m.take) return this.completeTakeover(m);
          // The connection closes after this answer: what follows is not HTTP (Upgrade,
          // CONNECT) or not to be served. The body still goes to the parser (Node reads it).
          const parsed = m.phase === BodyPhase.Parsed;
          if ((m.final || m.last) && m.responded && (parsed || m.final)) return;
          if (!parsed) {
            if (m.phase === BodyPhase.Held) {
              if (!m.responded && !m.eof) break;
              m.phase = BodyPhase.Feeding; // skipped after the answer, or cut by the EOF
            }
            if (m.framing.kind === 'none' || m.framing.done) {
              this.feed(EMPTY); // lets llhttp finish the message (req 'end')
              m.phase = BodyPhase.Parsed;
              continue;
            }
            const chunk = this.shift();
            if (!chunk) break;
            const n = m.framing.take(chunk);
            if (n < chunk.length) this.unshift(chunk.subarray(n));
            this.feed(chunk.subarray(0, n));
            if (m.framing.done) m.phase = BodyPhase.Parsed;
            continue;
          }
          if (!m.responded) break;
          this.cur = null;
        }
        if (isNodePaused(this.socket) || this.socket.destroyed) break;
        const chunk = this.shift();
        if (!chunk) break;
        this.feed(chunk);
      }
    } finally {
      this.pumping = false;
    }
    // Between requests, with nothing kept, the parser reads the socket directly again.
    if (
      !this.detached &&
      !this.cur &&
      this.pendingBytes === 0 &&
      this.parserPaused &&
      !isNodePaused(this.socket)
    ) {
      this.parser.resume();
      this.parserPaused = false;
    }
    this.flowControl();
  }

  private flowControl(): void {
    if (this.detached) return;
    if (!this.pausedSocket && this.pendingBytes >= PENDING_LIMIT) {
      this.pausedSocket = true;
      this.socket.pause();
    } else if (this.pausedSocket && this.pendingBytes < PENDING_LIMIT) {
      this.pausedSocket = false;
      this.socket.resume();
    }
  }

  private shift(): Buffer | undefined {
    const c = this.pending.shift();
    if (c) this.pendingBytes -= c.length;
    return c;
  }

  private unshiftLast(c: Buffer): void {
    if (c.length === 0) return;
    this.pending.push(c);
    this.pendingBytes += c.length;
  }

  private unshift(c: Buffer): void {
    if (c.length === 0) return;
    this.pending.unshift(c);
    this.pendingBytes += c.length;
  }

  private feed(chunk: Buffer): void {
    // Always: Node may have paused the parser for its own backpressure since we last fed.
    this.parser.resume();
    this.parserPaused = false;
    this.stoppedAtHead = false;
    this.feeding = chunk;
    const ret = this.parser.execute(chunk);
    this.feeding = null;
    this.wholeRead = false;
    if (this.detached) return;
    // Node reports our pause as an error, except on an upgrade request, where it gives the
    // byte count (it skips errors when llhttp's upgrade flag is set).
    if (isPause(ret) || this.stoppedAtHead) {
      const parsed = isPause(ret) ? ret.bytesParsed : (ret as number);
      this.stoppedAtHead = false;
      this.unshift(chunk.subarray(parsed));
      this.parserPaused = true;
      this.nodeOnExecute(parsed);
      return;
    }
    // llhttp stops early only at an upgrade it recognised itself: keep what follows.
    if (typeof ret === 'number' && ret < chunk.length) this.unshift(chunk.subarray(ret));
    // While a request is current, reads the parser consumes must come here, not into it.
    if (this.cur) {
      this.parser.pause();
      this.parserPaused = true;
    }
    this.nodeOnExecute(ret);
  }

  /**
   * Lets go of the connection for a takeover: of the request the gate holds
   * (completeTakeover), or of one the takeover filter left out (Node's parser had it).
   * Returns the bytes the gate kept, for the taker; nothing once released.
   */
  release(): Buffer[] {
    if (this.detached) return [];
    this.detached = true;
    const kept = this.pending.splice(0);
    this.pendingBytes = 0;
    this.socket.removeListener('data', this.onData);
    this.socket.removeListener('drain', this.onDrain);
    this.pausedSocket = false;
    (this.socket as unknown as { push: typeof gatedPush }).push = net.Socket.prototype.push;
    (this.socket as unknown as Record<symbol, unknown>)[kGate] = undefined;
    return kept;
  }

  private completeTakeover(m: GatedMessage): void {
    // A chunked body read to the end of a chunk: wait for the chunk's CRLF, so the taker's
    // first byte is the next chunk's (the client sends it; its EOF or close ends the wait).
    if (
      m.phase !== BodyPhase.Held &&
      this.pendingBytes < m.framing.owed() &&
      !m.eof &&
      !this.socket.destroyed
    ) {
      // A connection reset instead of ended still completes the takeover.
      if (!this.waitsForClose) {
        this.waitsForClose = true;
        this.socket.once('close', this.pumpLater);
      }
      return;
    }
    m.framing.release();
    if (this.waitsForClose) this.socket.removeListener('close', this.pumpLater);
    const head = this.release();
    const take = m.take!;
    m.take = null;
    take(head);
    // The EOF of a half-closed client reaches the taker after the bytes it was handed.
    this.releaseEof();
    // Nothing of the gate outlives the takeover: a spliced stream keeps only its sockets.
    // Assigned, not deleted (a delete would turn these hot objects into dictionaries), and
    // only the links that exist (adding a property is a shape change too).
    (m.req as unknown as Record<symbol, unknown>)[kMessage] = undefined;
    if (m.res) {
      (m.res as unknown as Record<symbol, unknown>)[kMessage] = undefined;
      m.res.removeListener('finish', onResponseFinish);
    }
  }
}
