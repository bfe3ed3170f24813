/**
 * Takeover forwarding: a request that may switch the connection to a raw stream (an
 * Upgrade request of any token, or a Docker attach / exec start that may get the legacy
 * `200` raw-stream answer) is carried over its own upstream connection, byte for byte.
 *
 * Order of events, and why:
 * 1. dial the upstream first, so a missing daemon still gets a normal 502 answer;
 * 2. take the client connection over (`hijack`), write the request head and exactly the
 *    request body; bytes the client sent behind the body are held back, unparsed, so a
 *    request smuggled behind an upgrade never reaches the upstream unless the upstream
 *    really switched protocols;
 * 3. read the upstream's head (`readResponseHead`, every byte behind it kept):
 *    - 101 whose Upgrade token equals the requested one, or 200 with a Docker raw-stream
 *      media type: write the head to the client and hand both ends back, with the held
 *      client bytes to go up first and the upstream's early bytes to go down first;
 *    - 101 with another token: 502; anything else: forwarded as an ordinary answer
 *      (body framed by Content-Length / chunked / close) and both connections closed.
 *
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { HijackError } from '../../errors.js';
import { hijack } from '../../server/index.js';
import { readResponseHead } from '../../http1/head.js';
import type { ResponseHead } from '../../http1/head.js';
import { BodyScanner, responseFraming } from '../../http1/framing.js';
import type { Framing } from '../../http1/framing.js';
import { ChunkedDecoder, encodeChunk, LAST_CHUNK } from '../../http1/chunked.js';
import type { BodyFraming } from '../admit.js';
import { bodyFailureStatus } from './body.js';
import { appendForwardedFor, serializeHead, stripHopByHop } from '../../http1/hop-by-hop.js';
import { closeAfterAnswer, endWithError, replyError } from './reply.js';
import { dialUpstream } from './upstream.js';
import type { UpstreamTarget, UpstreamTlsOptions } from './upstream.js';

/** Docker's media types for a raw stream taken over from a 200 answer. */
const RAW_STREAM = /^application\/vnd\.docker\.(raw|multiplexed)-stream\s*(;|$)/i;

/**
 * Both ends of a switched connection, ready to be spliced: the caller splices them (so the
 * request's objects are not kept alive by a pending await for the stream's lifetime).
 */
export interface Switched {
  client: Socket;
  upstream: Socket;
  /** Client bytes held behind the request: they go upstream first. */
  headAToB: Buffer;
  /** Upstream bytes behind its answer head: they go to the client first. */
  headBToA: Buffer;
}

/** What one takeover needs from the gateway. */
export interface TakeoverRequest {
  req: IncomingMessage;
  res: ServerResponse;
  method: string;
  /** The request target to send (the policy's canonical target). */
  target: string;
  /** Head fields to forward, framing fields excluded (see `admit`). */
  headers: string[];
  framing: BodyFraming;
  expectContinue: boolean;
  /** The requested protocol (Upgrade token), or undefined for a Docker raw-stream candidate. */
  upgrade: string | undefined;
  upstream: UpstreamTarget;
  upstreamTls?: UpstreamTlsOptions;
  connectTimeout: number;
  headTimeout: number;
  streamTimeout: number;
  bodyTimeout: number;
  maxBody: number;
  maxHeaderSize: number;
  /** Client address to append to X-Forwarded-For, if that is on. */
  forwardedFor?: string;
}

/** What a takeover attempt came to. */
export interface TakeoverOutcome {
  /** Status sent to the client (101, 200 raw stream, the upstream's, or 4xx/5xx of ours). */
  status: number;
  /** `upgrade:<token>`-style kind when spliced: the Upgrade token, or `raw-stream`; else undefined. */
  kind?: string;
  /** Set when the connection switched: the two ends, for the caller to splice. */
  switched?: Switched;
  /** Milliseconds from request start until the upstream's head arrived. */
  headMs?: number;
  /** Request bytes sent upstream before the splice (head excluded). */
  bytesUp: number;
  /** Response bytes sent to the client before the splice (heads excluded). */
  bytesDown: number;
  error?: Error;
}

/**
 * Takes the client connection over for a takeover whose other end (`peer`) is already
 * open. On failure, `peer` is destroyed, the client gets a 500 and the error is returned.
 */
export async function takeClient(
  req: IncomingMessage,
  res: ServerResponse,
  peer: Socket,
): Promise<{ socket: Socket; head: Buffer } | Error> {
  try {
    const { socket, head } = await hijack(req, res);
    return { socket: socket as Socket, head };
  } catch (err) {
    peer.destroy();
    replyError(
      res,
      500,
      `hijack gateway: cannot take the connection over: ${(err as Error).message}`,
      {},
      true,
    );
    return err as Error;
  }
}

/** The request head the gateway writes upstream: its own line, the admitted fields, its own framing. */
export function takeoverHead(t: TakeoverRequest): Buffer {
  const headers = [...t.headers];
  if (t.framing.kind === 'length') headers.push('Content-Length', String(t.framing.length));
  else if (t.framing.kind === 'chunked') headers.push('Transfer-Encoding', 'chunked');
  if (t.upgrade) headers.push('Connection', 'Upgrade', 'Upgrade', t.upgrade);
  if (t.forwardedFor) appendForwardedFor(headers, t.forwardedFor);
  return serializeHead(`${t.method} ${t.target} HTTP/1.1`, headers);
}

/**
 * Carries one takeover request up to the switch; resolves with both ends when the upstream
 * switched (the caller splices them), else once the answer is over. Never rejects.
 */
export async function forwardTakeover(t: TakeoverRequest): Promise<TakeoverOutcome> {
  const { req, res } = t;
  const started = performance.now();
  let upstream: Socket;
  try {
    upstream = await dialUpstream(t.upstream, { timeout: t.connectTimeout, tls: t.upstreamTls });
  } catch (err) {
    replyError(res, 502, (err as Error).message, {}, true);
    return { status: 502, bytesUp: 0, bytesDown: 0, error: err as Error };
  }
  if (req.socket.destroyed) {
    upstream.destroy();
    return {
      status: 0,
      bytesUp: 0,
      bytesDown: 0,
      error: new HijackError('ERR_SOCKET_CLOSED', 'client went away'),
    };
  }
  // Only after admission: the client may send its body now.
  if (t.expectContinue && t.framing.kind !== 'none') res.writeContinue();
  const taken = await takeClient(req, res, upstream);
  if (taken instanceof Error) return { status: 500, bytesUp: 0, bytesDown: 0, error: taken };
  const { socket: client, head } = taken;

  // The head and every body byte held go up in one write; the rest is pumped with
  // backpressure; what follows the body is held back until the upstream switched.
  const body = new BodyPump(client, upstream, t.framing, t.bodyTimeout, t.maxBody);
  let resp: ResponseHead;
  const bytesDown = 0;
  const fail = (status: number, message: string, error: Error): TakeoverOutcome => {
    body.stop();
    upstream.destroy();
    endWithError(client, status, message);
    return { status, bytesUp: body.bytes, bytesDown, error };
  };
  const clientFault = (e: HijackError): TakeoverOutcome => {
    const status = bodyFailureStatus(e);
    if (status === 0 || client.destroyed) {
      body.stop();
      upstream.destroy();
      client.destroy();
      return { status: 0, bytesUp: body.bytes, bytesDown, error: e };
    }
    return fail(status, `hijack gateway: ${e.message}`, e);
  };
  try {
    await body.start(takeoverHead(t), head);
  } catch (err) {
    return clientFault(err as HijackError);
  }
  try {
    resp = await Promise.race([
      readResponseHead(upstream, { maxHeaderSize: t.maxHeaderSize, timeout: t.headTimeout }),
      body.failed,
    ]);
    // Informational answers go to the client as they are, except 100 Continue: the
    // gateway answered Expect itself and never forwards it.
    for (
      let n = 0;
      resp.statusCode >= 100 && resp.statusCode < 200 && resp.statusCode !== 101;
      n++
    ) {
      if (n > 16) throw new HijackError('ERR_MALFORMED_HEAD', 'too many informational answers');
      if (resp.statusCode !== 100) {
        client.write(
          serializeHead(
            `HTTP/1.1 ${resp.statusCode} ${resp.statusMessage}`,
            stripHopByHop(resp.rawHeaders),
          ),
        );
      }
      if (resp.rest.length) upstream.unshift(resp.rest);
      resp = await Promise.race([
        readResponseHead(upstream, { maxHeaderSize: t.maxHeaderSize, timeout: t.headTimeout }),
        body.failed,
      ]);
    }
  } catch (err) {
    const e = err as HijackError;
    if (body.failure) return clientFault(body.failure);
    if (client.destroyed) {
      body.stop();
      upstream.destroy();
      return {
        status: 0,
        bytesUp: body.bytes,
        bytesDown,
        error: new HijackError('ERR_SOCKET_CLOSED', 'the client went away before the answer', {
          cause: e,
        }),
      };
    }
    const status = e.code === 'ERR_HEAD_TIMEOUT' ? 504 : 502;
    return fail(
      status,
      `hijack gateway: the upstream ${t.upstream.url} gave no valid answer: ${e.message}`,
      e,
    );
  }
  const headMs = performance.now() - started;

  let kind: string | undefined;
  let respHeaders: string[];
  if (resp.statusCode === 101) {
    const got = resp.headers['upgrade'];
    if (!t.upgrade) {
      return fail(
        502,
        'hijack gateway: the upstream switched protocols without being asked',
        new HijackError('ERR_UPGRADE_MISMATCH', 'unrequested 101'),
      );
    }
    if (typeof got !== 'string' || got.trim().toLowerCase() !== t.upgrade.toLowerCase()) {
      return fail(
        502,
        `hijack gateway: the upstream switched to ${JSON.stringify(got ?? '')} but the client asked for ${JSON.stringify(t.upgrade)}`,
        new HijackError('ERR_UPGRADE_MISMATCH', 'upgrade token mismatch', {
          requested: t.upgrade,
          got,
        }),
      );
    }
    if (!body.done) {
      // A switch before the request body ended: the rest of the body would be read as
      // the stream. Nothing of the kind is sent on: refuse.
      return fail(
        502,
        'hijack gateway: the upstream switched protocols before the request body ended',
        new HijackError('ERR_UPSTREAM', 'switched before the request body ended'),
      );
    }
    kind = t.upgrade;
    respHeaders = stripHopByHop(resp.rawHeaders);
    respHeaders.push('Connection', 'Upgrade', 'Upgrade', got.trim());
  } else if (
    resp.statusCode === 200 &&
    body.done &&
    RAW_STREAM.test(String(resp.headers['content-type'] ?? '')) &&
    resp.headers['content-length'] === undefined &&
    resp.headers['transfer-encoding'] === undefined
  ) {
    kind = 'raw-stream';
    respHeaders = stripHopByHop(resp.rawHeaders);
  } else {
    // An ordinary answer: pass it through, then close both connections.
    body.stop();
    return {
      ...(await passResponse(t.method, resp, client, upstream, t.streamTimeout)),
      headMs,
      bytesUp: body.bytes,
    };
  }

  const held = body.stop();
  if (client.destroyed) {
    upstream.destroy();
    return {
      status: resp.statusCode,
      kind,
      headMs,
      bytesUp: body.bytes,
      bytesDown,
      error: new HijackError('ERR_SOCKET_CLOSED', 'client went away'),
    };
  }
  const status = resp.statusCode;
  client.write(
    serializeHead(
      `HTTP/1.1 ${status} ${resp.statusMessage || (status === 101 ? 'Switching Protocols' : 'OK')}`,
      respHeaders,
    ),
  );
  return {
    status,
    kind,
    headMs,
    bytesUp: body.bytes,
    bytesDown,
    switched: { client, upstream, headAToB: held, headBToA: resp.rest },
  };
}

/** Body bytes read whole before the head goes up, so head and body leave in one write. */
const FIRST_WRITE = 64 * 1024;

/**
 * Moves the request body (exactly as framed, re-framed by the gateway) from the client to
 * the upstream and keeps every byte behind it. The first write carries the head and the
 * body up to {@link FIRST_WRITE} (all of a short body: dockerd drops what it buffered when
 * it hijacks, and reads what comes later as the stream); then the client is read only
 * while the upstream keeps up. `stop()` detaches and returns the held bytes.
 */
class BodyPump {
  /** Body bytes (decoded) sent up. */
  bytes = 0;
  readonly failed: Promise<never>;
  failure: HijackError | undefined;
  private held: Buffer[] = [];
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private stopped = false;
  private started = false;
  private remaining: number;
  private readonly decoder: ChunkedDecoder | undefined;
  private timer: NodeJS.Timeout | undefined;
  private firstWrite: (() => void) | undefined;
  private rejectFailed!: (err: Error) => void;
  private readonly onData = (chunk: Buffer) => this.take(chunk);
  private readonly onEnd = () => {
    if (!this.done)
      this.fault(
        new HijackError('ERR_SOCKET_CLOSED', 'the client closed before its request body ended'),
      );
  };
  private readonly onError = (err: Error) =>
    this.fault(
      new HijackError('ERR_SOCKET_CLOSED', 'the client connection failed', { cause: err }),
    );
  private readonly onDrain = () => {
    if (!this.stopped && !this.done) this.client.resume();
  };

  constructor(
    private readonly client: Socket,
    private readonly upstream: Socket,
    private readonly framing: BodyFraming,
    private readonly timeout: number,
    private readonly maxBody: number,
  ) {
    this.failed = new Promise<never>((_, reject) => (this.rejectFailed = reject));
    this.failed.catch(() => {});
    this.remaining = framing.kind === 'length' ? framing.length : 0;
    this.decoder = framing.kind === 'chunked' ? new ChunkedDecoder() : undefined;
  }

  /** True once the whole body went up. */
  get done(): boolean {
    return this.decoder ? this.decoder.done : this.remaining === 0;
  }

  /** Writes `head` with the first part of the body; resolves once that write is queued. */
  start(head: Buffer, early: Buffer): Promise<void> {
    this.pending.push(head);
    this.client.on('error', this.onError);
    this.upstream.on('drain', this.onDrain);
    this.take(early);
    if (this.failure) return Promise.reject(this.failure);
    if (this.done) this.flushFirst();
    if (this.started) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.firstWrite = resolve;
      this.failed.catch(reject);
      this.listen();
    });
  }

  private listening = false;
  private listen(): void {
    if (!this.listening) {
      this.listening = true;
      this.client.on('data', this.onData);
      this.client.on('end', this.onEnd);
    }
    this.arm();
    this.client.resume();
  }

  private unlisten(): void {
    clearTimeout(this.timer);
    this.client.pause();
    this.client.removeListener('data', this.onData);
    this.client.removeListener('end', this.onEnd);
    this.listening = false;
  }

  private flushFirst(): void {
    if (this.started) return;
    this.started = true;
    const out = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending);
    this.pending = [];
    this.pendingBytes = 0;
    this.send(out);
    if (this.done) this.unlisten();
    else this.listen();
    const w = this.firstWrite;
    this.firstWrite = undefined;
    w?.();
  }

  private send(b: Buffer): void {
    if (b.length && !this.upstream.write(b)) this.client.pause();
  }

  private arm(): void {
    if (this.timeout <= 0) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(
      () =>
        this.fault(
          new HijackError(
            'ERR_BODY_TIMEOUT',
            `no request body byte arrived for ${this.timeout} ms`,
          ),
        ),
      this.timeout,
    );
  }

  private fault(err: HijackError): void {
    if (this.failure) return;
    this.failure = err;
    clearTimeout(this.timer);
    this.rejectFailed(err);
  }

  private take(chunk: Buffer): void {
    if (chunk.length === 0 || this.failure) return;
    if (this.done) {
      this.held.push(chunk);
      return;
    }
    let out: Buffer[];
    let used: number;
    let data = 0;
    try {
      if (this.decoder) {
        const r = this.decoder.take(chunk);
        used = r.used;
        out = r.data.map(encodeChunk);
        for (const d of r.data) data += d.length;
        if (this.decoder.done) out.push(LAST_CHUNK);
      } else {
        used = Math.min(this.remaining, chunk.length);
        this.remaining -= used;
        data = used;
        out = [used === chunk.length ? chunk : chunk.subarray(0, used)];
      }
    } catch (err) {
      this.fault(err as HijackError);
      return;
    }
    this.bytes += data;
    if (this.maxBody > 0 && this.bytes > this.maxBody) {
      this.fault(
        new HijackError(
          'ERR_BODY_TOO_LARGE',
          `the request body is over the gateway's limit of ${this.maxBody} bytes (--max-body)`,
        ),
      );
      return;
    }
    if (used < chunk.length) this.held.push(chunk.subarray(used));
    if (this.started) {
      for (const b of out) this.send(b);
    } else {
      for (const b of out) {
        this.pending.push(b);
        this.pendingBytes += b.length;
      }
    }
    if (this.done) {
      this.unlisten();
      this.flushFirst();
    } else if (!this.started && this.pendingBytes >= FIRST_WRITE) {
      this.flushFirst();
    } else {
      this.arm();
    }
  }

  /** Detaches from the client (left paused) and returns the bytes held behind the body. */
  stop(): Buffer {
    if (!this.stopped) {
      this.stopped = true;
      this.unlisten();
      this.client.removeListener('error', this.onError);
      this.upstream.removeListener('drain', this.onDrain);
    }
    const out = this.held.length === 1 ? this.held[0]! : Buffer.concat(this.held);
    this.held = [];
    return out;
  }
}

/** Forwards an ordinary answer read raw from `upstream`, then closes both connections. */
async function passResponse(
  method: string,
  resp: ResponseHead,
  client: Socket,
  upstream: Socket,
  idleTimeout: number,
): Promise<Omit<TakeoverOutcome, 'bytesUp'>> {
  let framing: Framing;
  try {
    framing = responseFraming(method, resp.statusCode, resp.headers);
  } catch (err) {
    upstream.destroy();
    endWithError(
      client,
      502,
      `hijack gateway: the upstream's answer is malformed: ${(err as Error).message}`,
    );
    return { status: 502, bytesDown: 0, error: err as Error };
  }
  const headers = stripHopByHop(resp.rawHeaders);
  if (framing.kind === 'chunked')
    headers.push('Transfer-Encoding', String(resp.headers['transfer-encoding']));
  headers.push('Connection', 'close');
  client.on('error', () => {});
  client.write(serializeHead(`HTTP/1.1 ${resp.statusCode} ${resp.statusMessage}`, headers));
  const framer = new BodyScanner(framing, { strict: true });
  let bytesDown = 0;
  const status = resp.statusCode;
  const finish = (error?: Error): Omit<TakeoverOutcome, 'bytesUp'> => {
    upstream.destroy();
    if (error) client.destroy();
    else closeAfterAnswer(client);
    return error ? { status, bytesDown, error } : { status, bytesDown };
  };
  const push = (chunk: Buffer): boolean => {
    const n = framer.take(chunk);
    bytesDown += n;
    if (n > 0) client.write(n === chunk.length ? chunk : chunk.subarray(0, n));
    return framer.done;
  };
  try {
    if (framer.done || push(resp.rest)) return finish();
  } catch (err) {
    return finish(err as Error);
  }
  return new Promise((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    const arm = () => {
      if (idleTimeout > 0) {
        clearTimeout(timer);
        timer = setTimeout(
          () => done(new HijackError('ERR_IDLE_TIMEOUT', 'the upstream went quiet mid-answer')),
          idleTimeout,
        );
      }
    };
    const done = (error?: Error) => {
      clearTimeout(timer);
      upstream.removeListener('data', onData);
      upstream.removeListener('end', onEnd);
      upstream.removeListener('error', done);
      client.removeListener('drain', onDrain);
      client.removeListener('close', onClose);
      resolve(finish(error));
    };
    const onData = (chunk: Buffer) => {
      arm();
      try {
        if (push(chunk)) return done();
      } catch (err) {
        return done(err as Error);
      }
      if (client.writableNeedDrain) upstream.pause();
    };
    const onDrain = () => upstream.resume();
    const onEnd = () =>
      framing.kind === 'close'
        ? done()
        : done(new HijackError('ERR_UPSTREAM', 'the upstream closed mid-answer'));
    const onClose = () =>
      done(new HijackError('ERR_SOCKET_CLOSED', 'the client went away mid-answer'));
    upstream.on('data', onData);
    upstream.on('end', onEnd);
    upstream.on('error', done);
    client.on('drain', onDrain);
    client.on('close', onClose);
    arm();
    upstream.resume();
  });
}
