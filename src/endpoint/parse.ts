/**
 * The one endpoint syntax, its one set of refusal messages, and the hint for near-misses
 * (`/var/run/docker.sock`: did you mean `unix:///var/run/docker.sock`?).
 *
 * The syntax: `unix:///path[?mode=0660&owner=uid:gid]` (mode/owner for listeners only;
 * percent-escapes such as `%20` in the path are decoded), `tcp://host:port` and
 * `tls://host:port` (IPv6 hosts in brackets, a trailing `/` allowed). Where a library caller
 * names something to connect to, the web spellings are part of it too:
 * `http://host[:port]` is `tcp://`, `https://host[:port]` is `tls://` (ports 80 and 443 by
 * default); a dial target may add a path prefix (`https://host/base`). One documented
 * extra: the gateway's upstream string in the library (`createGateway({ upstream })`,
 * `parseUpstream`) takes a bare absolute path as `unix://` + path. Flags and the config file
 * take the `unix`/`tcp`/`tls` forms only and answer the others with the hint.
 *
 * @module
 */
import { isAbsolute } from 'node:path';
import { HijackError } from '../errors.js';
import {
  dialEndpoint,
  resolvedTarget,
  type DialEndpoint,
  type Endpoint,
  type ResolvedTarget,
} from './endpoint.js';

const HOST = String.raw`(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)`;
const HOST_PORT = new RegExp(`^${HOST}:(\\d{1,5})/?$`);
/** A web authority and path: host, optional port, path (query and fragment refused apart). */
const WEB = new RegExp(`^${HOST}(?::(\\d{1,5}))?(/[^?#]*)?$`);

/**
 * The endpoint the user probably meant by a value this syntax refuses, or undefined:
 * `/var/run/docker.sock` → `unix:///var/run/docker.sock`, `http://host:2375` →
 * `tcp://host:2375`, `https://host:2376` → `tls://host:2376`, `host:2375` → `tcp://host:2375`.
 */
export function nearMiss(text: string): string | undefined {
  const s = String(text).trim();
  if (s.startsWith('/')) return `unix://${s}`;
  const web = /^(https?):\/\/([^/]+)\/?$/.exec(s);
  if (web && HOST_PORT.test(web[2]!)) return `${web[1] === 'https' ? 'tls' : 'tcp'}://${web[2]}`;
  if (HOST_PORT.test(s)) return `tcp://${s}`;
  return undefined;
}

/** ` (did you mean …?)` for a near-miss, else ''. */
function hint(text: string): string {
  const meant = nearMiss(text);
  return meant ? ` (did you mean ${meant}?)` : '';
}

/**
 * Where an endpoint is used; decides which forms and parameters are accepted: `listen`
 * (mode/owner, port 0), `metrics` (a listener without tls), `upstream` (something to
 * connect to, named by a flag or key), `dial` (a client target: the web spellings too).
 */
export type EndpointRole = 'listen' | 'upstream' | 'metrics' | 'dial';

/** Extra forms {@link parseEndpoint} takes beyond its role's (for the `upstream` role only). */
export interface EndpointSyntaxOptions {
  /** `http://host[:port]` and `https://host[:port]` (as tcp and tls); a path only for `dial`. */
  web?: boolean;
  /** A bare absolute path as `unix://` + path (the library's upstream string). */
  barePath?: boolean;
}

/** Why a value is refused: `text` follows the quoted value, after `': '` unless `joined`. */
interface Refusal {
  text: string;
  joined?: boolean;
}

interface Parsed {
  endpoint: Endpoint;
  prefix: string;
}

const CORE_FORMS = 'tcp://host:port, tls://host:port or unix:///path';
const DIAL_FORMS =
  'unix:///path, tcp://host:port, tls://host:port, http://host[:port][/prefix] or https://host[:port][/prefix]';

function decodePath(p: string): string {
  try {
    return decodeURIComponent(p);
  } catch {
    return p; // a lone '%' is a '%'
  }
}

/** The one parser: a {@link Parsed} value or the {@link Refusal} saying why not. */
function scan(s: string, role: EndpointRole, o: EndpointSyntaxOptions): Parsed | Refusal {
  // The extras are for things to connect to, never for listeners.
  const web = role === 'dial' || (o.web === true && role === 'upstream');
  if (o.barePath && role === 'upstream' && s.startsWith('/')) s = `unix://${s}`;
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/(.*)$/.exec(s);
  if (!m)
    return role === 'dial'
      ? { text: `has no scheme${hint(s)}`, joined: true }
      : { text: `is not ${CORE_FORMS}${hint(s)}`, joined: true };
  const scheme = m[1]!.toLowerCase();
  const rest = m[2]!;
  if (scheme === 'unix') {
    const q = rest.indexOf('?');
    const path = decodePath(q < 0 ? rest : rest.slice(0, q));
    if (!isAbsolute(path))
      return { text: 'the unix socket path must be absolute (unix:///run/x.sock)' };
    const ep: Endpoint = { kind: 'unix', path };
    if (q >= 0) {
      if (role !== 'listen') return { text: 'mode and owner are only for listeners' };
      for (const [k, v] of new URLSearchParams(rest.slice(q + 1))) {
        if (k === 'mode') {
          if (!/^0?[0-7]{3}$/.test(v))
            return { text: `mode '${v}' is not an octal file mode like 0660` };
          ep.mode = parseInt(v, 8);
        } else if (k === 'owner') {
          const own = /^(\d*)(?::(\d*))?$/.exec(v);
          if (!own || (own[1] === '' && !own[2]))
            return { text: `owner '${v}' is not uid, uid:gid or :gid (numbers)` };
          if (own[1]) ep.uid = Number(own[1]);
          if (own[2]) ep.gid = Number(own[2]);
        } else return { text: `unknown parameter '${k}' (use mode and owner)` };
      }
    }
    return { endpoint: ep, prefix: '' };
  }
  const isWeb = scheme === 'http' || scheme === 'https';
  if ((scheme !== 'tcp' && scheme !== 'tls' && !isWeb) || (isWeb && !web))
    return {
      text: `unknown scheme '${scheme}' (use ${role === 'dial' ? 'unix, tcp, tls, http or https' : 'tcp, tls or unix'})${hint(s)}`,
    };
  const kind = scheme === 'tls' || scheme === 'https' ? 'tls' : 'tcp';
  if (kind === 'tls' && role === 'metrics') return { text: 'use tcp:// or unix:// here' };
  if (/^[^/]*@/.test(rest))
    return { text: 'credentials in the URL are not sent; pass an Authorization header' };
  let host: string;
  let portText: string;
  let prefix = '';
  if (isWeb) {
    if (/[?#]/.test(rest)) return { text: 'a target has no query or fragment' };
    const w = WEB.exec(rest);
    if (!w) return { text: `needs a host (e.g. ${scheme}://127.0.0.1:2375)`, joined: true };
    host = w[1]!;
    portText = w[2] ?? (scheme === 'https' ? '443' : '80');
    prefix = (w[3] ?? '').replace(/\/+$/, '');
    if (prefix && role !== 'dial') return { text: `an upstream has no path ('${prefix}')` };
  } else {
    const hp = HOST_PORT.exec(rest);
    if (!hp) {
      if (/^[^/]+\/./.test(rest)) return { text: `a ${scheme} endpoint has no path` };
      return {
        text: `needs host:port (e.g. ${scheme}://127.0.0.1:2375, ${scheme}://[::1]:2375)`,
        joined: true,
      };
    }
    host = hp[1]!;
    portText = hp[2]!;
  }
  const port = Number(portText);
  if (port > 65535 || (port === 0 && role !== 'listen' && role !== 'metrics'))
    return { text: `port ${portText} is out of range` };
  if (host.startsWith('[')) host = host.slice(1, -1);
  return { endpoint: { kind, host, port }, prefix };
}

function refused(r: Parsed | Refusal): r is Refusal {
  return 'text' in r;
}

/**
 * Parses the endpoint syntax for `role` (see the module comment; `options` adds the web
 * spellings or a bare path); throws `ERR_CONFIG`, `<name> '<value>': <why>` (`name` says
 * which flag or key the value came from).
 */
export function parseEndpoint(
  text: string,
  role: EndpointRole,
  name: string,
  options: EndpointSyntaxOptions = {},
): Endpoint {
  const s = String(text).trim();
  const r = scan(s, role, options);
  if (refused(r))
    throw new HijackError('ERR_CONFIG', `${name} '${s}'${r.joined ? ' ' : ': '}${r.text}`);
  return r.endpoint;
}

/** A target as an object: a unix socket, or a host and port (TLS when `tls` is true). */
export type TargetObject =
  { socketPath: string } | { host: string; port: number; tls?: boolean; servername?: string };

/**
 * What to dial: `unix:///path`, `tcp://host:port`, `tls://host:port`,
 * `http://host[:port][/prefix]`, `https://host[:port][/prefix]`, or a {@link TargetObject}.
 */
export type Target = string | URL | TargetObject;

function invalidTarget(target: unknown, why: string): HijackError {
  return new HijackError(
    'ERR_INVALID_TARGET',
    `invalid target ${JSON.stringify(target ?? null)}: ${why}; use ${DIAL_FORMS}`,
    { target },
  );
}

/**
 * Parses a client target (the `dial` role of the one syntax, or an object); throws
 * `ERR_INVALID_TARGET` with what is wrong and which forms work.
 */
export function resolveTarget(target: Target): ResolvedTarget {
  if (target && typeof target === 'object' && !(target instanceof URL)) {
    let d: DialEndpoint;
    if ('socketPath' in target) {
      if (typeof target.socketPath !== 'string' || target.socketPath === '')
        throw invalidTarget(target, 'socketPath must be a non-empty string');
      d = { kind: 'unix', path: target.socketPath, url: `unix://${target.socketPath}` };
    } else if ('host' in target) {
      const { host, port } = target;
      if (typeof host !== 'string' || host === '')
        throw invalidTarget(target, 'host must be a string');
      if (!Number.isInteger(port) || port < 1 || port > 65535)
        throw invalidTarget(target, 'port must be an integer 1–65535');
      d = dialEndpoint({ kind: target.tls === true ? 'tls' : 'tcp', host, port });
    } else throw invalidTarget(target, 'an object target needs socketPath, or host and port');
    return resolvedTarget(d);
  }
  if (typeof target !== 'string' && !(target instanceof URL))
    throw invalidTarget(target, 'a target is a string, a URL or an object');
  const s = String(target).trim();
  const r = scan(s, 'dial', {});
  if (refused(r)) throw invalidTarget(s, r.text);
  return resolvedTarget(dialEndpoint(r.endpoint, s), r.prefix);
}
