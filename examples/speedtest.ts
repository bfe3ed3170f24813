/**
 * A speed-test endpoint in the spirit of M-Lab's ndt7: the server streams data for a few
 * seconds and, every 250 ms, tells the client what the kernel measured on that very
 * connection (tcpInfo: bytes acked, RTT, min RTT, cwnd, delivery rate, retransmits).
 *
 *   node --import tsx examples/speedtest.ts [--port 8080] [--host 127.0.0.1]
 *   curl -sN 'http://127.0.0.1:8080/download?seconds=5' | grep '^{'
 *
 * GET /download?seconds=N (1–30, default 5) answers a stream of lines: lines that start
 * with `{` are measurements (JSON), every other line is filler data. The first line on
 * stdout is `{"listening":"http://host:port"}`.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { parseArgs } from 'node:util';
import { bbrInfo, tcpInfo } from '../src/index.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '8080' },
    host: { type: 'string', default: '127.0.0.1' },
  },
});

const SAMPLE_MS = 250;
const filler = Buffer.from(('x'.repeat(1023) + '\n').repeat(64)); // 64 KiB of filler lines

/** One measurement line: what the kernel knows about the connection right now. */
function measure(socket: Socket, start: number, written: number): string {
  const info = tcpInfo(socket);
  const bbr = bbrInfo(socket);
  return (
    JSON.stringify({
      elapsedMs: Date.now() - start,
      written, // bytes handed to the socket
      bytesAcked: info.bytesAcked, // bytes the client's kernel acknowledged
      rttUs: info.rtt,
      minRttUs: info.minRtt,
      cwnd: info.sndCwnd, // segments
      deliveryRate: info.deliveryRate, // bytes/s
      retransmits: info.totalRetrans,
      ...(bbr ? { bbrBandwidth: bbr.bandwidth, bbrMinRttUs: bbr.minRtt } : {}),
    }) + '\n'
  );
}

function download(req: http.IncomingMessage, res: http.ServerResponse, seconds: number): void {
  const socket = req.socket;
  const start = Date.now();
  let written = 0;
  let done = false;
  res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
  const pump = () => {
    while (!done && res.write(filler)) written += filler.length;
    if (!done) written += filler.length; // the write that returned false was still queued
  };
  const sampler = setInterval(() => res.write(measure(socket, start, written)), SAMPLE_MS);
  const stop = () => {
    done = true;
    clearInterval(sampler);
  };
  setTimeout(() => {
    if (res.destroyed) return;
    stop();
    res.end(measure(socket, start, written));
  }, seconds * 1000);
  res.on('drain', pump);
  res.on('close', stop);
  pump();
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://x');
  if (req.method !== 'GET' || url.pathname !== '/download') {
    res.writeHead(404).end('try GET /download?seconds=5\n');
    return;
  }
  const seconds = Number(url.searchParams.get('seconds') ?? 5);
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > 30) {
    res.writeHead(400).end('seconds must be an integer from 1 to 30\n');
    return;
  }
  download(req, res, seconds);
});

server.listen(Number(values.port), values.host, () => {
  const { address, port } = server.address() as AddressInfo;
  console.log(JSON.stringify({ listening: `http://${address}:${port}` }));
});
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    server.closeAllConnections();
    server.close(() => process.exit(0));
  });
}
