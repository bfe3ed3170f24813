/**
 * tcpInfo on real sockets: it agrees with ss (netlink), byte counters move by exactly what
 * was sent, it works on TLS, upgraded and hijacked sockets, and refuses bad input with its
 * own code.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { test } from 'node:test';
import { isHijackError } from '../../src/errors.js';
import { tcpInfo, tcpStateName, type TcpInfo } from '../../src/socket/index.js';
import { requirePeer } from '../helpers/peers.js';
import { receive, sleep, ssInfo, tcpPair, tlsPair, unixPair } from './helpers.js';

/** Waits (bounded) until the sender's bytesAcked covers everything it sent. */
async function settle(sock: net.Socket): Promise<TcpInfo> {
  let info = tcpInfo(sock);
  for (let i = 0; i < 100 && (info.unacked !== 0 || info.notsentBytes !== 0); i++) {
    await sleep(10);
    info = tcpInfo(sock);
  }
  return info;
}

/** Asserts `ss` agrees with tcpInfo read just before and just after it. */
function crossCheck(sock: net.Socket, label: string): void {
  const before = tcpInfo(sock);
  const ss = ssInfo(sock.localPort!, sock.remotePort!);
  const after = tcpInfo(sock);
  const num = (k: string) => {
    const v = ss.get(k);
    assert.ok(v !== undefined, `${label}: ss printed no ${k}: ${[...ss.keys()].join(' ')}`);
    return Number(v);
  };
  const between = (k: string, ssValue: number, a: number, b: number, slack = 0) =>
    assert.ok(
      ssValue >= Math.min(a, b) - slack && ssValue <= Math.max(a, b) + slack,
      `${label}: ${k} ss=${ssValue} tcpInfo=${a}..${b}`,
    );
  // Exact: fixed at the handshake.
  assert.equal(ss.get('wscale'), `${after.sndWscale},${after.rcvWscale}`, `${label}: wscale`);
  assert.equal(num('mss'), after.sndMss, `${label}: mss`);
  assert.equal(num('advmss'), after.advmss, `${label}: advmss`);
  assert.equal(num('rcvmss'), after.rcvMss, `${label}: rcvmss`);
  assert.equal(num('pmtu'), after.pmtu, `${label}: pmtu`);
  // Consistent: they only change with traffic, and ss ran between our two reads.
  between('cwnd', num('cwnd'), before.sndCwnd, after.sndCwnd);
  const [rtt, rttvar] = ss
    .get('rtt')!
    .split('/')
    .map((x) => Math.round(Number(x) * 1000));
  between('rtt', rtt!, before.rtt, after.rtt, 1);
  between('rttvar', rttvar!, before.rttvar, after.rttvar, 1);
  between('minrtt', Math.round(num('minrtt') * 1000), before.minRtt!, after.minRtt!, 1);
  for (const [k, f] of [
    ['bytes_sent', 'bytesSent'],
    ['bytes_acked', 'bytesAcked'],
    ['bytes_received', 'bytesReceived'],
    ['segs_out', 'segsOut'],
    ['segs_in', 'segsIn'],
  ] as const) {
    // ss leaves a zero counter out.
    const v = ss.has(k) ? num(k) : 0;
    between(k, v, before[f]!, after[f]!);
  }
}

test(
  'tcpInfo agrees with ss -tin (netlink) on both ends of a loopback connection',
  { timeout: 15000 },
  async (t) => {
    if (!requirePeer(t, 'ss', 'iproute2')) return;
    const p = await tcpPair();
    try {
      const got = receive(p.server, 200_000);
      p.client.write(Buffer.alloc(200_000, 1));
      await got;
      const back = receive(p.client, 50_000);
      p.server.write(Buffer.alloc(50_000, 2));
      await back;
      await settle(p.client);
      await settle(p.server);
      crossCheck(p.client, 'client');
      crossCheck(p.server, 'server');
      const c = tcpInfo(p.client);
      assert.equal(tcpStateName(c.state), 'ESTABLISHED');
      assert.ok(c.rtt > 0 && c.sndCwnd > 0 && c.sndMss > 0);
    } finally {
      await p.close();
    }
  },
);

test(
  'tcpInfo byte counters move by exactly the bytes the test sent',
  { timeout: 15000 },
  async () => {
    const p = await tcpPair();
    try {
      // Warm up, then measure one transfer.
      const warm = receive(p.server, 10);
      p.client.write(Buffer.alloc(10));
      await warm;
      const c0 = await settle(p.client);
      const s0 = tcpInfo(p.server);
      const n = 300_000;
      const got = receive(p.server, n);
      p.client.write(Buffer.alloc(n, 7));
      await got;
      const c1 = await settle(p.client);
      const s1 = tcpInfo(p.server);
      assert.equal(s1.bytesReceived! - s0.bytesReceived!, n);
      assert.equal(c1.bytesAcked! - c0.bytesAcked!, n);
      assert.equal(c1.bytesSent! - c0.bytesSent! - (c1.bytesRetrans! - c0.bytesRetrans!), n);
      assert.ok(c1.dataSegsOut! > c0.dataSegsOut!);
      assert.ok(s1.dataSegsIn! > s0.dataSegsIn!);
      // Nothing moved the other way.
      assert.equal(c1.bytesReceived, c0.bytesReceived);
    } finally {
      await p.close();
    }
  },
);

test(
  'tcpInfo works on TLS sockets: tls.connect, tls.Server, and TLS over an existing socket',
  { timeout: 15000 },
  async (t) => {
    for (const wrapExisting of [false, true]) {
      const p = await tlsPair({ wrapExisting });
      try {
        const msg = Buffer.alloc(20_000, 3);
        const got = receive(p.server, msg.length);
        p.client.write(msg);
        await got;
        const c = await settle(p.client);
        const s = tcpInfo(p.server);
        assert.equal(tcpStateName(c.state), 'ESTABLISHED');
        assert.equal(tcpStateName(s.state), 'ESTABLISHED');
        // The same connection seen from both ends: what one had acked, the other received
        // (bytes_acked also counts the SYN's one sequence number).
        assert.equal(c.bytesAcked! - 1, s.bytesReceived, `wrapExisting=${wrapExisting}`);
        // TLS records carry more than the application bytes (handshake, headers, tags).
        assert.ok(s.bytesReceived! > msg.length);
        if (requirePeer(t, 'ss', 'iproute2')) {
          const ss = ssInfo(p.client.localPort!, p.client.remotePort!);
          assert.equal(Number(ss.get('mss')), c.sndMss);
        }
      } finally {
        await p.close();
      }
    }
  },
);

test(
  'tcpInfo works on the socket of an HTTP upgrade and of hijack() when present',
  { timeout: 15000 },
  async () => {
    const server = http.createServer();
    const serverMod = (await import('../../src/server/index.js')) as Record<string, unknown>;
    const hijack = serverMod.hijack as
      ((req: http.IncomingMessage, res: http.ServerResponse) => unknown) | undefined;
    const seen: TcpInfo[] = [];
    server.on('upgrade', (req, socket: net.Socket) => {
      seen.push(tcpInfo(socket));
      socket.end('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: x\r\n\r\n');
    });
    server.on('request', async (req, res) => {
      if (typeof hijack !== 'function') return res.end('no hijack yet');
      const { socket } = (await hijack(req, res)) as { socket: net.Socket };
      seen.push(tcpInfo(socket));
      socket.end('HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    const ask = (head: string) =>
      new Promise<void>((resolve, reject) => {
        const s = net.connect(port, '127.0.0.1', () => s.write(head));
        s.resume().on('end', resolve).on('error', reject);
      });
    try {
      await ask('GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: x\r\n\r\n');
      await ask('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      assert.equal(seen.length, typeof hijack === 'function' ? 2 : 1);
      for (const info of seen) assert.equal(tcpStateName(info.state), 'ESTABLISHED');
    } finally {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  },
);

test(
  'tcpInfo refuses bad input with its own code, never a crash or a zero',
  { timeout: 15000 },
  async () => {
    const code = (c: string) => (e: unknown) => isHijackError(e, c as never);
    for (const v of [undefined, null, 42, 'socket', {}, { _handle: { fd: 1 } }]) {
      assert.throws(() => tcpInfo(v as never), code('ERR_NOT_A_SOCKET'));
    }
    // A net.Socket that was never connected has no descriptor.
    assert.throws(() => tcpInfo(new net.Socket()), code('ERR_SOCKET_CLOSED'));
    const p = await tcpPair();
    p.client.destroy();
    assert.throws(() => tcpInfo(p.client), code('ERR_SOCKET_CLOSED'));
    await p.close();
    const u = await unixPair();
    try {
      assert.throws(() => tcpInfo(u.client), code('ERR_NOT_TCP'));
      assert.throws(() => tcpInfo(u.server), code('ERR_NOT_TCP'));
    } finally {
      await u.close();
    }
  },
);
