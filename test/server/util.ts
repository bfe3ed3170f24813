/** Small helpers for the server tests: real servers on loopback or unix sockets, raw clients. */
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';

export type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

export interface Listening<S extends net.Server = http.Server> {
  server: S;
  /** Connects a raw client (TCP, TLS or unix as the server listens). */
  connect(): net.Socket;
  close(): Promise<void>;
}

let certs: { key: string; cert: string } | null = null;
/** A self-signed certificate for 127.0.0.1 / localhost, made once per process with openssl. */
export function testCert(): { key: string; cert: string } {
  if (certs) return certs;
  const dir = mkdtempSync(join(tmpdir(), 'hj-cert-'));
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      join(dir, 'k.pem'),
      '-out',
      join(dir, 'c.pem'),
      '-days',
      '2',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
    ],
    { stdio: 'ignore' },
  );
  certs = {
    key: readFileSync(join(dir, 'k.pem'), 'utf8'),
    cert: readFileSync(join(dir, 'c.pem'), 'utf8'),
  };
  rmSync(dir, { recursive: true, force: true });
  return certs;
}

/** Starts `server` on an ephemeral loopback port, or on a unix socket in a temp dir. */
export async function listen<S extends net.Server>(
  server: S,
  opts: { unix?: boolean; tls?: boolean } = {},
): Promise<Listening<S>> {
  let dir: string | null = null;
  let path: string | null = null;
  if (opts.unix) {
    dir = mkdtempSync(join(tmpdir(), 'hj-'));
    path = join(dir, 's.sock');
    await new Promise<void>((r) => server.listen(path!, r));
  } else {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  }
  const port = path ? 0 : (server.address() as net.AddressInfo).port;
  return {
    server,
    connect() {
      if (opts.tls) return tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false });
      const s = path ? net.connect(path) : net.connect(port, '127.0.0.1');
      s.setNoDelay(true);
      return s;
    },
    async close() {
      (server as unknown as http.Server).closeAllConnections?.();
      await new Promise<void>((r) => server.close(() => r()));
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function httpServer(handler: Handler): http.Server {
  return http.createServer(handler);
}

export function httpsServer(handler: Handler): https.Server {
  return https.createServer(testCert(), handler);
}

/** Writes `data` in one write, or in pieces of `piece` bytes with a pause between them. */
export async function send(sock: net.Socket, data: Buffer, piece = 0): Promise<void> {
  if (!piece) {
    sock.write(data);
    return;
  }
  for (let i = 0; i < data.length; i += piece) {
    sock.write(data.subarray(i, i + piece));
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** Everything the socket receives until it closes. */
export function readAll(sock: net.Socket): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    sock.on('data', (c: Buffer) => chunks.push(c));
    sock.on('error', reject);
    sock.on('close', () => resolve(Buffer.concat(chunks)));
  });
}

/** Reads from `sock` until `pred(all)` holds. */
export function readUntil(sock: net.Socket, pred: (all: Buffer) => boolean): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let all = Buffer.alloc(0);
    const onData = (c: Buffer) => {
      all = Buffer.concat([all, c]);
      if (pred(all)) {
        sock.removeListener('data', onData);
        resolve(all);
      }
    };
    sock.on('data', onData);
    sock.once('error', reject);
    sock.once('close', () => resolve(all));
  });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Collects `head` and then the socket's bytes until the peer ends. */
export function collect(head: Buffer, socket: net.Socket): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks = [head];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('end', () => resolve(Buffer.concat(chunks)));
  });
}

/** Decodes a chunked body at the start of `buf`; returns the data and what follows it. */
export function dechunk(buf: Buffer): { data: Buffer; after: Buffer } {
  const parts: Buffer[] = [];
  let i = 0;
  for (;;) {
    const eol = buf.indexOf('\r\n', i);
    if (eol < 0) throw new Error('chunked: no size line at ' + i);
    const size = parseInt(buf.subarray(i, eol).toString('latin1').split(';')[0]!, 16);
    i = eol + 2;
    if (size === 0) {
      // trailers until an empty line
      for (;;) {
        const e = buf.indexOf('\r\n', i);
        if (e < 0) throw new Error('chunked: unterminated trailers');
        const empty = e === i;
        i = e + 2;
        if (empty) return { data: Buffer.concat(parts), after: buf.subarray(i) };
      }
    }
    parts.push(buf.subarray(i, i + size));
    i += size;
    if (buf.subarray(i, i + 2).toString() !== '\r\n')
      throw new Error('chunked: no CRLF after data at ' + i);
    i += 2;
  }
}

export function openFds(): number {
  try {
    return execFileSync('ls', [`/proc/${process.pid}/fd`])
      .toString()
      .trim()
      .split('\n').length;
  } catch {
    return -1;
  }
}
