/**
 * Ordinary request forwarding over an upstream pool (undici): the head is what admission
 * decided, the body's framing is the gateway's own; bodies stream both ways with
 * backpressure (a short request body is read whole first); hop-by-hop fields are dropped
 * from the answer; upstream failures become a 502/504 JSON answer while nothing was
 * sent, or a cut connection after; a client that fails its body gets 408/413/400.
 *
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import { HijackError } from '../../errors.js';
import { appendForwardedFor, stripHopByHop } from '../../http1/hop-by-hop.js';
import type { BodyFraming } from '../admit.js';
import type { DenyDecision } from '../types.js';
import { bodyFailureStatus, RequestBody } from './body.js';
import { replyError } from './reply.js';
import { upstreamUnreachable } from './upstream.js';
import type { UpstreamTarget } from './upstream.js';

/** What one forwarded request came to. */
export interface ForwardOutcome {
  status: number;
  /** Milliseconds until the upstream's head arrived (undefined if it never did). */
  headMs?: number;
  bytesIn: number;
  bytesOut: number;
  error?: Error;
  /** The body check's refusal, when it refused the body (already answered). */
  refusal?: DenyDecision;
}

/** Bodies up to this size are read whole before the request goes upstream. */
export const BUFFERED_BODY = 64 * 1024;

/** Settings of {@link forwardRequest}: what admission decided, and the engine's bounds. */
export interface ForwardSettings {
  pool: Dispatcher;
  upstream: UpstreamTarget;
  method: string;
  target: string;
  /** Head fields to forward, framing fields excluded (see `admit`). */
  headers: string[];
  framing: BodyFraming;
  expectContinue: boolean;
  headTimeout: number;
  streamTimeout: number;
  bodyTimeout: number;
  maxBody: number;
  forwardedFor?: string;
  /**
   * Read the whole body (at most `limit` bytes: 413 beyond) and decide on it before anything
   * goes upstream; a refusal is answered here, otherwise exactly the bytes checked are sent.
   */
  checkBody?: {
    limit: number;
    /** The refusal, or undefined to forward the body as read, or the body to forward instead (rewritten by the gateway). */
    check: (
      body: Buffer,
    ) => DenyDecision | Buffer | undefined | Promise<DenyDecision | Buffer | undefined>;
  };
}

/** Answers a body failure (408, 413, 400) unless the client left; the connection closes. */
function failBody(res: ServerResponse, err: HijackError): number {
  const status = bodyFailureStatus(err);
  if (status) replyError(res, status, `hijack gateway: ${err.message}`, {}, true);
  else res.destroy();
  return status;
}

/**
 * Forwards one admitted ordinary request and streams the answer back. The head is the
 * admitted method, target and fields; the body's framing is the gateway's own: a body up
 * to {@link BUFFERED_BODY} is read whole and sent with its length, a longer one streams
 * (its declared length, or chunked). Resolves when done; never rejects.
 */
export async function forwardRequest(
  req: IncomingMessage,
  res: ServerResponse,
  s: ForwardSettings,
): Promise<ForwardOutcome> {
  const started = performance.now();
  const headers = s.forwardedFor ? [...s.headers] : s.headers;
  if (s.forwardedFor) appendForwardedFor(headers, s.forwardedFor);
  let body: Buffer | AsyncIterable<Buffer> | null = null;
  let source: RequestBody | undefined;
  if (s.checkBody) {
    const checked = await readChecked(req, res, s, s.checkBody);
    if (!Buffer.isBuffer(checked)) return checked;
    body = checked;
  } else if (s.framing.kind !== 'none') {
    source = new RequestBody(req, { timeout: s.bodyTimeout, maxBody: s.maxBody });
    if (s.expectContinue) res.writeContinue();
    if (s.framing.kind === 'length' && s.framing.length > BUFFERED_BODY) {
      headers.push('content-length', String(s.framing.length));
      body = source.rest(Buffer.alloc(0));
    } else {
      try {
        const first = await source.prefix(BUFFERED_BODY);
        body = first.ended ? first.data : source.rest(first.data);
      } catch (err) {
        const e = err as HijackError;
        return { status: failBody(res, e), bytesIn: source.bytes, bytesOut: 0, error: e };
      }
    }
  } else if (s.method === 'POST' || s.method === 'PUT' || s.method === 'PATCH') {
    body = Buffer.alloc(0);
  }
  let bytesOut = 0;
  const checkedBytes = s.checkBody && Buffer.isBuffer(body) ? body.length : 0;
  const bytesIn = () => source?.bytes ?? checkedBytes;

  return new Promise<ForwardOutcome>((resolve) => {
    let status = 0;
    let headMs: number | undefined;
    let abort: ((err?: Error) => void) | undefined;
    let settled = false;
    const settle = (error?: Error) => {
      if (settled) return;
      settled = true;
      res.removeListener('close', onClientClose);
      const out: ForwardOutcome = { status, bytesIn: bytesIn(), bytesOut };
      if (headMs !== undefined) out.headMs = headMs;
      if (error) out.error = error;
      resolve(out);
    };
    const onClientClose = () => {
      if (!res.writableFinished) {
        const err = new HijackError(
          'ERR_SOCKET_CLOSED',
          'the client went away before the answer ended',
        );
        abort?.(err);
        settle(err);
      }
    };
    res.on('close', onClientClose);

    const handler: Dispatcher.DispatchHandler = {
      onConnect(a) {
        abort = a as (err?: Error) => void;
      },
      onHeaders(statusCode, rawHeaders, resume, statusText) {
        if (statusCode < 200) return true; // 1xx: Node sends its own 100 Continue
        status = statusCode;
        headMs = performance.now() - started;
        const flat: string[] = new Array(rawHeaders.length);
        for (let i = 0; i < rawHeaders.length; i++) flat[i] = rawHeaders[i]!.toString('latin1');
        const out = stripHopByHop(flat);
        try {
          res.writeHead(statusCode, statusText || undefined, out);
        } catch (err) {
          abort?.(err as Error);
          return false;
        }
        res.on('drain', resume);
        // Node keeps a head until the first body write. A streaming answer (docker wait,
        // events) may send its head long before any body: flush it unless body bytes
        // follow at once (then head and body leave in one write).
        setImmediate(() => {
          if (bytesOut === 0 && !res.writableEnded && !res.destroyed) res.flushHeaders();
        });
        return true;
      },
      onData(chunk) {
        bytesOut += chunk.length;
        return res.write(chunk);
      },
      onComplete() {
        res.end();
        res.removeAllListeners('drain');
        settle();
      },
      onError(err) {
        res.removeAllListeners('drain');
        if (settled) return;
        const code = (err as { code?: string }).code ?? '';
        let e: Error = err;
        if (source?.failure) {
          // The client's body failed (timeout, too large, malformed, gone): its fault.
          if (res.headersSent) res.destroy();
          else status = failBody(res, source.failure);
          settle(source.failure);
          return;
        }
        if (res.destroyed || req.socket.destroyed) {
          // The client left first: its close, not an upstream failure.
          res.destroy();
          settle(
            new HijackError('ERR_SOCKET_CLOSED', 'the client went away before the answer ended', {
              cause: err,
            }),
          );
          return;
        }
        if (!res.headersSent) {
          if (code === 'UND_ERR_HEADERS_TIMEOUT') {
            status = 504;
            e = new HijackError(
              'ERR_HEAD_TIMEOUT',
              `hijack gateway: the upstream ${s.upstream.url} did not answer within ${s.headTimeout} ms`,
              { cause: err },
            );
          } else if (
            code === 'UND_ERR_SOCKET' ||
            code === 'UND_ERR_BODY_TIMEOUT' ||
            code === 'ECONNRESET' ||
            code === 'EPIPE' ||
            code === 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH'
          ) {
            status = 502;
            e = new HijackError(
              'ERR_UPSTREAM',
              `hijack gateway: the upstream ${s.upstream.url} failed mid-request (${err.message})`,
              { cause: err },
            );
          } else if (code === 'UND_ERR_ABORTED' || req.destroyed) {
            status = 0;
          } else {
            status = 502;
            e = upstreamUnreachable(s.upstream, err);
          }
          if (status) replyError(res, status, e.message, {}, true);
          else res.destroy();
        } else {
          e = new HijackError(
            'ERR_UPSTREAM',
            `hijack gateway: the upstream ${s.upstream.url} failed mid-answer (${err.message})`,
            { cause: err },
          );
          res.destroy(); // the client sees a cut answer, never a truncated one that looks whole
        }
        settle(e);
      },
    };
    try {
      s.pool.dispatch(
        {
          origin: undefined,
          path: s.target,
          method: s.method as Dispatcher.HttpMethod,
          headers,
          body,
          headersTimeout: s.headTimeout,
          bodyTimeout: s.streamTimeout,
        } as Dispatcher.DispatchOptions,
        handler,
      );
    } catch (err) {
      status = 400;
      replyError(
        res,
        400,
        `hijack gateway: the request cannot be forwarded: ${(err as Error).message}`,
        {},
        true,
      );
      settle(err as Error);
    }
  });
}

/**
 * Reads the whole body for `checkBody` and decides on it: the bytes to forward, or the
 * outcome of a refusal (answered here; the connection closes when the body was not read to
 * its end).
 */
async function readChecked(
  req: IncomingMessage,
  res: ServerResponse,
  s: ForwardSettings,
  c: NonNullable<ForwardSettings['checkBody']>,
): Promise<Buffer | ForwardOutcome> {
  let data: Buffer = Buffer.alloc(0);
  let bytes = 0;
  if (s.framing.kind !== 'none') {
    const source = new RequestBody(req, { timeout: s.bodyTimeout, maxBody: s.maxBody });
    if (s.expectContinue) res.writeContinue();
    try {
      const first = await source.prefix(c.limit + 1);
      bytes = source.bytes;
      if (!first.ended || first.data.length > c.limit) {
        const message = `hijack gateway: the request body is over the ${c.limit} bytes the policy reads`;
        replyError(res, 413, message, {}, true);
        return { status: 413, bytesIn: bytes, bytesOut: 0 };
      }
      data = first.data;
    } catch (err) {
      const e = err as HijackError;
      return { status: failBody(res, e), bytesIn: source.bytes, bytesOut: 0, error: e };
    }
  }
  let refusal: DenyDecision | Buffer | undefined;
  try {
    refusal = await c.check(data);
  } catch (err) {
    // A check that asks the upstream (scope owner) and could not: the upstream's failure.
    const e = err as Error;
    replyError(res, 502, e.message, {}, true);
    return { status: 502, bytesIn: bytes, bytesOut: 0, error: e };
  }
  if (refusal === undefined) return data;
  if (Buffer.isBuffer(refusal)) return refusal;
  replyError(res, refusal.status, refusal.message, refusal.headers);
  return { status: refusal.status, bytesIn: bytes, bytesOut: 0, refusal };
}
