/**
 * Reading a client connection's facts: address, unix peer credentials, TLS certificate.
 *
 * @module
 */
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { peerCred } from '../../socket/index.js';
import type { ClientTransport, ConnectionFacts } from '../types.js';
import { foldMappedAddress } from './cidr.js';

/**
 * Read what is known about a client connection. `transport` is the listener's kind (pass
 * it: it is how the gateway knows, not a guess from the socket). For unix sockets the peer's
 * pid/uid/gid come from {@link peerCred}; when that fails (no native part) `peer` is absent
 * and any uid/gid allowlist refuses the client.
 */
export function connectionFacts(socket: Socket, transport?: ClientTransport): ConnectionFacts {
  const kind: ClientTransport =
    transport ??
    ((socket as TLSSocket).encrypted ? 'tls' : socket.remoteAddress === undefined ? 'unix' : 'tcp');
  if (kind === 'unix') {
    try {
      return { transport: 'unix', peer: peerCred(socket) };
    } catch {
      return { transport: 'unix' };
    }
  }
  const facts: ConnectionFacts = { transport: kind };
  if (socket.remoteAddress !== undefined) facts.address = foldMappedAddress(socket.remoteAddress);
  if (socket.remotePort !== undefined) facts.port = socket.remotePort;
  if (kind === 'tls') {
    const tls = socket as TLSSocket;
    const cert =
      typeof tls.getPeerCertificate === 'function' ? tls.getPeerCertificate() : undefined;
    if (cert && cert.fingerprint256) {
      const cn = cert.subject?.CN;
      facts.cert = {
        ...(cn !== undefined ? { subject: Array.isArray(cn) ? cn.join(',') : cn } : {}),
        fingerprint256: cert.fingerprint256,
        authorized: tls.authorized === true,
      };
    }
  }
  return facts;
}
