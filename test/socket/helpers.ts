/** Shared pieces of the socket tests: connected pairs over loopback, TLS, unix sockets, ss. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';

const fixtures = new URL('./fixtures/', import.meta.url).pathname;
export const tlsKey = readFileSync(join(fixtures, 'key.pem'));
export const tlsCert = readFileSync(join(fixtures, 'cert.pem'));

/** Two ends of one connection and a close() that tears everything down. */
export interface Pair<S extends net.Socket = net.Socket> {
  client: S;
  server: S;
  close(): Promise<void>;
}

function closeServer(srv: net.Server): Promise<void> {
  return new Promise((resolve) => srv.close(() => resolve()));
}

/**
 * Listens `srv` on `where`, dials it with `dial(address)` and resolves once both ends are
 * ready (`ready` on the client, `accept` on the server); close() also runs `cleanup`.
 */
async function connected<S extends net.Socket>(
  srv: net.Server,
  where: { port: 0; host: string } | { path: string },
  accept: 'connection' | 'secureConnection',
  dial: (address: net.AddressInfo | string) => Promise<S> | S,
  ready: 'connect' | 'secureConnect',
  cleanup: () => void = () => {},
): Promise<Pair<S>> {
  await new Promise<void>((r) => srv.listen(where, r));
  const accepted = new Promise<S>((r) => srv.once(accept, r));
  const client = await dial(srv.address() as net.AddressInfo | string);
  await new Promise<void>((r, j) => client.once(ready, r).once('error', j));
  const server = await accepted;
  return {
    client,
    server,
    async close() {
      client.destroy();
      server.destroy();
      await closeServer(srv);
      cleanup();
    },
  };
}

/** A TCP connection over 127.0.0.1 (both ends in this process). */
export function tcpPair(): Promise<Pair> {
  return connected(
    net.createServer(),
    { port: 0, host: '127.0.0.1' },
    'connection',
    (a) => net.connect((a as net.AddressInfo).port, '127.0.0.1'),
    'connect',
  );
}

/** A TLS connection over 127.0.0.1: tls.Server on one end, tls.connect on the other. */
export function tlsPair(opts: { wrapExisting?: boolean } = {}): Promise<Pair<tls.TLSSocket>> {
  let plain: net.Socket | undefined;
  return connected(
    tls.createServer({ key: tlsKey, cert: tlsCert }),
    { port: 0, host: '127.0.0.1' },
    'secureConnection',
    async (a) => {
      const port = (a as net.AddressInfo).port;
      if (opts.wrapExisting) {
        plain = net.connect(port, '127.0.0.1');
        await new Promise<void>((r, j) => plain!.once('connect', r).once('error', j));
      }
      return tls.connect({
        ...(plain ? { socket: plain } : { port, host: '127.0.0.1' }),
        ca: tlsCert,
        servername: 'localhost',
      });
    },
    'secureConnect',
    () => plain?.destroy(),
  );
}

/** A unix-domain connection in a fresh temp dir. */
export function unixPair(): Promise<Pair> {
  const dir = mkdtempSync(join(tmpdir(), 'hj-sock-'));
  const path = join(dir, 's.sock');
  return connected(
    net.createServer(),
    { path },
    'connection',
    () => net.connect(path),
    'connect',
    () => rmSync(dir, { recursive: true, force: true }),
  );
}

/** Resolves once `socket` has received `n` bytes in total (counting from the call). */
export function receive(socket: net.Socket, n: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let got = 0;
    const onData = (c: Buffer) => {
      chunks.push(c);
      got += c.length;
      if (got >= n) {
        socket.off('data', onData);
        socket.off('error', reject);
        resolve(Buffer.concat(chunks));
      }
    };
    socket.on('data', onData);
    socket.once('error', reject);
  });
}

/** `ss -tinH` for the one connection from local port `sport` to peer port `dport`, as key → value. */
export function ssInfo(sport: number, dport: number): Map<string, string> {
  const r = spawnSync('ss', ['-tinH', 'src', `127.0.0.1:${sport}`, 'dst', `127.0.0.1:${dport}`], {
    encoding: 'utf8',
    timeout: 5000,
  });
  if (r.status !== 0) throw new Error(`ss failed: ${r.stderr}`);
  const lines = r.stdout.trim().split('\n');
  if (lines.length !== 2) throw new Error(`ss: expected one connection, got:\n${r.stdout}`);
  const out = new Map<string, string>();
  for (const tok of lines[1]!.trim().split(/\s+/)) {
    const i = tok.indexOf(':');
    if (i > 0) out.set(tok.slice(0, i), tok.slice(i + 1));
    else out.set(tok, '');
  }
  return out;
}

/** Sleeps `ms` milliseconds. */
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
