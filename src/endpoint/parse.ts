/**
 * The one endpoint syntax: `tcp://host:port`, `tls://host:port`,
 * `unix:///path[?mode=0660&owner=uid:gid]`, one set of error messages (ERR_CONFIG naming
 * the flag or key), and a hint for near-misses (`/var/run/docker.sock`: did you mean
 * `unix:///var/run/docker.sock`?).
 *
 * @module
 */
import { isAbsolute } from 'node:path';
import { HijackError } from '../errors.js';
import type { Endpoint } from './endpoint.js';

function fail(what: string): never {
  throw new HijackError('ERR_CONFIG', what);
}

const HOST_PORT = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;

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

/** Where an endpoint is used; decides which forms and parameters are accepted. */
export type EndpointRole = 'listen' | 'upstream' | 'metrics';

/**
 * Parse `tcp://host:port`, `tls://host:port` or `unix:///path[?mode=0660&owner=uid:gid]`
 * (mode/owner for listeners only; tls not for metrics); throws ERR_CONFIG (`name` says which
 * flag or key the value came from).
 */
export function parseEndpoint(text: string, role: EndpointRole, name: string): Endpoint {
  const s = String(text).trim();
  const m = /^([a-z]+):\/\/(.*)$/.exec(s);
  if (!m) fail(`${name} '${s}' is not tcp://host:port, tls://host:port or unix:///path${hint(s)}`);
  const [, scheme, rest] = m as unknown as [string, string, string];
  if (scheme === 'unix') {
    const q = rest.indexOf('?');
    const path = q < 0 ? rest : rest.slice(0, q);
    if (!isAbsolute(path))
      fail(`${name} '${s}': the unix socket path must be absolute (unix:///run/x.sock)`);
    const ep: Endpoint = { kind: 'unix', path };
    if (q >= 0) {
      if (role !== 'listen') fail(`${name} '${s}': mode and owner are only for listeners`);
      for (const [k, v] of new URLSearchParams(rest.slice(q + 1))) {
        if (k === 'mode') {
          if (!/^0?[0-7]{3}$/.test(v))
            fail(`${name} '${s}': mode '${v}' is not an octal file mode like 0660`);
          ep.mode = parseInt(v, 8);
        } else if (k === 'owner') {
          const o = /^(\d*)(?::(\d*))?$/.exec(v);
          if (!o || (o[1] === '' && !o[2]))
            fail(`${name} '${s}': owner '${v}' is not uid, uid:gid or :gid (numbers)`);
          if (o[1]) ep.uid = Number(o[1]);
          if (o[2]) ep.gid = Number(o[2]);
        } else fail(`${name} '${s}': unknown parameter '${k}' (use mode and owner)`);
      }
    }
    return ep;
  }
  if (scheme !== 'tcp' && scheme !== 'tls')
    fail(`${name} '${s}': unknown scheme '${scheme}' (use tcp, tls or unix)${hint(s)}`);
  if (scheme === 'tls' && role === 'metrics') fail(`${name} '${s}': use tcp:// or unix:// here`);
  const hp = HOST_PORT.exec(rest);
  if (!hp)
    fail(
      `${name} '${s}' needs host:port (e.g. ${scheme}://127.0.0.1:2375, ${scheme}://[::1]:2375)`,
    );
  const port = Number(hp[2]);
  if (port > 65535 || (port === 0 && role === 'upstream'))
    fail(`${name} '${s}': port ${hp[2]} is out of range`);
  const host = hp[1]!.startsWith('[') ? hp[1]!.slice(1, -1) : hp[1]!;
  return { kind: scheme, host, port };
}
