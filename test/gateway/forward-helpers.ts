/**
 * Helpers for the gateway's forwarding tests: a scripted raw HTTP upstream on a unix
 * socket, a gateway in front of it, and a raw client.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGateway, parseRule } from '../../src/gateway/index.js';
import type { CreateGatewayOptions, Gateway } from '../../src/gateway/index.js';

/** A request as the raw upstream saw it. */
export interface SeenRequest {
  method: string;
  target: string;
  headers: Record<string, string>;
  rawHead: string;
}

/** Scripted upstream: `handle` gets the socket, the parsed head and the bytes behind it. */
export type RawHandler = (sock: net.Socket, req: SeenRequest, rest: Buffer) => void;

/** A raw upstream listening on a unix socket in a fresh temp dir. */
export async function rawUpstream(handle: RawHandler): Promise<{
  path: string;
  dir: string;
  seen: SeenRequest[];
  sockets: Set<net.Socket>;
  close(): Promise<void>;
}> {
  const dir = mkdtempSync(join(tmpdir(), 'gw-'));
  const path = join(dir, 'up.sock');
  const seen: SeenRequest[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => {});
    let buf = Buffer.alloc(0);
    const onData = (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      sock.removeListener('data', onData);
      sock.pause();
      const rawHead = buf.subarray(0, end).toString('latin1');
      const [line, ...lines] = rawHead.split('\r\n');
      const [method, target] = line!.split(' ');
      const headers: Record<string, string> = {};
      for (const l of lines) {
        const i = l.indexOf(':');
        headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
      }
      const req = { method: method!, target: target!, headers, rawHead };
      seen.push(req);
      handle(sock, req, buf.subarray(end + 4));
    };
    sock.on('data', onData);
  });
  await new Promise<void>((r) => server.listen(path, r));
  return {
    path,
    dir,
    seen,
    sockets,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => {
          rmSync(dir, { recursive: true, force: true });
          r();
        });
      }),
  };
}

/** Reads from `sock` until `pred(all bytes)` holds or the socket ends; bounded by `ms`. */
export function readUntil(
  sock: net.Socket,
  pred: (b: Buffer) => boolean,
  ms = 5000,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`timeout; got ${JSON.stringify(buf.toString('latin1').slice(0, 300))}`));
    }, ms);
    const cleanup = () => {
      clearTimeout(timer);
      sock.removeListener('data', onData);
      sock.removeListener('end', onEnd);
    };
    const onData = (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      if (pred(buf)) {
        cleanup();
        resolve(buf);
      }
    };
    const onEnd = () => {
      cleanup();
      resolve(buf);
    };
    sock.on('data', onData);
    sock.on('end', onEnd);
    sock.resume();
    // Ended while nobody listened (between two reads): nothing more will come.
    if (sock.readableEnded || sock.destroyed) onEnd();
  });
}

/** Reads everything until the peer ends. */
export const readAll = (sock: net.Socket, ms = 5000) => readUntil(sock, () => false, ms);

/** Opens a raw TCP client to the gateway. */
export function dial(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

/** A gateway on 127.0.0.1:0 in front of `upstreamPath`, allowing `rules` (rule texts). */
export async function startGateway(
  upstreamPath: string,
  rules: string[],
  extra: CreateGatewayOptions = {},
): Promise<{ gw: Gateway; port: number }> {
  const gw = createGateway({
    listen: [{ kind: 'tcp', host: '127.0.0.1', port: 0 }],
    upstream: `unix://${upstreamPath}`,
    policy: { rules: rules.map((r) => parseRule(r, 'allow', 'test')) },
    ...extra,
  });
  const [addr] = await gw.listen();
  return { gw, port: addr!.port! };
}
