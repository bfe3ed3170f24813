/**
 * A node:http server whose route takes the connection over, behind ordinary middleware.
 *
 *   node --import tsx examples/echo-upgrade.ts [port]
 *   printf 'GET /echo HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer demo\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\nhello\n' \
 *     | socat - TCP:127.0.0.1:PORT
 *
 * GET /echo with `Upgrade: tcp` answers 101 and then echoes every byte upper-cased; the
 * client's half-close is answered with a summary line, then the server closes its side.
 * GET /connections lists the tracker's connections as JSON.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { enableHijack, hijack, trackConnections } from '../src/index.js';

const server = http.createServer((req, res) => {
  // Middleware runs for Upgrade requests too, because enableHijack() routes them here.
  if (req.headers.authorization !== 'Bearer demo') {
    res.writeHead(401, { 'Content-Type': 'text/plain' }).end('send Authorization: Bearer demo\n');
    return;
  }
  if (req.url === '/connections') {
    const list = [...tracker].map((c) => ({
      id: c.id,
      state: c.state,
      requests: c.requests,
      age: c.age,
    }));
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(list) + '\n');
    return;
  }
  if (req.url !== '/echo' || req.headers.upgrade?.toLowerCase() !== 'tcp') {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(101, { Connection: 'Upgrade', Upgrade: 'tcp' });
  hijack(req, res).then(({ socket, head }) => {
    let bytes = 0;
    const echo = (chunk: Buffer) => {
      bytes += chunk.length;
      socket.write(chunk.toString('latin1').toUpperCase(), 'latin1');
    };
    if (head.length) echo(head); // bytes the client sent right behind its request head
    socket.on('data', echo);
    socket.on('end', () => socket.end(`\n-- ${bytes} bytes echoed, bye\n`));
    socket.on('error', () => socket.destroy());
  }, console.error);
});

enableHijack(server);
const tracker = trackConnections(server);

// Go's RegisterOnShutdown: tell the streams we took over that we are going away.
tracker.onShutdown(() => {
  for (const conn of tracker)
    if (conn.state === 'hijacked') conn.socket.end('\n-- server shutting down\n');
});

server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  console.log(`listening on http://127.0.0.1:${port}`);
  console.log(
    `try: printf 'GET /echo HTTP/1.1\\r\\nHost: x\\r\\nAuthorization: Bearer demo\\r\\nConnection: Upgrade\\r\\nUpgrade: tcp\\r\\n\\r\\nhello\\n' | socat - TCP:127.0.0.1:${port}`,
  );
});

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    tracker.shutdown({ timeout: 5000 }).then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}
