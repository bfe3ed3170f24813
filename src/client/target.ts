/**
 * Parsing of the targets {@link dialHijack} accepts.
 *
 * @module
 */
import { formatHost, formatHostPort } from '../endpoint/endpoint.js';
import { HijackError } from '../errors.js';

/** A target as an object: a unix socket, or a host and port (TLS when `tls` is true). */
export type TargetObject =
  { socketPath: string } | { host: string; port: number; tls?: boolean; servername?: string };

/**
 * What to dial: `unix:///path`, `tcp://host:port`, `http://host[:port][/prefix]`,
 * `https://host[:port][/prefix]`, or a {@link TargetObject}.
 */
export type Target = string | URL | TargetObject;

/** A parsed target. */
export interface ResolvedTarget {
  /** `unix` for a socket path, `tcp` for plain TCP, `tls` for TLS over TCP. */
  transport: 'unix' | 'tcp' | 'tls';
  /** Socket path (unix). */
  socketPath?: string;
  /** Host name or address (tcp, tls), without brackets. */
  host?: string;
  /** Port (tcp, tls). */
  port?: number;
  /** Default `Host` header value. */
  hostHeader: string;
  /** Path prefix to put before the request path (from an http(s) URL), `''` if none. */
  prefix: string;
  /** The target as the user would recognise it in an error message. */
  display: string;
}

function invalid(target: unknown, why: string): HijackError {
  return new HijackError(
    'ERR_INVALID_TARGET',
    `invalid target ${typeof target === 'string' ? JSON.stringify(target) : JSON.stringify(target ?? null)}: ${why}; use unix:///path, tcp://host:port, http://host:port or https://host:port`,
    { target },
  );
}

function hostHeaderOf(host: string, port: number, defaultPort: number): string {
  return port === defaultPort ? formatHost(host) : formatHostPort(host, port);
}

/** Parses a target; throws `ERR_INVALID_TARGET` with what is wrong and which forms work. */
export function resolveTarget(target: Target): ResolvedTarget {
  if (target && typeof target === 'object' && !(target instanceof URL)) {
    if ('socketPath' in target) {
      if (typeof target.socketPath !== 'string' || target.socketPath === '') {
        throw invalid(target, 'socketPath must be a non-empty string');
      }
      return {
        transport: 'unix',
        socketPath: target.socketPath,
        hostHeader: 'localhost',
        prefix: '',
        display: `unix://${target.socketPath}`,
      };
    }
    if ('host' in target) {
      const { host, port } = target;
      if (typeof host !== 'string' || host === '') throw invalid(target, 'host must be a string');
      if (!Number.isInteger(port) || port < 1 || port > 65535) {
        throw invalid(target, 'port must be an integer 1–65535');
      }
      const tls = target.tls === true;
      return {
        transport: tls ? 'tls' : 'tcp',
        host,
        port,
        hostHeader: hostHeaderOf(host, port, tls ? 443 : 80),
        prefix: '',
        display: `${tls ? 'https' : 'tcp'}://${hostHeaderOf(host, port, -1)}`,
      };
    }
    throw invalid(target, 'an object target needs socketPath, or host and port');
  }
  if (typeof target !== 'string' && !(target instanceof URL)) {
    throw invalid(target, 'a target is a string, a URL or an object');
  }
  const text = String(target);
  if (text.startsWith('unix://')) {
    const path = decodeURIComponent(text.slice('unix://'.length));
    if (!path.startsWith('/')) throw invalid(target, 'a unix target needs an absolute path');
    return {
      transport: 'unix',
      socketPath: path,
      hostHeader: 'localhost',
      prefix: '',
      display: text,
    };
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw invalid(target, 'not a URL');
  }
  const scheme = url.protocol.slice(0, -1);
  if (scheme !== 'tcp' && scheme !== 'http' && scheme !== 'https') {
    throw invalid(target, `unknown scheme ${JSON.stringify(scheme)}`);
  }
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (!host) throw invalid(target, 'no host');
  const defaultPort = scheme === 'https' ? 443 : 80;
  if (scheme === 'tcp' && !url.port) throw invalid(target, 'a tcp target needs a port');
  const port = url.port ? Number(url.port) : defaultPort;
  if (url.username || url.password) {
    throw invalid(target, 'credentials in the URL are not sent; pass an Authorization header');
  }
  if (scheme === 'tcp' && url.pathname !== '' && url.pathname !== '/') {
    throw invalid(target, 'a tcp target has no path');
  }
  const prefix = url.pathname === '/' ? '' : url.pathname.replace(/\/+$/, '');
  return {
    transport: scheme === 'https' ? 'tls' : 'tcp',
    host,
    port,
    hostHeader: hostHeaderOf(host, port, scheme === 'https' ? 443 : 80),
    prefix,
    display: text,
  };
}
