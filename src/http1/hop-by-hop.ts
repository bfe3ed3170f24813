/**
 * Hop-by-hop header handling (RFC 9110 §7.6.1): the fields that describe one connection
 * and must not be forwarded to the next hop.
 *
 * @module
 */

/** Fields that are always hop-by-hop, lower-cased (Proxy-* is matched by prefix). */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'proxy-connection',
  'proxy-authorization',
  'proxy-authenticate',
]);

/** Lower-cased tokens of every Connection field in `rawHeaders` (`[name, value, …]`). */
export function connectionTokens(rawHeaders: readonly string[]): Set<string> {
  const tokens = new Set<string>();
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (rawHeaders[i]!.toLowerCase() !== 'connection') continue;
    for (const t of rawHeaders[i + 1]!.split(',')) {
      const token = t.trim().toLowerCase();
      if (token) tokens.add(token);
    }
  }
  return tokens;
}

/** True when a field named `lowerName` never crosses a hop. */
export function isHopByHop(lowerName: string): boolean {
  return HOP_BY_HOP.has(lowerName) || lowerName.startsWith('proxy-');
}

/**
 * Copies `rawHeaders` (`[name, value, …]`) without the hop-by-hop fields: Connection and
 * every field it names, Keep-Alive, TE, Trailer, Transfer-Encoding, Upgrade and Proxy-*.
 * Names in `drop` (lower-cased) are left out too. Order and spelling of the rest are kept.
 */
export function stripHopByHop(rawHeaders: readonly string[], drop?: ReadonlySet<string>): string[] {
  const named = connectionTokens(rawHeaders);
  const out: string[] = [];
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    const lower = name.toLowerCase();
    if (isHopByHop(lower) || named.has(lower) || drop?.has(lower)) continue;
    out.push(name, rawHeaders[i + 1]!);
  }
  return out;
}

/**
 * The protocol a request asks to switch to, Go's way: the `Upgrade` field's value, only
 * when `Connection` lists the `upgrade` token; otherwise undefined.
 */
export function upgradeType(rawHeaders: readonly string[]): string | undefined {
  if (!connectionTokens(rawHeaders).has('upgrade')) return undefined;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (rawHeaders[i]!.toLowerCase() === 'upgrade') {
      const v = rawHeaders[i + 1]!.trim();
      return v || undefined;
    }
  }
  return undefined;
}

/** Appends the client address to X-Forwarded-For (RFC 7239's de-facto predecessor). */
export function appendForwardedFor(headers: string[], clientAddress: string): void {
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i]!.toLowerCase() === 'x-forwarded-for') {
      headers[i + 1] = `${headers[i + 1]}, ${clientAddress}`;
      return;
    }
  }
  headers.push('X-Forwarded-For', clientAddress);
}

/** Serialises a head: `startLine` CRLF, each `name: value` CRLF, then CRLF. */
export function serializeHead(startLine: string, rawHeaders: readonly string[]): Buffer {
  let s = startLine + '\r\n';
  for (let i = 0; i < rawHeaders.length; i += 2) {
    s += `${rawHeaders[i]}: ${rawHeaders[i + 1]}\r\n`;
  }
  return Buffer.from(s + '\r\n', 'latin1');
}
