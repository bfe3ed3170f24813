/**
 * Go's text rules that dockerd applies to query values (strings.TrimSpace,
 * httputils.BoolValue, BoolValueOrDefault, Int64ValueOrZero), reproduced exactly so the
 * gateway decides on the value dockerd will act on. Checked code point by code point
 * against Go in test/gateway/go-text.test.ts.
 */

/** goIsSpace reports whether cp is a space per Go's unicode.IsSpace (Unicode White_Space plus U+0085, U+00A0). */
export function goIsSpace(cp: number): boolean {
  if (cp <= 0xff) {
    return cp === 0x20 || (cp >= 0x09 && cp <= 0x0d) || cp === 0x85 || cp === 0xa0;
  }
  return (
    cp === 0x1680 ||
    (cp >= 0x2000 && cp <= 0x200a) ||
    cp === 0x2028 ||
    cp === 0x2029 ||
    cp === 0x202f ||
    cp === 0x205f ||
    cp === 0x3000
  );
}

/** Length of the UTF-8 encoding of a Go space starting at b[i], or 0 if none starts there. */
function spaceAt(b: Uint8Array, i: number): number {
  const c = b[i];
  if (c === undefined) return 0;
  if (c < 0x80) return goIsSpace(c) ? 1 : 0;
  if (c === 0xc2) {
    const d = b[i + 1];
    return d === 0x85 || d === 0xa0 ? 2 : 0;
  }
  if (c === 0xe1 || c === 0xe2 || c === 0xe3) {
    const d = b[i + 1];
    const e = b[i + 2];
    if (d === undefined || e === undefined) return 0;
    if ((d & 0xc0) !== 0x80 || (e & 0xc0) !== 0x80) return 0;
    const cp = ((c & 0x0f) << 12) | ((d & 0x3f) << 6) | (e & 0x3f);
    return goIsSpace(cp) ? 3 : 0;
  }
  return 0;
}

/** Length of the UTF-8 encoding of a Go space ending just before b[end], or 0 if none ends there. */
function spaceBefore(b: Uint8Array, start: number, end: number): number {
  for (const n of [1, 2, 3]) {
    if (end - n < start) return 0;
    if (spaceAt(b, end - n) === n) return n;
  }
  return 0;
}

/**
 * goTrimSpaceBytes returns the subarray of b that Go's strings.TrimSpace returns for the
 * same bytes. Invalid UTF-8 is never a space, so trimming stops at it, as in Go.
 */
export function goTrimSpaceBytes(b: Uint8Array): Uint8Array {
  let start = 0;
  let end = b.length;
  for (let n = spaceAt(b, start); n > 0 && start < end; n = spaceAt(b, start)) start += n;
  for (let n = spaceBefore(b, start, end); n > 0; n = spaceBefore(b, start, end)) end -= n;
  return b.subarray(start, end);
}

/**
 * goTrimSpace returns s without the leading and trailing code points goIsSpace accepts:
 * Go's strings.TrimSpace on the UTF-8 form of s. A lone surrogate (which becomes U+FFFD
 * in UTF-8) is not a space. Unlike String.prototype.trim, U+FEFF stays and U+0085 goes.
 */
export function goTrimSpace(s: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && goIsSpace(s.charCodeAt(start))) start++;
  while (end > start && goIsSpace(s.charCodeAt(end - 1))) end--;
  return s.slice(start, end);
}

/** ASCII-only lower case. Go's strings.ToLower maps no non-ASCII rune to f, a, l, s, e, n, o or 0. */
function asciiLower(s: string): string {
  return s.replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 32));
}

/**
 * dockerBoolValue returns what dockerd's httputils.BoolValue returns for the form value
 * (undefined = absent = ""): false for "", "0", "no", "false", "none" after Go's
 * TrimSpace and ToLower, true for anything else.
 */
export function dockerBoolValue(value: string | undefined): boolean {
  const s = asciiLower(goTrimSpace(value ?? ''));
  return !(s === '' || s === '0' || s === 'no' || s === 'false' || s === 'none');
}

/** dockerBoolValueBytes is dockerBoolValue on the raw UTF-8 bytes of the decoded value. */
export function dockerBoolValueBytes(value: Uint8Array): boolean {
  const t = goTrimSpaceBytes(value);
  if (t.length > 5) return true;
  let s = '';
  for (const c of t) {
    if (c >= 0x80) return true;
    s += String.fromCharCode(c);
  }
  return dockerBoolValue(s);
}

/**
 * dockerBoolValueOrDefault returns what httputils.BoolValueOrDefault returns: d when the
 * key is absent from the form (present is false / value undefined), else dockerBoolValue.
 * A key present with an empty value is false, not d.
 */
export function dockerBoolValueOrDefault(value: string | undefined, d: boolean): boolean {
  return value === undefined ? d : dockerBoolValue(value);
}

const INT64_MAX = 9223372036854775807n;
const INT64_MIN = -9223372036854775808n;

/**
 * dockerInt64ValueOrZero returns what httputils.Int64ValueOrZero returns:
 * strconv.ParseInt(v, 10, 64) (optional + or - then ASCII digits, no spaces, no
 * underscores, in int64 range), or 0n when the value is absent, empty or does not parse.
 */
export function dockerInt64ValueOrZero(value: string | undefined): bigint {
  if (value === undefined || !/^[+-]?[0-9]+$/.test(value)) return 0n;
  const n = BigInt(value);
  return n > INT64_MAX || n < INT64_MIN ? 0n : n;
}
