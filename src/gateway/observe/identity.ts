/**
 * Compact, JSON-safe views of a client identity for logs and the live page.
 *
 * @module
 */
import type { ClientIdentity } from '../types.js';

/** A client identity as logged and shown: only defined keys, never a secret. */
export interface IdentityView {
  transport: string;
  address?: string;
  port?: number;
  uid?: number;
  gid?: number;
  pid?: number;
  token?: string;
  subject?: string;
  fingerprint?: string;
}

/** Returns the loggable fields of `id` (undefined when the client was not identified). */
export function identityView(id: ClientIdentity | undefined): IdentityView | undefined {
  if (!id) return undefined;
  const v: IdentityView = { transport: id.transport };
  if (id.address !== undefined) v.address = id.address;
  if (id.port !== undefined) v.port = id.port;
  if (id.peer) {
    v.uid = id.peer.uid;
    v.gid = id.peer.gid;
    v.pid = id.peer.pid;
  }
  if (id.token !== undefined) v.token = id.token;
  if (id.cert?.subject !== undefined) v.subject = id.cert.subject;
  if (id.cert) v.fingerprint = id.cert.fingerprint256;
  return v;
}

/** Returns a one-line label for `id`: `token app`, `uid 1000`, `CN client1`, or the address. */
export function identityLabel(id: IdentityView | undefined): string {
  if (!id) return '';
  const parts: string[] = [];
  if (id.token !== undefined) parts.push(`token ${id.token}`);
  if (id.subject !== undefined) parts.push(`CN ${id.subject}`);
  if (id.uid !== undefined) parts.push(`uid ${id.uid}`);
  if (parts.length === 0 && id.address !== undefined) parts.push(id.address);
  return parts.join(', ') || id.transport;
}
