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
import { BodyScanner, requestFraming, responseFraming } from '../../http1/framing.js';
import type { Framing } from '../../http1/framing.js';
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
  /** The request target to send (the policy's canonical target). */
  target: string;
  /** The requested protocol (Upgrade token), or undefined for a Docker raw-stream candidate. */
  upgrade: string | undefined;
  upstream: UpstreamTarget;
  upstreamTls?: UpstreamTlsOptions;
  connectTimeout: number;
  headTimeout: number;
  streamTimeout: number;
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

/**
 * Carries one takeover request up to the switch; resolves with both ends when the upstream
 * switched (the caller splices them), else once the answer is over. Never rejects.
 */
export async function forwardTakeover(t: TakeoverRequest): Promise<TakeoverOutcome> {
  const { req, res } = t;
  const started = performance.now();
  let framing: Framing;
  try {
    framing = requestFraming(req.headers);
  } catch (err) {
    replyError(res, 400, `hijack gateway: ${(err as Error).message}`, {}, true);
    return { status: 400, bytesUp: 0, bytesDown: 0, error: err as Error };
  }

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

  const taken = await takeClient(req, res, upstream);
  if (taken instanceof Error) return { status: 500, bytesUp: 0, bytesDown: 0, error: taken };
  const { socket: client, head } = taken;

  // Request head towards the upstream.
  const headers = stripHopByHop(req.rawHeaders);
  if (framing.kind === 'chunked') headers.push('Transfer-Encoding', 'chunked');
  if (t.upgrade) headers.push('Connection', 'Upgrade', 'Upgrade', t.upgrade);
  if (t.forwardedFor) appendForwardedFor(headers, t.forwardedFor);
  upstream.write(serializeHead(`${req.method} ${t.target} HTTP/1.1`, headers));

  // The body, exactly; what follows it is held back until the upstream switched.
  const body = new BodyPump(client, upstream, new BodyScanner(framing, { strict: true }), head);
  let resp: ResponseHead;
  // Only heads go down before the switch; they are not counted.
  const bytesDown = 0;
  const fail = (status: number, message: string, error: Error): TakeoverOutcome => {
    body.stop();
    upstream.destroy();
    endWithError(client, status, message);
    return { status, bytesUp: body.bytes, bytesDown, error };
  };
  try {
    resp = await Promise.race([
      readResponseHead(upstream, { maxHeaderSize: t.maxHeaderSize, timeout: t.headTimeout }),
      body.failed,
    ]);
    // Informational answers (100 Continue, 103 Early Hints) go to the client as they are.
    for (
      let n = 0;
      resp.statusCode >= 100 && resp.statusCode < 200 && resp.statusCode !== 101;
      n++
    ) {
      if (n > 16) throw new HijackError('ERR_MALFORMED_HEAD', 'too many informational answers');
      client.write(
        serializeHead(
          `HTTP/1.1 ${resp.statusCode} ${resp.statusMessage}`,
          stripHopByHop(resp.rawHeaders),
        ),
      );
      if (resp.rest.length) upstream.unshift(resp.rest);
      resp = await readResponseHead(upstream, {
        maxHeaderSize: t.maxHeaderSize,
        timeout: t.headTimeout,
      });
    }
  } catch (err) {
    const e = err as HijackError;
    if (client.destroyed) {
      body.stop();
      upstream.destroy();
      return { status: 0, bytesUp: body.bytes, bytesDown, error: e };
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
    kind = t.upgrade;
    respHeaders = stripHopByHop(resp.rawHeaders);
    respHeaders.push('Connection', 'Upgrade', 'Upgrade', got.trim());
  } else if (
    resp.statusCode === 200 &&
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
      ...(await passResponse(req.method ?? 'GET', resp, client, upstream, t.streamTimeout)),
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

/**
 * Writes the request body (exactly as framed) from the client to the upstream and keeps
 * every byte behind it. `stop()` detaches and returns the held bytes.
 */
class BodyPump {
  bytes = 0;
  readonly failed: Promise<never>;
  private held: Buffer[] = [];
  private stopped = false;
  private rejectFailed!: (err: Error) => void;
  private readonly onData = (chunk: Buffer) => this.take(chunk);
  private readonly onEnd = () => {
    if (!this.framer.done)
      this.rejectFailed(
        new HijackError('ERR_SOCKET_CLOSED', 'the client closed before its request body ended'),
      );
  };
  private readonly onError = (err: Error) => this.rejectFailed(err);

  constructor(
    private readonly client: Socket,
    private readonly upstream: Socket,
    private readonly framer: BodyScanner,
    head: Buffer,
  ) {
    this.failed = new Promise<never>((_, reject) => (this.rejectFailed = reject));
    this.failed.catch(() => {});
    this.take(head);
    client.on('error', this.onError);
    if (this.framer.done) {
      client.pause();
    } else {
      client.on('data', this.onData);
      client.on('end', this.onEnd);
      client.resume();
    }
  }

  private take(chunk: Buffer): void {
    if (chunk.length === 0) return;
    if (this.framer.done) {
      this.held.push(chunk);
      return;
    }
    let n: number;
    try {
      n = this.framer.take(chunk);
    } catch (err) {
      this.rejectFailed(err as Error);
      return;
    }
    if (n > 0) {
      this.bytes += n;
      this.upstream.write(n === chunk.length ? chunk : chunk.subarray(0, n));
    }
    if (n < chunk.length) this.held.push(chunk.subarray(n));
    if (this.framer.done) {
      this.client.pause();
      this.client.removeListener('data', this.onData);
    }
  }

  /** Detaches from the client (left paused) and returns the bytes held behind the body. */
  stop(): Buffer {
    if (!this.stopped) {
      this.stopped = true;
      this.client.removeListener('data', this.onData);
      this.client.removeListener('end', this.onEnd);
      this.client.removeListener('error', this.onError);
      this.client.pause();
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
