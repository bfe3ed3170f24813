/**
 * Ordinary request forwarding over the upstream pool (undici): request and response
 * bodies stream both ways with backpressure, never buffered whole; hop-by-hop fields
 * are dropped both ways; upstream failures become a 502/504 JSON answer while nothing
 * was sent, or a cut connection after.
 *
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Dispatcher, Pool } from 'undici';
import { HijackError } from '../../errors.js';
import { appendForwardedFor, stripHopByHop } from '../../http1/hop-by-hop.js';
import { replyError } from './reply.js';
import { upstreamUnreachable } from './upstream.js';
import type { UpstreamTarget } from './upstream.js';

/** Fields never forwarded upstream besides the hop-by-hop ones (Node answers Expect itself). */
const DROP_REQUEST = new Set(['expect']);

/** What one forwarded request came to. */
export interface ForwardOutcome {
  status: number;
  /** Milliseconds until the upstream's head arrived (undefined if it never did). */
  headMs?: number;
  bytesIn: number;
  bytesOut: number;
  error?: Error;
}

/** Settings of {@link forwardRequest}. */
export interface ForwardSettings {
  pool: Pool;
  upstream: UpstreamTarget;
  target: string;
  headTimeout: number;
  streamTimeout: number;
  forwardedFor?: string;
}

function hasBody(req: IncomingMessage): boolean {
  const cl = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (cl !== undefined && cl !== '0');
}

/** Forwards one ordinary request and streams the answer back. Resolves when done; never rejects. */
export function forwardRequest(
  req: IncomingMessage,
  res: ServerResponse,
  s: ForwardSettings,
): Promise<ForwardOutcome> {
  const started = performance.now();
  const headers = stripHopByHop(req.rawHeaders, DROP_REQUEST);
  if (s.forwardedFor) appendForwardedFor(headers, s.forwardedFor);
  const withBody = hasBody(req);
  let bytesIn = 0;
  let bytesOut = 0;
  // Counted as undici pulls it (a 'data' listener would start the flow too early).
  const body = withBody
    ? (async function* () {
        for await (const chunk of req) {
          bytesIn += (chunk as Buffer).length;
          yield chunk as Buffer;
        }
      })()
    : null;

  return new Promise<ForwardOutcome>((resolve) => {
    let status = 0;
    let headMs: number | undefined;
    let abort: ((err?: Error) => void) | undefined;
    let settled = false;
    const settle = (error?: Error) => {
      if (settled) return;
      settled = true;
      res.removeListener('close', onClientClose);
      const out: ForwardOutcome = { status, bytesIn, bytesOut };
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
          method: req.method as Dispatcher.HttpMethod,
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
