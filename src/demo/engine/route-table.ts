/**
 * The route table mechanics of the demo engine: a route is `METHOD /path/{param}` and a
 * handler; {@link matchRoute} finds the one for a request. Kept apart from the table itself
 * (routes.ts) so resource modules and docs tests can use the types.
 *
 * @module
 */
import type { EngineContext } from './context.js';
import type { Call } from './http.js';

export type { Call } from './http.js';

/** A route handler. Throwing an ApiError answers `{"message"}` with its status. */
export type Handler = (ctx: EngineContext, call: Call) => Promise<void> | void;

/** One entry of the route table. */
export interface Route {
  /** `GET`, `POST`, … (`HEAD` is served by a `GET` route only where the route says so). */
  method: string;
  /** Docker's path without the version prefix, variables as `{name}`: `/containers/{id}/json`. */
  path: string;
  /** What it does, for docs and `docker` users. */
  summary: string;
  handler: Handler;
}

/** Splits a route path into its segments. */
function segments(path: string): string[] {
  return path.split('/').slice(1);
}

const compiled = new WeakMap<Route, { re: RegExp; names: string[] }>();

/** `/images/{name*}/json` → a RegExp: `{x}` one segment, `{x*}` one or more (Docker's `{x:.*}`). */
function compile(route: Route): { re: RegExp; names: string[] } {
  let c = compiled.get(route);
  if (c) return c;
  const names: string[] = [];
  const src = segments(route.path)
    .map((p) => {
      const m = /^\{(\w+)(\*?)\}$/.exec(p);
      if (!m) return p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      names.push(m[1]!);
      return m[2] ? '(.+)' : '([^/]+)';
    })
    .join('/');
  c = { re: new RegExp(`^/${src}$`), names };
  compiled.set(route, c);
  return c;
}

/** The route for `method path` and its parameters (URL-decoded), or null. */
export function matchRoute(
  routes: readonly Route[],
  method: string,
  path: string,
): { route: Route; params: Record<string, string> } | null {
  for (const route of routes) {
    if (route.method !== method) continue;
    const { re, names } = compile(route);
    const m = re.exec(path);
    if (!m) continue;
    const params: Record<string, string> = {};
    try {
      names.forEach((n, i) => (params[n] = decodeURIComponent(m[i + 1]!)));
    } catch {
      return null;
    }
    return { route, params };
  }
  return null;
}

/**
 * The message of the 501 answer for a path the demo does not implement: names the demo and
 * the endpoint family, e.g. `the demo engine has no /build endpoint` or, for a family it
 * partly implements, `the demo engine has no POST /containers/create endpoint`.
 */
export function notImplementedMessage(
  routes: readonly Route[],
  method: string,
  path: string,
): string {
  const first = segments(path)[0] ?? '';
  const family = routes.some((r) => segments(r.path)[0] === first);
  const what = family ? `${method} ${genericPath(path)}` : `/${first}`;
  return `the demo engine has no ${what} endpoint (it implements only what \`hijack demo\` documents in docs/demo.md)`;
}

const ID_FAMILIES = ['containers', 'exec', 'images', 'networks', 'volumes', 'plugins'];
const NOT_IDS = ['json', 'create', 'prune', 'load', 'search', 'get'];

/** `/containers/abc/archive` → `/containers/{id}/archive` for the message. */
function genericPath(path: string): string {
  const seg = segments(path);
  if (seg.length >= 2 && ID_FAMILIES.includes(seg[0]!) && !NOT_IDS.includes(seg[1]!)) {
    return ['', seg[0], '{id}', ...seg.slice(2)].join('/');
  }
  return path;
}
