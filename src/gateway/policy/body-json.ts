/**
 * Reads a JSON request body the way dockerd's Go `encoding/json` (1.19) reads it into a
 * typed struct, or refuses it: the policy must decide on exactly the values dockerd will use.
 *
 * What Go does, and what we do:
 * - Object keys match struct fields case-insensitively with Go's own folding (ASCII letters,
 *   plus U+212A KELVIN SIGN for `k` and U+017F LATIN SMALL LETTER LONG S for `s`), after
 *   `\u` escapes are decoded: `"\u0050rivileged"` and `"privileged"` both fill `Privileged`.
 *   Same here ({@link goFoldEqual}).
 * - Unknown keys are ignored (their values must still be valid JSON). Same here.
 * - Duplicate keys: Go applies them in order and the last wins, but not simply: a second
 *   object merges into the first, a second array reuses the first one's elements, and `null`
 *   leaves a bool or string unchanged. We refuse (400) any object with two keys that reach the
 *   same struct field (exactly equal or equal under folding). Map keys (`Labels`, `Sysctls`,
 *   `DriverOpts` …) are matched exactly and the last wins, as in Go.
 * - `null` into a pointer, slice or map sets it to nil; into a bool, string or number it
 *   changes nothing (the zero value stays). Same here.
 * - A value of the wrong JSON type for a field, an integer with a fraction or exponent, or out
 *   of range: Go records an error and dockerd answers 400. We refuse.
 * - Invalid UTF-8 (Go silently replaces it with U+FFFD), a lone UTF-16 surrogate escape (same),
 *   a byte order mark, trailing content after the value (Go's Decoder ignores it), a top
 *   level that is not an object, nesting deeper than {@link MAX_DEPTH}: we refuse.
 * - dockerd 20.10 also reads host-config fields at the top level of a create body (the
 *   deprecated embedded `*container.HostConfig`). A top-level key that reaches one of them is
 *   refused, so only `HostConfig` decides.
 *
 * Decoded values take Go's shape: every declared field present, zero values where absent
 * (`false`, `''`, `0n`), `null` for nil pointers, slices and maps; integers are `bigint`.
 *
 * @module
 */

/** A Go type the reader decodes into. `any` is a known field whose value is not decided on. */
export type GoType =
  | 'bool'
  | 'string'
  | 'int64'
  | 'any'
  | 'strslice'
  | { slice: GoType }
  | { map: GoType }
  | { ptr: GoType }
  | { struct: GoStruct };

/** One struct field: its JSON name (dockerd's), its type, and how it is stored. */
export interface GoField {
  name: string;
  type: GoType;
  /** Stored under `value[into][name]` (an embedded struct) instead of `value[name]`. */
  into?: string;
  /** Refuse the body when this field is present, with this reason. */
  refuse?: string;
}

/** A struct: its fields in declaration order (embedded structs flattened). */
export interface GoStruct {
  fields: GoField[];
}

/** A decoded Go value. */
export type GoValue = boolean | string | bigint | null | GoValue[] | { [key: string]: GoValue };

/** A decoded Go struct or map: its members by name. */
export type GoObject = { [key: string]: GoValue };

/** `v` when it is an object (a decoded struct or map), else null. */
export const goObject = (v: GoValue | undefined): GoObject | null =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as GoObject) : null;

/** `v` when it is a slice, else empty. */
export const goList = (v: GoValue | undefined): GoValue[] => (Array.isArray(v) ? v : []);

/** `v` when it is a string, else `''` (Go's zero string). */
export const goText = (v: GoValue | undefined): string => (typeof v === 'string' ? v : '');

/** Outcome of {@link readGoJson}: the decoded value, or why the body is refused (400). */
export type BodyRead<T = GoValue> = { ok: true; value: T } | { ok: false; reason: string };

/** Deepest nesting accepted (Go's own limit is 10000). */
export const MAX_DEPTH = 512;
/** Default largest body read for a decision: 1 MiB. */
export const DEFAULT_MAX_JSON_BODY = 1 << 20;

const KELVIN = 0x212a;
const LONG_S = 0x17f;

/**
 * Go's `equalFoldRight` (encoding/json fold.go) for an ASCII field name and a key: ASCII
 * letters case-insensitively, and U+212A / U+017F in the key for `k` / `s` in the name.
 */
export function goFoldEqual(field: string, key: string): boolean {
  let j = 0;
  for (let i = 0; i < field.length; i++) {
    if (j >= key.length) return false;
    const sb = field.charCodeAt(i);
    const tb = key.codePointAt(j)!;
    if (tb < 0x80) {
      if (sb !== tb) {
        const upper = sb & 0xdf;
        if (upper < 0x41 || upper > 0x5a || upper !== (tb & 0xdf)) return false;
      }
      j++;
      continue;
    }
    if ((sb | 0x20) === 0x73 && tb === LONG_S) j++;
    else if ((sb | 0x20) === 0x6b && tb === KELVIN) j++;
    else return false;
  }
  return j === key.length;
}

/** Refusal thrown inside the reader; carries the reason. */
class Refused extends Error {}

/** A parsed JSON value, keys in order, numbers as their source text. */
type Node =
  | { t: 'obj'; entries: [string, Node][]; spans: [number, number][] }
  | { t: 'arr'; items: Node[]; spans: [number, number][] }
  | { t: 'str'; v: string }
  | { t: 'num'; raw: string }
  | { t: 'bool'; v: boolean }
  | { t: 'null' };

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** A JSON number (RFC 8259), sticky: matched at the parser's offset. */
const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?/y;
const NUMBER_TAIL = /[0-9.eE+-]/;
/** The one-character escapes. */
const SIMPLE_ESCAPES: Readonly<Record<string, string>> = {
  '"': '"',
  '\\': '\\',
  '/': '/',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
};

/** Strict RFC 8259 parser (Go's scanner grammar), refusing what Go would read differently. */
class Parser {
  i = 0;
  constructor(private readonly s: string) {}

  fail(what: string): never {
    throw new Refused(`invalid JSON at offset ${this.i}: ${what}`);
  }
  ws(): void {
    const s = this.s;
    while (this.i < s.length) {
      const c = s.charCodeAt(this.i);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) this.i++;
      else break;
    }
  }
  value(depth: number): Node {
    if (depth > MAX_DEPTH) this.fail(`nesting deeper than ${MAX_DEPTH}`);
    this.ws();
    const c = this.s[this.i];
    if (c === '{') return this.object(depth);
    if (c === '[') return this.array(depth);
    if (c === '"') return { t: 'str', v: this.string() };
    if (c === 't') return this.word('true', { t: 'bool', v: true });
    if (c === 'f') return this.word('false', { t: 'bool', v: false });
    if (c === 'n') return this.word('null', { t: 'null' });
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return this.number();
    return this.fail(c === undefined ? 'unexpected end' : `unexpected ${JSON.stringify(c)}`);
  }
  word(w: string, n: Node): Node {
    if (this.s.startsWith(w, this.i)) {
      this.i += w.length;
      return n;
    }
    return this.fail(`expected ${w}`);
  }
  number(): Node {
    const m = NUMBER;
    m.lastIndex = this.i;
    const r = m.exec(this.s);
    if (!r) return this.fail('bad number');
    this.i += r[0].length;
    const next = this.s[this.i];
    if (next !== undefined && NUMBER_TAIL.test(next)) this.fail('bad number');
    return { t: 'num', raw: r[0] };
  }
  string(): string {
    const s = this.s;
    this.i++;
    let out = '';
    let start = this.i;
    for (;;) {
      if (this.i >= s.length) this.fail('unterminated string');
      const c = s.charCodeAt(this.i);
      if (c === 0x22) {
        out += s.slice(start, this.i);
        this.i++;
        return out;
      }
      if (c < 0x20) this.fail('control character in string');
      if (c === 0x5c) {
        out += s.slice(start, this.i);
        const e = s[this.i + 1];
        this.i += 2;
        if (e !== undefined && Object.hasOwn(SIMPLE_ESCAPES, e)) out += SIMPLE_ESCAPES[e];
        else if (e === 'u') {
          const u = this.hex4();
          if (u >= 0xd800 && u <= 0xdbff && s.startsWith('\\u', this.i)) {
            this.i += 2;
            const lo = this.hex4();
            if (lo < 0xdc00 || lo > 0xdfff) this.fail('lone surrogate escape');
            out += String.fromCharCode(u, lo);
          } else if (u >= 0xd800 && u <= 0xdfff) this.fail('lone surrogate escape');
          else out += String.fromCharCode(u);
        } else this.fail('bad escape');
        start = this.i;
        continue;
      }
      this.i++;
    }
  }
  hex4(): number {
    const h = this.s.slice(this.i, this.i + 4);
    if (!/^[0-9a-fA-F]{4}$/.test(h)) this.fail('bad \\u escape');
    this.i += 4;
    return parseInt(h, 16);
  }
  object(depth: number): Node {
    this.i++;
    const entries: [string, Node][] = [];
    const spans: [number, number][] = [];
    this.ws();
    if (this.s[this.i] === '}') {
      this.i++;
      return { t: 'obj', entries, spans };
    }
    for (;;) {
      this.ws();
      if (this.s[this.i] !== '"') this.fail('expected a key');
      const k = this.string();
      this.ws();
      if (this.s[this.i] !== ':') this.fail("expected ':'");
      this.i++;
      this.ws();
      const at = this.i;
      entries.push([k, this.value(depth + 1)]);
      spans.push([at, this.i]);
      this.ws();
      const c = this.s[this.i++];
      if (c === '}') return { t: 'obj', entries, spans };
      if (c !== ',') this.fail("expected ',' or '}'");
    }
  }
  array(depth: number): Node {
    this.i++;
    const items: Node[] = [];
    const spans: [number, number][] = [];
    this.ws();
    if (this.s[this.i] === ']') {
      this.i++;
      return { t: 'arr', items, spans };
    }
    for (;;) {
      this.ws();
      const at = this.i;
      items.push(this.value(depth + 1));
      spans.push([at, this.i]);
      this.ws();
      const c = this.s[this.i++];
      if (c === ']') return { t: 'arr', items, spans };
      if (c !== ',') this.fail("expected ',' or ']'");
    }
  }
}

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;

/** The zero value of a type, as Go allocates it. */
export function goZero(type: GoType): GoValue {
  if (type === 'bool') return false;
  if (type === 'string') return '';
  if (type === 'int64') return 0n;
  if (type === 'any' || type === 'strslice') return null;
  if ('struct' in type) {
    const out: { [key: string]: GoValue } = {};
    for (const f of type.struct.fields) {
      if (f.type === 'any' || f.refuse !== undefined) continue;
      if (f.into !== undefined) {
        const sub = (out[f.into] ??= {}) as { [key: string]: GoValue };
        sub[f.name] = goZero(f.type);
      } else out[f.name] = goZero(f.type);
    }
    return out;
  }
  return null;
}

function typeName(n: Node): string {
  return { obj: 'object', arr: 'array', str: 'string', num: 'number', bool: 'bool', null: 'null' }[
    n.t
  ];
}

function wrongType(n: Node, path: string): never {
  throw new Refused(`${path}: cannot read a JSON ${typeName(n)} as dockerd expects it`);
}

/** Decodes `n` into a fresh value of `type` at `path`; `null` leaves `zero`. */
function decode(n: Node, type: GoType, path: string): GoValue {
  if (type === 'any') return null;
  if (n.t === 'null') return goZero(type);
  if (type === 'bool') return n.t === 'bool' ? n.v : wrongType(n, path);
  if (type === 'string') return n.t === 'str' ? n.v : wrongType(n, path);
  if (type === 'int64') {
    if (n.t !== 'num' || !/^-?[0-9]+$/.test(n.raw)) return wrongType(n, path);
    const v = BigInt(n.raw);
    if (v < INT64_MIN || v > INT64_MAX) {
      throw new Refused(`${path}: number ${n.raw} is out of range`);
    }
    return v;
  }
  if (type === 'strslice') {
    // docker's strslice.StrSlice: an array of strings, or one string.
    if (n.t === 'str') return [n.v];
    return decode(n, { slice: 'string' }, path);
  }
  if ('ptr' in type) return decode(n, type.ptr, path);
  if ('slice' in type) {
    if (n.t !== 'arr') return wrongType(n, path);
    return n.items.map((item, i) => decode(item, type.slice, `${path}[${i}]`));
  }
  if ('map' in type) {
    if (n.t !== 'obj') return wrongType(n, path);
    const out: { [key: string]: GoValue } = Object.create(null) as { [key: string]: GoValue };
    for (const [k, v] of n.entries) out[k] = decode(v, type.map, `${path}[${JSON.stringify(k)}]`);
    return out;
  }
  if (n.t !== 'obj') return wrongType(n, path);
  return decodeStruct(n.entries, type.struct, path);
}

/**
 * A key folded as {@link goFoldEqual} folds it against an ASCII field name: ASCII letters to
 * lower case, U+212A to `k`, U+017F to `s`. Two keys fold alike exactly when Go matches them
 * to the same ASCII-named field.
 */
function foldKey(key: string): string {
  // ASCII keys (nearly all): String#toLowerCase changes exactly A-Z there.
  if (!NON_ASCII.test(key)) return key.toLowerCase();
  let out = '';
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) out += String.fromCharCode(c | 0x20);
    else if (c === KELVIN) out += 'k';
    else if (c === LONG_S) out += 's';
    else out += key[i];
  }
  return out;
}

/** Any character outside ASCII. */
const NON_ASCII = /[^\p{ASCII}]/u;

const indexes = new WeakMap<GoStruct, Map<string, GoField>>();

/** The struct's fields by folded name (field names are ASCII letters and digits, distinct under folding). */
function fieldIndex(st: GoStruct): Map<string, GoField> {
  let m = indexes.get(st);
  if (m === undefined) {
    m = new Map(st.fields.map((f) => [foldKey(f.name), f]));
    indexes.set(st, m);
  }
  return m;
}

function decodeStruct(entries: [string, Node][], st: GoStruct, path: string): GoValue {
  const out = goZero({ struct: st }) as { [key: string]: GoValue };
  const seen = new Map<GoField, string>();
  const index = fieldIndex(st);
  for (const [key, node] of entries) {
    const field = index.get(foldKey(key));
    if (field === undefined) continue;
    const at = path === '' ? field.name : `${path}.${field.name}`;
    const before = seen.get(field);
    if (before !== undefined) {
      throw new Refused(
        `${at} is given twice (${JSON.stringify(before)} and ${JSON.stringify(key)}): refused, readers disagree on which counts`,
      );
    }
    seen.set(field, key);
    if (field.refuse !== undefined) throw new Refused(`${JSON.stringify(key)}: ${field.refuse}`);
    const v = decode(node, field.type, at);
    if (field.type === 'any') continue;
    if (field.into !== undefined) (out[field.into] as { [key: string]: GoValue })[field.name] = v;
    else out[field.name] = v;
  }
  return out;
}

/** Options of {@link readGoJson}. */
export interface ReadGoJsonOptions {
  /** Largest body in bytes ({@link DEFAULT_MAX_JSON_BODY}). */
  maxBytes?: number;
}

/**
 * Decodes `body` as dockerd decodes it into `st` (a JSON object at the top level), or says
 * why it is refused. Pure; never throws on input.
 */
export function readGoJson(
  body: Uint8Array,
  st: GoStruct,
  options: ReadGoJsonOptions = {},
): BodyRead {
  const max = options.maxBytes ?? DEFAULT_MAX_JSON_BODY;
  if (body.length > max) return { ok: false, reason: `body over ${max} bytes` };
  const text = bodyText(body);
  if (typeof text !== 'string') return text;
  try {
    const p = new Parser(text);
    const root = p.value(0);
    p.ws();
    if (p.i !== text.length) p.fail('content after the JSON value');
    if (root.t !== 'obj') {
      return { ok: false, reason: `body is a JSON ${typeName(root)}, dockerd expects an object` };
    }
    return { ok: true, value: decodeStruct(root.entries, st, '') };
  } catch (e) {
    if (e instanceof Refused) return { ok: false, reason: e.message };
    throw e;
  }
}

/** `body` as UTF-8 text, or the refusal dockerd's reading would differ on. */
function bodyText(body: Uint8Array): string | { ok: false; reason: string } {
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    return { ok: false, reason: 'body is not valid UTF-8' };
  }
  if (text.charCodeAt(0) === 0xfeff)
    return { ok: false, reason: 'body starts with a byte order mark' };
  return text;
}

/** A member of a JSON object: its key (escapes decoded), its value's JSON type and place. */
export interface JsonMember {
  key: string;
  /** `object`, `array`, `string`, `number`, `bool` or `null`. */
  type: string;
  /** Offsets of the value in the decoded text (UTF-16 code units): `[start, end)`. */
  start: number;
  end: number;
  /** For an object value: true when it has no member. */
  empty: boolean;
}

/** The top level of an object body with the places of its members ({@link jsonMembers}). */
export interface JsonMembers {
  /** The body decoded as UTF-8 (it round-trips: the body is valid UTF-8). */
  text: string;
  /** Offset just after the top-level `{`. */
  open: number;
  /** True when the top-level object has no member. */
  empty: boolean;
  members: JsonMember[];
}

/**
 * Parses `body` as {@link readGoJson} does (same refusals: invalid UTF-8, a byte order mark,
 * trailing content, a top level that is not an object) and gives the top-level members with
 * where each value lies, so a value can be edited in place, leaving every other byte as it is.
 */
export function jsonMembers(body: Uint8Array): BodyRead<JsonMembers> {
  const text = bodyText(body);
  if (typeof text !== 'string') return text;
  try {
    const p = new Parser(text);
    p.ws();
    const open = p.i + 1;
    const root = p.value(0);
    p.ws();
    if (p.i !== text.length) p.fail('content after the JSON value');
    if (root.t !== 'obj') {
      return { ok: false, reason: `body is a JSON ${typeName(root)}, dockerd expects an object` };
    }
    const members = root.entries.map(([key, n], i): JsonMember => {
      const [start, end] = root.spans[i]!;
      return { key, type: typeName(n), start, end, empty: n.t === 'obj' && n.entries.length === 0 };
    });
    return { ok: true, value: { text, open, empty: members.length === 0, members } };
  } catch (e) {
    if (e instanceof Refused) return { ok: false, reason: e.message };
    throw e;
  }
}

/**
 * Where the value at `path` lies in an object body (UTF-16 offsets into `text`, the body
 * decoded): each string step is a struct field name matched as Go matches it (exactly one
 * key may match), each number an array index. Undefined when the path is absent, ambiguous
 * or the text is not JSON. For editing a value in place ({@link jsonMembers}'s companion).
 */
export function jsonValueSpan(
  text: string,
  path: readonly (string | number)[],
): [number, number] | undefined {
  let node: Node;
  let span: [number, number];
  try {
    const p = new Parser(text);
    p.ws();
    const start = p.i;
    node = p.value(0);
    span = [start, p.i];
  } catch (e) {
    if (e instanceof Refused) return undefined;
    throw e;
  }
  for (const step of path) {
    if (typeof step === 'number') {
      if (node.t !== 'arr' || step >= node.items.length) return undefined;
      span = node.spans[step]!;
      node = node.items[step]!;
    } else {
      if (node.t !== 'obj') return undefined;
      const hits = node.entries.flatMap(([k], i) => (goFoldEqual(step, k) ? [i] : []));
      if (hits.length !== 1) return undefined;
      span = node.spans[hits[0]!]!;
      node = node.entries[hits[0]!]![1];
    }
  }
  return span;
}

/**
 * Decodes JSON `text` into a value of Go type `type` as `json.Unmarshal` does (any JSON value
 * at the top level; `null` gives the zero value), or says why it is refused: the same
 * refusals as {@link readGoJson}, for a JSON value that is not a request body (a query
 * parameter such as dockerd's `filters`).
 */
export function readGoJsonText(text: string, type: GoType): BodyRead {
  try {
    const p = new Parser(text);
    const root = p.value(0);
    p.ws();
    if (p.i !== text.length) p.fail('content after the JSON value');
    return { ok: true, value: decode(root, type, '') };
  } catch (e) {
    if (e instanceof Refused) return { ok: false, reason: e.message };
    throw e;
  }
}

/**
 * Decodes `text` as Go's `json.Unmarshal` decodes it into a value of `type` (any JSON value
 * at the top level, e.g. a query parameter dockerd unmarshals), or says why it is refused.
 * `path` names the value in reasons. Pure; never throws on input.
 */
export function readGoJsonValue(text: string, type: GoType, path: string): BodyRead {
  if (text.charCodeAt(0) === 0xfeff)
    return { ok: false, reason: `${path} starts with a byte order mark` };
  try {
    const p = new Parser(text);
    const root = p.value(0);
    p.ws();
    if (p.i !== text.length) p.fail('content after the JSON value');
    return { ok: true, value: decode(root, type, path) };
  } catch (e) {
    if (e instanceof Refused) {
      const m = e.message;
      return { ok: false, reason: m.startsWith(path) ? m : `${path}: ${m}` };
    }
    throw e;
  }
}

/**
 * Checks the head fields of a body to be decided on: `Content-Type` must be
 * `application/json` (parameters allowed, as dockerd's `CheckForJSON`), and no
 * `Content-Encoding` (a compressed body cannot be read as dockerd reads it). Returns the
 * refusal reason, or undefined.
 */
export function checkJsonHeaders(
  headers: Record<string, string | string[] | undefined>,
): string | undefined {
  const enc = headers['content-encoding'];
  if (enc !== undefined) return 'a Content-Encoding on a body the policy reads is refused';
  const ct = headers['content-type'];
  if (ct === undefined) return 'Content-Type must be application/json';
  if (Array.isArray(ct)) return 'Content-Type given more than once';
  const media = ct.split(';')[0]!.trim().toLowerCase();
  if (media !== 'application/json')
    return `Content-Type ${JSON.stringify(ct)} must be application/json`;
  return undefined;
}
