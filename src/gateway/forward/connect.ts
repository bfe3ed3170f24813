/**
 * CONNECT tunnels (forward-proxy mode): dial the `host:port` admission allowed (never a
 * second parse of the request target), take the client
 * connection over, answer `200 Connection Established`, and hand both ends back for the
 * caller to splice; bytes the client sent right behind its CONNECT head go first.
 *
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import net from 'node:net';
import { HijackError } from '../../errors.js';
import { takeClient, type Switched } from './takeover.js';
import { replyError } from './reply.js';

/** What a tunnel came to. */
export interface TunnelOutcome {
  status: number;
  /** Set once the tunnel is open: the two ends, for the caller to splice. */
  switched?: Switched;
  error?: Error;
}

/** Settings of {@link forwardConnect}. */
export interface TunnelSettings {
  connectTimeout: number;
  /** The authority the policy allowed, parsed once by admission: the tunnel goes there. */
  to: { host: string; port: number };
}

/** Opens the tunnel for an allowed CONNECT request; resolves with both ends to splice, or the failure. Never rejects. */
export async function forwardConnect(
  req: IncomingMessage,
  res: ServerResponse,
  s: TunnelSettings,
): Promise<TunnelOutcome> {
  const where = s.to;
  let target: net.Socket;
  try {
    target = await new Promise<net.Socket>((resolve, reject) => {
      const sock = net.connect({ host: where.host, port: where.port });
      const timer =
        s.connectTimeout > 0
          ? setTimeout(() => {
              sock.destroy();
              reject(Object.assign(new Error('connect timeout'), { code: 'ETIMEDOUT' }));
            }, s.connectTimeout)
          : undefined;
      sock.once('connect', () => {
        clearTimeout(timer);
        sock.removeAllListeners('error');
        resolve(sock);
      });
      sock.once('error', (err) => {
        clearTimeout(timer);
        sock.destroy();
        reject(err);
      });
    });
  } catch (err) {
    const e = new HijackError(
      'ERR_UPSTREAM',
      `hijack gateway: cannot open a tunnel to ${req.url} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
      { cause: err },
    );
    replyError(res, 502, e.message, {}, true);
    return { status: 502, error: e };
  }
  const taken = await takeClient(req, res, target);
  if (taken instanceof Error) return { status: 500, error: taken };
  const { socket: client, head } = taken;
  target.setNoDelay(true);
  client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
  return {
    status: 200,
    switched: { client, upstream: target, headAToB: head, headBToA: Buffer.alloc(0) },
  };
}
