/**
 * Listening on an endpoint: a server on TCP or a unix socket, the socket's mode and owner
 * set, and stale unix-socket reclaim (a socket file left by a dead process is removed,
 * one a live process accepts connections on is refused, a path that is not a socket is
 * never touched).
 *
 * @module
 */
import { chmodSync, chownSync, lstatSync, unlinkSync } from 'node:fs';
import net from 'node:net';
import { HijackError } from '../errors.js';
import { formatEndpoint, formatHostPort, type Endpoint } from './endpoint.js';

/** Where a server listens, once it does. */
export interface ListenAddress {
  kind: 'tcp' | 'tls' | 'unix';
  /** `tcp://127.0.0.1:2375`, `tls://[::1]:2376`, `unix:///run/gw.sock`: usable as `docker -H`. */
  url: string;
  /** The bound address (tcp, tls), without brackets. */
  host?: string;
  /** The bound port (tcp, tls). */
  port?: number;
  /** The socket path (unix). */
  path?: string;
}

/** True when something accepts connections on the unix socket `path`. */
export function socketAlive(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ path });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/**
 * Makes `path` free for a unix listener: nothing to do when it is absent; a socket file
 * nobody listens on is removed. Rejects with an `EEXIST` error when `path` exists and is
 * not a socket, and with an `EADDRINUSE` error when another process listens there.
 */
export async function reclaimStaleSocket(path: string): Promise<void> {
  let isSocket: boolean;
  try {
    isSocket = lstatSync(path).isSocket();
  } catch {
    return; // absent
  }
  if (!isSocket)
    throw Object.assign(new Error(`${path} exists and is not a socket`), { code: 'EEXIST' });
  if (await socketAlive(path))
    throw Object.assign(new Error(`another process listens on ${path}`), { code: 'EADDRINUSE' });
  try {
    unlinkSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

/**
 * Starts `server` listening on `e`: for a unix socket, a stale socket file is reclaimed
 * first and the mode and owner are set once it listens. Rejects with `ERR_CONFIG`
 * (`cannot listen on <endpoint>[ for <purpose>]: <code>`, the system error as `cause`).
 */
export function listenEndpoint(
  server: net.Server,
  e: Endpoint,
  purpose?: string,
): Promise<ListenAddress> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) =>
      reject(
        new HijackError(
          'ERR_CONFIG',
          `cannot listen on ${formatEndpoint(e)}${purpose ? ` for ${purpose}` : ''}: ${err.code ?? err.message}`,
          { cause: err },
        ),
      );
    server.once('error', onError);
    const ready = () => {
      server.removeListener('error', onError);
      if (e.kind === 'unix') {
        try {
          if (e.mode !== undefined) chmodSync(e.path, e.mode);
          if (e.uid !== undefined || e.gid !== undefined)
            chownSync(e.path, e.uid ?? -1, e.gid ?? -1);
        } catch (err) {
          server.close();
          reject(
            new HijackError(
              'ERR_CONFIG',
              `cannot set mode/owner of ${e.path}: ${(err as Error).message}`,
              { cause: err },
            ),
          );
          return;
        }
        resolve({ kind: 'unix', url: `unix://${e.path}`, path: e.path });
      } else {
        const a = server.address() as net.AddressInfo;
        resolve({
          kind: e.kind,
          url: `${e.kind}://${formatHostPort(a.address, a.port)}`,
          host: a.address,
          port: a.port,
        });
      }
    };
    if (e.kind === 'unix') {
      reclaimStaleSocket(e.path).then(
        () => server.listen(e.path, ready),
        (err: Error) => onError(err as NodeJS.ErrnoException),
      );
    } else server.listen({ host: e.host, port: e.port }, ready);
  });
}
