/**
 * Request-target normalisation: turns a raw `req.url` into the one path the policy
 * matches, or refuses it when any reading of it could differ between the gateway and the
 * upstream (percent-encoded separators, dot segments, empty segments, control bytes …).
 *
 * @module
 */

/** The default limit on the request target, in bytes; longer targets get 414. */
export const DEFAULT_MAX_TARGET_LENGTH = 4096;

/** A target the policy can match. */
export interface NormalizedTarget {
  ok: true;
  /** Decoded path, API version prefix kept: `/v1.41/containers/my_app-1/json`. */
  path: string;
  /** Decoded path with the `/vX.Y` prefix folded away: `/containers/my_app-1/json`. */
  folded: string;
  /** Segments of `folded` (empty for `/`). */
  segments: string[];
  /** The version without `v` (`1.41`), when the target had a prefix. */
  apiVersion?: string;
  /** The raw query after `?` (without it); '' when absent or empty. */
  query: string;
  /** Decoded query parameters, Go's url.ParseQuery reading (`+` is a space). */
  params: Map<string, string[]>;
  /** What to forward: `path` plus `?query` when the target had a query. */
  target: string;
}

/** A target refused before any rule is looked at. */
export interface RefusedTarget {
  ok: false;
  status: 400 | 414;
  /** Why, for the user: completes "the request target …". */
  why: string;
}

const HEX = /^[0-9A-Fa-f]{2}$/;
// Raw characters accepted in a path: RFC 3986 pchar minus ';' (matrix parameters are read
// differently by different servers), plus '/' and '%' (checked separately).
const PATH_RAW = /^[A-Za-z0-9\-._~!$&'()*+,=:@/%]$/;
// Characters a percent-escape in the path may decode to: safe, not structural.
const PATH_DECODABLE = /^[A-Za-z0-9\-_~!$&'()*+,=:@]$/;
// A path made only of PATH_RAW characters other than '%': nothing to decode.
const PATH_PLAIN = /^[A-Za-z0-9\-._~!$&'()*+,=:@/]*$/;
const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//;
const VERSION_LIKE = /^v[0-9.]+$/;
const VERSION = /^v([0-9]+\.[0-9]+)$/;

function refuse(status: 400 | 414, why: string): RefusedTarget {
  return { ok: false, status, why };
}

function describeByte(code: number): string {
  return `0x${code.toString(16).padStart(2, '0')}`;
}

/**
 * Normalise a raw request target, or say why it is refused.
 * 414 when longer than `maxLength` bytes; 400 for anything not a plain origin-form path or
 * whose meaning could differ between readers. Container names such as `my_app-1` pass.
 */
export function normalizeTarget(
  url: string,
  maxLength = DEFAULT_MAX_TARGET_LENGTH,
): NormalizedTarget | RefusedTarget {
  if (Buffer.byteLength(url, 'latin1') > maxLength || url.length > maxLength) {
    return refuse(414, `is longer than ${maxLength} bytes`);
  }
  if (url === '*') return refuse(400, 'is asterisk-form (*), which the gateway does not serve');
  if (SCHEME.test(url))
    return refuse(400, 'is absolute-form (scheme://host/…); send an origin-form path');
  if (!url.startsWith('/')) return refuse(400, 'does not start with /');
  for (let i = 0; i < url.length; i++) {
    const c = url.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return refuse(400, `contains the control byte ${describeByte(c)}`);
    if (c > 0x7e) return refuse(400, `contains the non-ASCII byte ${describeByte(c & 0xff)}`);
    if (c === 0x20) return refuse(400, 'contains a space');
    if (c === 0x5c) return refuse(400, 'contains a backslash');
    if (c === 0x23) return refuse(400, 'contains a fragment (#)');
  }
  const q = url.indexOf('?');
  const rawPath = q < 0 ? url : url.slice(0, q);
  const query = q < 0 ? '' : url.slice(q + 1);

  // Decode the path, refusing every escape that could change its structure. The usual
  // path has no escape and nothing to refuse: one test, no decoding.
  let path = PATH_PLAIN.test(rawPath) ? rawPath : '';
  for (let i = path.length; i < rawPath.length; i++) {
    const ch = rawPath[i]!;
    if (!PATH_RAW.test(ch)) return refuse(400, `contains '${ch}' in its path`);
    if (ch !== '%') {
      path += ch;
      continue;
    }
    const hex = rawPath.slice(i + 1, i + 3);
    if (!HEX.test(hex)) return refuse(400, 'has a malformed percent-escape in its path');
    const decoded = String.fromCharCode(parseInt(hex, 16));
    if (!PATH_DECODABLE.test(decoded)) {
      return refuse(400, `has an encoded ${describeEscape(hex)} (%${hex}) in its path`);
    }
    path += decoded;
    i += 2;
  }

  let segments = path === '/' ? [] : path.slice(1).split('/');
  for (const s of segments) {
    if (s === '') return refuse(400, 'has an empty path segment (// or a trailing /)');
    if (s === '.' || s === '..') return refuse(400, `has a dot segment (/${s}/)`);
  }
  let apiVersion: string | undefined;
  if (segments.length > 0 && VERSION_LIKE.test(segments[0]!)) {
    const m = VERSION.exec(segments[0]!);
    if (!m) return refuse(400, `has a malformed API version prefix /${segments[0]}`);
    apiVersion = m[1];
    segments = segments.slice(1);
    if (segments.length > 0 && VERSION_LIKE.test(segments[0]!)) {
      return refuse(400, 'has two API version prefixes');
    }
  }

  const params = parseQuery(query);
  if (typeof params === 'string') return refuse(400, params);
  return {
    ok: true,
    path,
    folded: '/' + segments.join('/'),
    segments,
    ...(apiVersion !== undefined ? { apiVersion } : {}),
    query,
    params,
    target: q < 0 ? path : `${path}?${query}`,
  };
}

function describeEscape(hex: string): string {
  const c = parseInt(hex, 16);
  switch (c) {
    case 0x2f:
      return 'slash';
    case 0x5c:
      return 'backslash';
    case 0x2e:
      return 'dot';
    case 0x25:
      return 'percent sign (double encoding)';
    case 0x00:
      return 'NUL';
    default:
      if (c < 0x20 || c === 0x7f) return 'control byte';
      if (c > 0x7f) return 'non-ASCII byte';
      return `'${String.fromCharCode(c)}'`;
  }
}

/**
 * Parse a raw query the way Go's url.ParseQuery does (dockerd is written in Go), but refuse
 * what Go would silently drop (malformed escapes, ';'), so both sides see the same values.
 * Returns the parameters, or a reason string.
 */
export function parseQuery(query: string): Map<string, string[]> | string {
  const params = new Map<string, string[]>();
  if (query === '') return params;
  if (query.includes(';')) return "has a ';' in its query (Go servers drop such parameters)";
  for (const part of query.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const k = unescapeQuery(eq < 0 ? part : part.slice(0, eq));
    const v = unescapeQuery(eq < 0 ? '' : part.slice(eq + 1));
    if (k === undefined || v === undefined) return 'has a malformed percent-escape in its query';
    const list = params.get(k);
    if (list) list.push(v);
    else params.set(k, [v]);
  }
  return params;
}

function unescapeQuery(s: string): string | undefined {
  if (!s.includes('%')) return s.replaceAll('+', ' ');
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    if (ch === '%') {
      const hex = s.slice(i + 1, i + 3);
      if (!HEX.test(hex)) return undefined;
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else if (ch === '+') bytes.push(0x20);
    else bytes.push(s.charCodeAt(i));
  }
  // Go keeps invalid UTF-8 as bytes; a JS string cannot: refuse what could read otherwise.
  try {
    return STRICT_UTF8.decode(Uint8Array.from(bytes));
  } catch {
    return undefined;
  }
}

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
