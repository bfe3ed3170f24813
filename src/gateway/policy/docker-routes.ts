/**
 * dockerd 20.10's API route table (moby/moby v20.10.27, commit
 * 5d6db842238e3c4f5f9fb9ad70ea46b35227d084: api/server/router/*, cmd/dockerd/daemon.go
 * initRouter, api/server/server.go createMux) and gorilla/mux's dispatch over it, so the
 * policy matches rules against the same route and variable bindings dockerd will use.
 *
 * createMux registers, per router in initRouter order (checkpoint, container, image,
 * system, volume, build, session, swarm, plugin, distribution, grpc, network) and per
 * route in order, `/v{version:[0-9.]+}` + path and then path, each with Methods(method);
 * then the debug routes under /debug for every method; then a versioned catch-all. Neither
 * UseEncodedPath nor SkipClean is set: mux matches the decoded, cleaned URL.Path. Both 404
 * and 405 go to dockerd's not-found handler. Experimental (checkpoint) routes are always
 * registered. grpc and network routes are assumed present (they are on Linux daemons).
 * Checked against a real gorilla/mux router in test/gateway/docker-routes.test.ts.
 */

/** A variable in a route template and its gorilla/mux regex (default `[^/]+`). */
export interface DockerRouteVar {
  readonly name: string;
  readonly pattern: string;
}

/** One registered dockerd route; method `*` means any method (debug routes). */
export interface DockerRoute {
  readonly method: string;
  readonly template: string;
  readonly vars: readonly DockerRouteVar[];
}

/** A dispatched route with the variable values gorilla/mux binds. */
export interface DockerRouteMatch {
  readonly route: DockerRoute;
  readonly bindings: Readonly<Record<string, string>>;
}

const TEMPLATES: readonly (readonly [string, string])[] = [
  // checkpoint
  ['GET', '/containers/{name:.*}/checkpoints'],
  ['POST', '/containers/{name:.*}/checkpoints'],
  ['DELETE', '/containers/{name}/checkpoints/{checkpoint}'],
  // container
  ['HEAD', '/containers/{name:.*}/archive'],
  ['GET', '/containers/json'],
  ['GET', '/containers/{name:.*}/export'],
  ['GET', '/containers/{name:.*}/changes'],
  ['GET', '/containers/{name:.*}/json'],
  ['GET', '/containers/{name:.*}/top'],
  ['GET', '/containers/{name:.*}/logs'],
  ['GET', '/containers/{name:.*}/stats'],
  ['GET', '/containers/{name:.*}/attach/ws'],
  ['GET', '/exec/{id:.*}/json'],
  ['GET', '/containers/{name:.*}/archive'],
  ['POST', '/containers/create'],
  ['POST', '/containers/{name:.*}/kill'],
  ['POST', '/containers/{name:.*}/pause'],
  ['POST', '/containers/{name:.*}/unpause'],
  ['POST', '/containers/{name:.*}/restart'],
  ['POST', '/containers/{name:.*}/start'],
  ['POST', '/containers/{name:.*}/stop'],
  ['POST', '/containers/{name:.*}/wait'],
  ['POST', '/containers/{name:.*}/resize'],
  ['POST', '/containers/{name:.*}/attach'],
  ['POST', '/containers/{name:.*}/copy'],
  ['POST', '/containers/{name:.*}/exec'],
  ['POST', '/exec/{name:.*}/start'],
  ['POST', '/exec/{name:.*}/resize'],
  ['POST', '/containers/{name:.*}/rename'],
  ['POST', '/containers/{name:.*}/update'],
  ['POST', '/containers/prune'],
  ['POST', '/commit'],
  ['PUT', '/containers/{name:.*}/archive'],
  ['DELETE', '/containers/{name:.*}'],
  // image
  ['GET', '/images/json'],
  ['GET', '/images/search'],
  ['GET', '/images/get'],
  ['GET', '/images/{name:.*}/get'],
  ['GET', '/images/{name:.*}/history'],
  ['GET', '/images/{name:.*}/json'],
  ['POST', '/images/load'],
  ['POST', '/images/create'],
  ['POST', '/images/{name:.*}/push'],
  ['POST', '/images/{name:.*}/tag'],
  ['POST', '/images/prune'],
  ['DELETE', '/images/{name:.*}'],
  // system
  ['OPTIONS', '/{anyroute:.*}'],
  ['GET', '/_ping'],
  ['HEAD', '/_ping'],
  ['GET', '/events'],
  ['GET', '/info'],
  ['GET', '/version'],
  ['GET', '/system/df'],
  ['POST', '/auth'],
  // volume
  ['GET', '/volumes'],
  ['GET', '/volumes/{name:.*}'],
  ['POST', '/volumes/create'],
  ['POST', '/volumes/prune'],
  ['DELETE', '/volumes/{name:.*}'],
  // build
  ['POST', '/build'],
  ['POST', '/build/prune'],
  ['POST', '/build/cancel'],
  // session
  ['POST', '/session'],
  // swarm
  ['POST', '/swarm/init'],
  ['POST', '/swarm/join'],
  ['POST', '/swarm/leave'],
  ['GET', '/swarm'],
  ['GET', '/swarm/unlockkey'],
  ['POST', '/swarm/update'],
  ['POST', '/swarm/unlock'],
  ['GET', '/services'],
  ['GET', '/services/{id}'],
  ['POST', '/services/create'],
  ['POST', '/services/{id}/update'],
  ['DELETE', '/services/{id}'],
  ['GET', '/services/{id}/logs'],
  ['GET', '/nodes'],
  ['GET', '/nodes/{id}'],
  ['DELETE', '/nodes/{id}'],
  ['POST', '/nodes/{id}/update'],
  ['GET', '/tasks'],
  ['GET', '/tasks/{id}'],
  ['GET', '/tasks/{id}/logs'],
  ['GET', '/secrets'],
  ['POST', '/secrets/create'],
  ['DELETE', '/secrets/{id}'],
  ['GET', '/secrets/{id}'],
  ['POST', '/secrets/{id}/update'],
  ['GET', '/configs'],
  ['POST', '/configs/create'],
  ['DELETE', '/configs/{id}'],
  ['GET', '/configs/{id}'],
  ['POST', '/configs/{id}/update'],
  // plugin
  ['GET', '/plugins'],
  ['GET', '/plugins/{name:.*}/json'],
  ['GET', '/plugins/privileges'],
  ['DELETE', '/plugins/{name:.*}'],
  ['POST', '/plugins/{name:.*}/enable'],
  ['POST', '/plugins/{name:.*}/disable'],
  ['POST', '/plugins/pull'],
  ['POST', '/plugins/{name:.*}/push'],
  ['POST', '/plugins/{name:.*}/upgrade'],
  ['POST', '/plugins/{name:.*}/set'],
  ['POST', '/plugins/create'],
  // distribution
  ['GET', '/distribution/{name:.*}/json'],
  // grpc
  ['POST', '/grpc'],
  // network
  ['GET', '/networks'],
  ['GET', '/networks/'],
  ['GET', '/networks/{id:.+}'],
  ['POST', '/networks/create'],
  ['POST', '/networks/{id:.*}/connect'],
  ['POST', '/networks/{id:.*}/disconnect'],
  ['POST', '/networks/prune'],
  ['DELETE', '/networks/{id:.*}'],
  // debug (registered without Methods: any method)
  ['*', '/debug/vars'],
  ['*', '/debug/pprof/'],
  ['*', '/debug/pprof/cmdline'],
  ['*', '/debug/pprof/profile'],
  ['*', '/debug/pprof/symbol'],
  ['*', '/debug/pprof/trace'],
  ['*', '/debug/pprof/{name}'],
];

interface Compiled {
  readonly route: DockerRoute;
  readonly re: RegExp;
  /** Template split on '/', variables as null. */
  readonly parts: readonly (string | null)[];
  readonly index: number;
}

/** Go's regexp `.` matches any rune but '\n'; JS's `.` also refuses \r, U+2028, U+2029. */
function toJsRegex(goPattern: string): string {
  if (goPattern === '[^/]+') return '[^/]+';
  if (goPattern === '.*') return '[^\\n]*';
  if (goPattern === '.+') return '[^\\n]+';
  throw new Error(`unsupported route variable pattern ${goPattern}`);
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function compile(method: string, template: string, index: number): Compiled {
  const vars: DockerRouteVar[] = [];
  let re = '^';
  const parts: (string | null)[] = [];
  for (const seg of template.slice(1).split('/')) {
    re += '/';
    const m = /^\{([a-z]+)(?::(.*))?\}$/.exec(seg);
    if (m) {
      const pattern = m[2] ?? '[^/]+';
      vars.push({ name: m[1]!, pattern });
      re += `(${toJsRegex(pattern)})`;
      parts.push(null);
    } else {
      re += escapeRe(seg);
      parts.push(seg);
    }
  }
  const route: DockerRoute = Object.freeze({ method, template, vars: Object.freeze(vars) });
  return { route, re: new RegExp(re + '$', 'u'), parts, index };
}

const COMPILED: readonly Compiled[] = TEMPLATES.map(([m, t], i) => compile(m, t, i));

/** The ordered route table, in dockerd's registration order. */
export const DOCKER_ROUTES: readonly DockerRoute[] = Object.freeze(COMPILED.map((c) => c.route));

const BY_ROUTE = new Map<DockerRoute, Compiled>(COMPILED.map((c) => [c.route, c]));

/**
 * Candidates by method and first path segment, in registration order. A route whose first
 * template segment is a variable goes into every first-segment bucket (key '').
 */
const INDEX = new Map<string, Map<string, readonly Compiled[]>>();
{
  const firsts = new Set<string>();
  for (const c of COMPILED) if (c.parts[0] !== null) firsts.add(c.parts[0]!);
  const methods = new Set(COMPILED.map((c) => c.route.method).filter((m) => m !== '*'));
  for (const m of [...methods, '*']) {
    const byFirst = new Map<string, readonly Compiled[]>();
    for (const f of [...firsts, '']) {
      byFirst.set(
        f,
        COMPILED.filter(
          (c) =>
            (c.route.method === m || c.route.method === '*') &&
            (c.parts[0] === null || c.parts[0] === f),
        ),
      );
    }
    INDEX.set(m, byFirst);
  }
}

/**
 * routeOf returns the route gorilla/mux dispatches `method folded` to in dockerd 20.10, with
 * its bindings, or undefined when dockerd answers 404 or 405 (a path matched only by
 * routes of other methods is never another route). method is the upper-case request
 * method (HEAD matches only HEAD routes); folded is the decoded, cleaned path with the
 * `/vX.Y` prefix removed; versioned tells whether the request had that prefix (the
 * /debug routes are registered only without it).
 */
export function routeOf(
  method: string,
  folded: string,
  versioned = false,
): DockerRouteMatch | undefined {
  const byFirst = INDEX.get(method) ?? INDEX.get('*')!;
  const slash = folded.indexOf('/', 1);
  const first = slash < 0 ? folded.slice(1) : folded.slice(1, slash);
  const cands = byFirst.get(first) ?? byFirst.get('')!;
  for (const c of cands) {
    if (versioned && c.route.method === '*') continue;
    const m = c.re.exec(folded);
    if (m === null) continue;
    const bindings: Record<string, string> = Object.create(null) as Record<string, string>;
    c.route.vars.forEach((v, i) => {
      bindings[v.name] = m[i + 1]!;
    });
    return { route: c.route, bindings: Object.freeze(bindings) };
  }
  return undefined;
}

/**
 * routeSegments returns the matched path as segments: the template's literal segments and
 * each variable's binding as one segment, even when the binding contains '/'
 * (`DELETE /images/reg/ns/bb:1` gives ['images', 'reg/ns/bb:1']).
 */
export function routeSegments(match: DockerRouteMatch): string[] {
  const c = BY_ROUTE.get(match.route)!;
  let v = 0;
  return c.parts.map((p) => (p === null ? match.bindings[c.route.vars[v++]!.name]! : p));
}

/** routeHasMultiSegmentVar reports whether a variable of route can bind a value containing '/'. */
export function routeHasMultiSegmentVar(route: DockerRoute): boolean {
  return route.vars.some((v) => v.pattern !== '[^/]+');
}

/** bindingSpansSegments reports whether some variable of the match bound a value containing '/'. */
export function bindingSpansSegments(match: DockerRouteMatch): boolean {
  return Object.values(match.bindings).some((b) => b.includes('/'));
}
