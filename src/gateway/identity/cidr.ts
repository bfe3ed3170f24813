/**
 * CIDR allowlists for IPv4 and IPv6; IPv4-mapped IPv6 addresses (`::ffff:1.2.3.4`) are
 * folded to IPv4 on both sides, so `127.0.0.0/8` matches a dual-stack listener's peers.
 *
 * @module
 */
import { isIPv4, isIPv6 } from 'node:net';
import { HijackError } from '../../errors.js';

/** A parsed CIDR block. */
export interface Cidr {
  /** 4 or 16 bytes. */
  bytes: Uint8Array;
  prefix: number;
  /** As written, for messages. */
  text: string;
}

function v4Bytes(s: string): Uint8Array {
  return Uint8Array.from(s.split('.').map((p) => Number(p)));
}

function v6Bytes(s: string): Uint8Array {
  let text = s;
  const zone = text.indexOf('%');
  if (zone >= 0) text = text.slice(0, zone);
  let tail: number[] = [];
  const lastColon = text.lastIndexOf(':');
  const lastPart = text.slice(lastColon + 1);
  if (lastPart.includes('.')) {
    const b = v4Bytes(lastPart);
    tail = [(b[0]! << 8) | b[1]!, (b[2]! << 8) | b[3]!];
    text = text.slice(0, lastColon + 1) + '0:0';
  }
  const [head, rest] = text.includes('::')
    ? (text.split('::') as [string, string])
    : [text, undefined];
  const h = head === '' ? [] : head.split(':').map((x) => parseInt(x, 16));
  const r = rest === undefined || rest === '' ? [] : rest.split(':').map((x) => parseInt(x, 16));
  const words =
    rest === undefined ? h : [...h, ...new Array<number>(8 - h.length - r.length).fill(0), ...r];
  if (tail.length) {
    words[6] = tail[0]!;
    words[7] = tail[1]!;
  }
  const out = new Uint8Array(16);
  words.forEach((w, i) => {
    out[i * 2] = w >> 8;
    out[i * 2 + 1] = w & 0xff;
  });
  return out;
}

/** Address bytes (4 or 16), IPv4-mapped IPv6 folded to 4 bytes; undefined if not an IP. */
export function addressBytes(address: string): Uint8Array | undefined {
  if (isIPv4(address)) return v4Bytes(address);
  if (!isIPv6(address)) return undefined;
  const b = v6Bytes(address);
  if (b.slice(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff) return b.slice(12);
  return b;
}

/** Fold an IPv4-mapped IPv6 address to IPv4 text; other addresses are returned unchanged. */
export function foldMappedAddress(address: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return m && isIPv4(m[1]!) ? m[1]! : address;
}

/**
 * Parse `addr/prefix` (or a bare address: a /32 or /128), throwing HijackError ERR_CONFIG
 * with a message that says what is wrong.
 */
export function parseCidr(text: string): Cidr {
  const slash = text.indexOf('/');
  const addr = slash < 0 ? text : text.slice(0, slash);
  const bytes = addressBytes(addr.trim());
  if (!bytes)
    throw new HijackError(
      'ERR_CONFIG',
      `CIDR '${text}' does not start with an IPv4 or IPv6 address`,
    );
  let prefix = bytes.length * 8;
  if (slash >= 0) {
    const p = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(p))
      throw new HijackError('ERR_CONFIG', `CIDR '${text}' has an invalid prefix length`);
    prefix = Number(p);
    // an IPv4-mapped IPv6 block (::ffff:a.b.c.d/104) folds to an IPv4 block
    if (bytes.length === 4 && isIPv6(addr.trim())) prefix -= 96;
    if (prefix < 0 || prefix > bytes.length * 8) {
      throw new HijackError(
        'ERR_CONFIG',
        `CIDR '${text}' has a prefix length out of range (0-${bytes.length * 8})`,
      );
    }
  }
  return { bytes, prefix, text };
}

/** True when `address` (IPv4, IPv6 or IPv4-mapped IPv6) falls in `cidr`. */
export function cidrContains(cidr: Cidr, address: string): boolean {
  const b = addressBytes(address);
  if (!b || b.length !== cidr.bytes.length) return false;
  let bits = cidr.prefix;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((b[i]! & mask) !== (cidr.bytes[i]! & mask)) return false;
  }
  return true;
}

/** True when `address` falls in any of the blocks. */
export function anyCidrContains(cidrs: Cidr[], address: string | undefined): boolean {
  return address !== undefined && cidrs.some((c) => cidrContains(c, address));
}
