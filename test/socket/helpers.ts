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

/** A TCP connection over 127.0.0.1 (both ends in this process). */
export async function tcpPair(): Promise<Pair> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const accepted = new Promise<net.Socket>((r) => srv.once('connection', r));
  const client = net.connect((srv.address() as net.AddressInfo).port, '127.0.0.1');
  await new Promise<void>((r, j) => client.once('connect', r).once('error', j));
  const server = await accepted;
  return {
    client,
    server,
    async close() {
      client.destroy();
      server.destroy();
      await closeServer(srv);
    },
  };
}

/** A TLS connection over 127.0.0.1: tls.Server on one end, tls.connect on the other. */
export async function tlsPair(opts: { wrapExisting?: boolean } = {}): Promise<Pair<tls.TLSSocket>> {
  const srv = tls.createServer({ key: tlsKey, cert: tlsCert });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  const accepted = new Promise<tls.TLSSocket>((r) => srv.once('secureConnection', r));
  let plain: net.Socket | undefined;
  if (opts.wrapExisting) {
    plain = net.connect(port, '127.0.0.1');
    await new Promise<void>((r, j) => plain!.once('connect', r).once('error', j));
  }
  const client = tls.connect({
    ...(plain ? { socket: plain } : { port, host: '127.0.0.1' }),
    ca: tlsCert,
    servername: 'localhost',
  });
  await new Promise<void>((r, j) => client.once('secureConnect', r).once('error', j));
  const server = await accepted;
  return {
    client,
    server,
    async close() {
      client.destroy();
      server.destroy();
      plain?.destroy();
      await closeServer(srv);
    },
  };
}

/** A unix-domain connection in a fresh temp dir. */
export async function unixPair(): Promise<Pair> {
  const dir = mkdtempSync(join(tmpdir(), 'hj-sock-'));
  const path = join(dir, 's.sock');
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(path, r));
  const accepted = new Promise<net.Socket>((r) => srv.once('connection', r));
  const client = net.connect(path);
  await new Promise<void>((r, j) => client.once('connect', r).once('error', j));
  const server = await accepted;
  return {
    client,
    server,
    async close() {
      client.destroy();
      server.destroy();
      await closeServer(srv);
      rmSync(dir, { recursive: true, force: true });
    },
  };
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
