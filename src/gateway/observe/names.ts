/**
 * Names for the live page: which container (and which command) a Docker stream belongs
 * to, asked of the upstream once per exec or container and cached. `POST /exec/{id}/start`
 * → `GET /exec/{id}/json` (container id, command) → `GET /containers/{cid}/json` (name);
 * `POST /containers/{id}/attach` → `GET /containers/{id}/json`. Read-only GETs straight to
 * the upstream, bounded by a timeout; a failure leaves the stream unnamed.
 *
 * @module
 */
import http from 'node:http';
import type { Endpoint } from '../types.js';

/** What a stream is attached to. */
export interface StreamTarget {
  /** The container's name (`web-1`), or its short id when it has none. */
  container: string;
  /** The exec's command line (`cat`, `sh -c …`); absent for an attach. */
  command?: string;
  /** The container's full id. */
  containerId?: string;
}

/** Resolves stream paths to their container; results (and misses) are cached. */
export interface NameResolver {
  /** The target of a folded takeover path, or undefined when it names none or the upstream did not say. */
  resolve(path: string): Promise<StreamTarget | undefined>;
}

/** Options of {@link createNameResolver}. */
export interface NameResolverOptions {
  /** Milliseconds per upstream request. Default 2000. */
  timeout?: number;
  /** Entries kept (oldest dropped). Default 1000. */
  max?: number;
}

const EXEC = /^\/exec\/([^/]+)\/start$/;
const ATTACH = /^\/containers\/([^/]+)\/attach$/;

/** A GET to the upstream, JSON answer; undefined on any failure. */
function getJson(upstream: Endpoint, path: string, timeout: number): Promise<any> {
  if (upstream.kind === 'tls') return Promise.resolve(undefined);
  return new Promise((resolve) => {
    const req = http.get(
      {
        ...(upstream.kind === 'unix'
          ? { socketPath: upstream.path }
          : { host: upstream.host, port: upstream.port }),
        path,
        agent: false,
        timeout,
        headers: { Host: 'docker' },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          if (body.length < 1 << 20) body += c;
        });
        res.on('end', () => {
          if (res.statusCode !== 200) return resolve(undefined);
          try {
            resolve(JSON.parse(body));
          } catch {
            resolve(undefined);
          }
        });
        res.on('error', () => resolve(undefined));
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
  });
}

/** Creates a resolver asking `upstream` (unix or tcp; a tls upstream is never asked). */
export function createNameResolver(
  upstream: Endpoint,
  options: NameResolverOptions = {},
): NameResolver {
  const timeout = options.timeout ?? 2000;
  const max = options.max ?? 1000;
  const cache = new Map<string, Promise<StreamTarget | undefined>>();
  const cached = (key: string, fn: () => Promise<StreamTarget | undefined>) => {
    let p = cache.get(key);
    if (!p) {
      p = fn();
      if (cache.size >= max) cache.delete(cache.keys().next().value!);
      cache.set(key, p);
    }
    return p;
  };
  const container = (id: string) =>
    cached(`c:${id}`, async () => {
      const c = await getJson(upstream, `/containers/${encodeURIComponent(id)}/json`, timeout);
      if (!c || typeof c !== 'object') return undefined;
      const name = typeof c.Name === 'string' && c.Name ? c.Name.replace(/^\//, '') : '';
      const full = typeof c.Id === 'string' ? c.Id : id;
      return { container: name || full.slice(0, 12), containerId: full };
    });
  return {
    resolve(path) {
      const attach = ATTACH.exec(path);
      if (attach) return container(decodeURIComponent(attach[1]!));
      const exec = EXEC.exec(path);
      if (!exec) return Promise.resolve(undefined);
      const id = decodeURIComponent(exec[1]!);
      return cached(`e:${id}`, async () => {
        const e = await getJson(upstream, `/exec/${encodeURIComponent(id)}/json`, timeout);
        if (!e || typeof e.ContainerID !== 'string') return undefined;
        const c = await container(e.ContainerID);
        const pc = e.ProcessConfig ?? {};
        const argv = [pc.entrypoint, ...(Array.isArray(pc.arguments) ? pc.arguments : [])].filter(
          (x): x is string => typeof x === 'string',
        );
        return {
          container: c?.container ?? e.ContainerID.slice(0, 12),
          containerId: e.ContainerID,
          ...(argv.length ? { command: argv.join(' ') } : {}),
        };
      });
    },
  };
}
