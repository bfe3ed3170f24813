/**
 * Ownership scoping (`scope: owner`), the pure part: which objects a request names and must
 * own, how a create body gets the owner label, how a list's `filters` gets the owner
 * filter, and what a client is answered for an object it does not own (exactly what dockerd
 * answers for a missing one).
 *
 * The owner of an object is the value of its `hijack.owner` label on the daemon, set by the
 * gateway when the object is created through it; the daemon's label is the only state. The
 * lookups themselves are in forward/owner-lookup.ts; everything here is data in, data out.
 *
 * @module
 */
import type { ClientIdentity, DenyDecision, PolicyDecision, Scope } from '../types.js';
import {
  goFoldEqual,
  goList as list,
  goObject as obj,
  goText as text,
  jsonMembers,
  jsonValueSpan,
  readGoJson,
  readGoJsonText,
  type GoObject as Obj,
  type GoValue,
} from './body-json.js';
import {
  containerCreateRefsStruct,
  networkConnectStruct,
  readDockerBody,
} from './docker-bodies.js';
import { routeOf } from './docker-routes.js';
import { deny } from './policy.js';
import { parseQuery } from './target.js';

/** The label that carries an object's owner: `hijack.owner=<identity>`. */
export const OWNER_LABEL = 'hijack.owner';

/** How far a client sees (see types.ts): `all` or `owner`. */
export type { Scope };

/** The scopes a config file and `--scope` accept. */
export const SCOPES: readonly Scope[] = ['all', 'owner'];

/** The kinds of object that have an owner. */
export type OwnedKind = 'container' | 'exec' | 'volume' | 'network';

/**
 * The owner name of a client: its token name; else `cert:<subject>` (a verified client
 * certificate), `uid:<uid>` (unix peer), `addr:<address>`. Token names cannot hold `:`, so
 * the forms never collide.
 */
export function ownerName(id: ClientIdentity): string {
  if (id.token !== undefined) return id.token;
  if (id.cert?.subject !== undefined && id.cert.authorized) return `cert:${id.cert.subject}`;
  if (id.peer) return `uid:${id.peer.uid}`;
  return `addr:${id.address ?? id.transport}`;
}

/** An object named in a request's path or query that the client must own. */
export interface PathRef {
  kind: OwnedKind;
  ref: string;
  /** How a refusal looks: a path object answers as missing, a list's `before`/`since` as dockerd's list does. */
  answer: 'missing' | 'list-filter' | 'taken';
}

/** A create (or connect) body the gateway reads for ownership. */
export type OwnerBodyKind =
  'container-create' | 'volume-create' | 'network-create' | 'network-connect';

/** What scope `owner` does with one admitted request (see {@link ownerPlan}). */
export interface OwnerPlan {
  /** The label value: {@link ownerName} of the client. */
  owner: string;
  /** Objects the path or query names; each must be owned. */
  refs: PathRef[];
  /**
   * The target with the path object pinned: `before + <full id> + after`, so the request
   * reaches exactly the object whose owner was checked (a name can be reused meanwhile).
   */
  pin?: { before: string; after: string };
  /** The target to forward instead of the decision's (a list with the owner filter merged). */
  target?: string;
  /**
   * The body to read whole: labelled (creates) and checked for the objects it names; `name`,
   * a container create's `?name=` (the first, as dockerd reads it), must not be another's.
   */
  body?: { kind: OwnerBodyKind; route: string; name?: string };
}

/** A refusal for a missing (or not owned) object: dockerd's own answer. */
export interface NotFound {
  status: 403 | 404 | 500;
  message: string;
  /** `application/json` (Docker's `{"message"}`), or dockerd's raw-stream / text shape. */
  contentType: string;
  /** The body bytes as dockerd writes them. */
  body: string;
}

const CONTAINER = /^\/containers\/\{name(?::\.\*)?\}/;
const EXEC = /^\/exec\/\{(?:id|name):\.\*\}\//;
const LISTS = new Set([
  'GET /containers/json',
  'GET /events',
  'GET /volumes',
  'GET /networks',
  'GET /networks/',
  'POST /containers/prune',
  'POST /volumes/prune',
  'POST /networks/prune',
]);
const VOLUME_BY_NAME = new Set(['GET /volumes/{name:.*}', 'DELETE /volumes/{name:.*}']);
const NETWORK_BY_ID = new Set([
  'GET /networks/{id:.+}',
  'DELETE /networks/{id:.*}',
  'POST /networks/{id:.*}/connect',
  'POST /networks/{id:.*}/disconnect',
]);
const CREATES: Readonly<Record<string, OwnerBodyKind>> = {
  'POST /containers/create': 'container-create',
  'POST /volumes/create': 'volume-create',
  'POST /networks/create': 'network-create',
};
/** Routes that show or touch every identity's objects and cannot be narrowed to one owner. */
const UNSCOPABLE: Readonly<Record<string, string>> = {
  'GET /system/df': 'it lists every identity’s containers and volumes',
};

type Allowed = Extract<PolicyDecision, { action: 'allow' }>;

/**
 * What scope `owner` does with an allowed request: the objects it names (to be owned), the
 * pinned target, the list filter merged, the body to label. A refusal when the request
 * cannot be scoped (400: an unreadable `filters`; 403: a route that shows everybody's
 * objects). Pure.
 */
export function ownerPlan(
  method: string,
  decision: Allowed,
  identity: ClientIdentity,
): OwnerPlan | DenyDecision {
  const owner = ownerName(identity);
  const plan: OwnerPlan = { owner, refs: [] };
  const route = decision.route;
  if (route === undefined) return plan;
  const why = UNSCOPABLE[route];
  if (why !== undefined) {
    return deny(403, 'not-owned', `${route} is not available under scope owner: ${why}`, {
      path: decision.path,
    });
  }
  const create = CREATES[route];
  if (create !== undefined) {
    plan.body = { kind: create, route };
    const q = parseQuery(queryOf(decision.target));
    const name = typeof q === 'string' ? undefined : q.get('name')?.[0];
    if (create === 'container-create' && name) plan.body.name = name.replace(/^\//, '');
    return plan;
  }
  if (LISTS.has(route)) {
    const merged = mergeOwnerFilter(decision.target, owner, route === 'GET /containers/json');
    if (typeof merged === 'string') {
      return deny(400, 'bad-target', `the filters of ${route} are refused: ${merged}`, {
        path: decision.path,
      });
    }
    plan.target = merged.target;
    for (const ref of merged.refs)
      plan.refs.push({ kind: 'container', ref, answer: 'list-filter' });
    return plan;
  }
  if (route === 'POST /commit') {
    const q = parseQuery(queryOf(decision.target));
    for (const ref of typeof q === 'string' ? [] : (q.get('container') ?? [])) {
      plan.refs.push({ kind: 'container', ref, answer: 'missing' });
    }
    return plan;
  }
  const template = route.slice(route.indexOf(' ') + 1);
  let kind: OwnedKind | undefined;
  if (CONTAINER.test(template)) kind = 'container';
  else if (EXEC.test(template)) kind = 'exec';
  else if (VOLUME_BY_NAME.has(route)) kind = 'volume';
  else if (NETWORK_BY_ID.has(route)) kind = 'network';
  if (kind === undefined) return plan;
  const match = routeOf(method, decision.path, decision.apiVersion !== undefined);
  const v = match?.route.vars[0];
  if (!match || !v) return plan;
  const ref = match.bindings[v.name]!;
  plan.refs.push({ kind, ref, answer: 'missing' });
  // decision.path is folded; the target keeps the `/vX.Y` prefix.
  const lead = template.slice(0, template.indexOf('{'));
  const prefix = decision.target.slice(0, versionPrefixLength(decision));
  if (decision.path.startsWith(lead + ref)) {
    plan.pin = {
      before: prefix + lead,
      after: decision.target.slice(prefix.length + lead.length + ref.length),
    };
  }
  if (route.endsWith('/connect') || route.endsWith('/disconnect')) {
    plan.body = { kind: 'network-connect', route };
  }
  if (route === 'POST /containers/{name:.*}/rename') {
    const q = parseQuery(queryOf(decision.target));
    const name = typeof q === 'string' ? undefined : q.get('name')?.[0];
    if (name) plan.refs.push({ kind: 'container', ref: name.replace(/^\//, ''), answer: 'taken' });
  }
  return plan;
}

/** Length of the `/vX.Y` prefix of the decision's path (0 when none). */
function versionPrefixLength(d: Allowed): number {
  return d.apiVersion === undefined ? 0 : 2 + d.apiVersion.length;
}

function queryOf(target: string): string {
  const q = target.indexOf('?');
  return q < 0 ? '' : target.slice(q + 1);
}

/** dockerd's `filters.Args`: each key's values (the legacy list form read into a set). */
export type FilterArgs = Map<string, Set<string>>;

/**
 * Reads a `filters` value as dockerd's `filters.FromJSON` does: `''` is empty; the modern
 * form `{"key":{"value":true}}` (`map[string]map[string]bool`), else the legacy form
 * `{"key":["value"]}` (`map[string][]string`), both with Go's `encoding/json` (last of
 * duplicate keys wins, `null` leaves the zero value). A reason when neither reads.
 */
export function readFilters(raw: string): FilterArgs | string {
  const out: FilterArgs = new Map();
  if (raw === '') return out;
  const modern = readGoJsonText(raw, { map: { map: 'bool' } });
  if (modern.ok) {
    for (const [k, v] of Object.entries((modern.value ?? {}) as Record<string, GoValue>)) {
      out.set(k, new Set(Object.keys((v ?? {}) as Record<string, GoValue>)));
    }
    return out;
  }
  const legacy = readGoJsonText(raw, { map: { slice: 'string' } });
  if (legacy.ok) {
    for (const [k, v] of Object.entries((legacy.value ?? {}) as Record<string, GoValue>)) {
      out.set(k, new Set((v ?? []) as string[]));
    }
    return out;
  }
  return `not a filter map as dockerd reads it (${modern.reason})`;
}

/** The modern JSON form of filter args (what dockerd reads back as the same args). */
export function formatFilters(args: FilterArgs): string {
  const o: Record<string, Record<string, true>> = {};
  for (const [k, vs] of args) {
    const inner: Record<string, true> = {};
    for (const v of vs) inner[v] = true;
    o[k] = inner;
  }
  return JSON.stringify(o);
}

/**
 * Merges `label=hijack.owner=<owner>` into the target's `filters` (the first `filters`
 * parameter, the one dockerd reads; every other one is dropped), keeping the client's own
 * filters and every other parameter byte for byte. dockerd ANDs label filters, so the list
 * shows only the owner's objects whatever else the client asks. For a container list, the
 * `before` and `since` filters name containers, returned in `refs` (they must be owned too).
 */
export function mergeOwnerFilter(
  target: string,
  owner: string,
  containerList = false,
): { target: string; refs: string[] } | string {
  const q = target.indexOf('?');
  const path = q < 0 ? target : target.slice(0, q);
  const parts = q < 0 ? [] : target.slice(q + 1).split('&');
  let raw: string | undefined;
  const kept: string[] = [];
  for (const part of parts) {
    const p = parseQuery(part);
    if (typeof p === 'string') return p;
    const f = p.get('filters');
    if (f !== undefined) raw ??= f[0]!;
    else if (part !== '') kept.push(part);
  }
  const args = readFilters(raw ?? '');
  if (typeof args === 'string') return args;
  const labels = args.get('label') ?? new Set<string>();
  labels.add(`${OWNER_LABEL}=${owner}`);
  args.set('label', labels);
  const refs = containerList ? [...(args.get('before') ?? []), ...(args.get('since') ?? [])] : [];
  kept.push(`filters=${encodeURIComponent(formatFilters(args))}`);
  return { target: `${path}?${kept.join('&')}`, refs };
}

/** dockerd's answer for a missing object of `kind` named `ref`, as this request would get it. */
export function notFound(
  kind: OwnedKind,
  ref: string,
  answer: PathRef['answer'],
  route: string | undefined,
  apiVersion: string | undefined,
): NotFound {
  if (answer === 'taken') {
    // A name the object would take (rename): another identity's container has it.
    return json(
      403,
      `hijack gateway: name "${ref}" is taken by a container that is not yours (scope owner)`,
    );
  }
  if (answer === 'list-filter') {
    const message = `no such container ${ref}`;
    return json(500, message);
  }
  const message =
    route === 'POST /containers/{name:.*}/kill'
      ? `Cannot kill container: ${ref}: No such container: ${ref}`
      : kind === 'container'
        ? `No such container: ${ref}`
        : kind === 'exec'
          ? `No such exec instance: ${ref}`
          : kind === 'volume'
            ? `get ${ref}: no such volume`
            : `network ${ref} not found`;
  if (route === 'POST /containers/{name:.*}/attach') {
    // dockerd answers attach in its raw-stream shape, the error as text.
    return {
      status: 404,
      message,
      contentType: 'application/vnd.docker.raw-stream',
      body: `${message}\r\n`,
    };
  }
  if (apiVersion !== undefined && versionLess(apiVersion, '1.24')) {
    return { status: 404, message, contentType: 'text/plain; charset=utf-8', body: `${message}\n` };
  }
  return json(404, message);
}

function json(status: 403 | 404 | 500, message: string): NotFound {
  return {
    status,
    message,
    contentType: 'application/json',
    body: JSON.stringify({ message }) + '\n',
  };
}

function versionLess(a: string, b: string): boolean {
  const [am, an] = a.split('.').map(Number);
  const [bm, bn] = b.split('.').map(Number);
  return am! < bm! || (am === bm && an! < bn!);
}

// ---------------------------------------------------------------- bodies

/** An object a body names, which the client must own; `field` names it in the refusal. */
export interface BodyRef {
  kind: 'container' | 'volume' | 'network';
  ref: string;
  field: string;
  /** A name given with a leading `/`: it must resolve by name (no id prefix). */
  byName?: boolean;
  /**
   * The name the new object takes: refused only when an object of that name exists and is
   * not the client's (dockerd would answer a conflict naming it, or hand back another's volume).
   */
  ifExists?: boolean;
  /**
   * Where the reference is in the body and how it reads with the object's full id in it
   * (`prefix + id + suffix`): container references that dockerd resolves again later (a
   * `container:` mode at start) are pinned to the id that was checked.
   */
  pin?: { path: (string | number)[]; prefix: string; suffix: string };
}

/** Outcome of {@link ownedBody}: the body to forward and the objects it names, or a refusal. */
export type OwnedBody =
  { ok: true; body: Buffer; refs: BodyRef[] } | { ok: false; refusal: DenyDecision };

/** Network modes that name no user-defined network. */
const BUILTIN_NETWORKS = new Set(['', 'default', 'bridge', 'none', 'host']);

function bad(route: string, reason: string, path: string): OwnedBody {
  return {
    ok: false,
    refusal: deny(400, 'bad-body', `the body of ${route} is refused: ${reason}`, { path }),
  };
}

/** A container named in a body (`x`, or `/x` by name only), as dockerd resolves it. */
function containerRef(ref: string, field: string): BodyRef {
  return ref.startsWith('/')
    ? { kind: 'container', ref: ref.slice(1), field, byName: true }
    : { kind: 'container', ref, field };
}

/**
 * Reads a create (or network connect) body for scope owner, Go-exact: refuses a client's
 * own `hijack.owner` label (403, naming the field), inserts the owner's label into `Labels`
 * (an edit in place: every other byte stays; re-read to prove dockerd reads the same body
 * plus the label), and lists the objects the body names (`VolumesFrom`, `container:` modes,
 * `Links`, named volumes, user-defined networks; a connect's `Container`). Pure.
 */
export function ownedBody(
  kind: OwnerBodyKind,
  body: Buffer,
  owner: string,
  route: string,
  path: string,
): OwnedBody {
  const refs: BodyRef[] = [];
  if (kind === 'network-connect') {
    const r = readGoJson(body, networkConnectStruct);
    if (!r.ok) return bad(route, r.reason, path);
    const c = text(obj(r.value)?.['Container']);
    if (c !== '') refs.push(containerRef(c, 'Container'));
    return { ok: true, body, refs };
  }
  const read = readDockerBody(kind, body);
  if (!read.ok) return bad(route, read.reason, path);
  const v = obj(read.value) ?? {};
  const labels = obj(kind === 'container-create' ? obj(v['Config'])?.['Labels'] : v['Labels']);
  if (labels !== null && Object.prototype.hasOwnProperty.call(labels, OWNER_LABEL)) {
    return {
      ok: false,
      refusal: deny(
        403,
        'not-owned',
        `Labels["${OWNER_LABEL}"] is set by the gateway (scope owner); a client may not set it`,
        { path },
      ),
    };
  }
  if (kind === 'volume-create' && text(v['Name']) !== '') {
    refs.push({ kind: 'volume', ref: text(v['Name']), field: 'Name', ifExists: true });
  }
  if (kind === 'container-create') {
    const more = createRefs(v, body, route, path);
    if (!Array.isArray(more)) return more;
    refs.push(...more);
  }
  const edited = insertOwnerLabel(body, owner);
  if (typeof edited === 'string') return bad(route, edited, path);
  const again = readDockerBody(kind, edited);
  if (!again.ok || !sameButOwner(read.value, again.value, owner, kind === 'container-create')) {
    return bad(
      route,
      'the owner label cannot be added without changing how dockerd reads the body',
      path,
    );
  }
  return { ok: true, body: edited, refs };
}

/**
 * The body step of an {@link OwnerPlan}, pure: {@link ownedBody} for the plan's body, with
 * the create's `?name=` first among the objects to check (a name another identity's
 * container has is refused). What the daemon must then confirm is in `refs`.
 */
export function planBody(plan: OwnerPlan, body: Buffer, path: string): OwnedBody {
  const b = plan.body!;
  const read = ownedBody(b.kind, body, plan.owner, b.route, path);
  if (!read.ok || !b.name) return read;
  const name: BodyRef = {
    kind: 'container',
    ref: b.name,
    field: 'name',
    byName: true,
    ifExists: true,
  };
  return { ...read, refs: [name, ...read.refs] };
}

/** The objects a container create body names. */
function createRefs(v: Obj, body: Buffer, route: string, path: string): BodyRef[] | OwnedBody {
  const refs: BodyRef[] = [];
  const hc = obj(v['HostConfig']) ?? {};
  for (const [i, s] of list(hc['VolumesFrom']).entries()) {
    const id = text(s).split(':')[0]!;
    const suffix = text(s).slice(id.length);
    const pin = { path: ['HostConfig', 'VolumesFrom', i], prefix: '', suffix };
    refs.push({ ...containerRef(id, `HostConfig.VolumesFrom[${i}]`), pin });
  }
  for (const f of ['NetworkMode', 'PidMode', 'IpcMode']) {
    const m = text(hc[f]);
    if (m.startsWith('container:')) {
      const pin = { path: ['HostConfig', f], prefix: 'container:', suffix: '' };
      refs.push({ ...containerRef(m.slice('container:'.length), `HostConfig.${f}`), pin });
    }
  }
  const nm = text(hc['NetworkMode']);
  if (!nm.startsWith('container:') && !BUILTIN_NETWORKS.has(nm)) {
    refs.push({ kind: 'network', ref: nm, field: 'HostConfig.NetworkMode' });
  }
  for (const [i, b] of list(hc['Binds']).entries()) {
    const s = text(b);
    const colon = s.indexOf(':');
    if (colon > 0 && !s.startsWith('/')) {
      refs.push({ kind: 'volume', ref: s.slice(0, colon), field: `HostConfig.Binds[${i}]` });
    }
  }
  for (const [i, m] of list(hc['Mounts']).entries()) {
    const mount = obj(m) ?? {};
    if (text(mount['Type']) === 'volume' && text(mount['Source']) !== '') {
      refs.push({
        kind: 'volume',
        ref: text(mount['Source']),
        field: `HostConfig.Mounts[${i}].Source`,
      });
    }
  }
  const extra = readGoJson(body, containerCreateRefsStruct);
  if (!extra.ok) return bad(route, extra.reason, path);
  // dockerd's ParseLink: `name` or `name:alias`; the name before the first ':'.
  for (const [i, l] of list(obj(obj(extra.value)?.['HostConfig'])?.['Links']).entries()) {
    const name = text(l).split(':')[0]!;
    if (name !== '') refs.push(containerRef(name, `HostConfig.Links[${i}]`));
  }
  const eps = obj(obj(obj(extra.value)?.['NetworkingConfig'])?.['EndpointsConfig']);
  for (const name of Object.keys(eps ?? {})) {
    if (!BUILTIN_NETWORKS.has(name)) {
      refs.push({
        kind: 'network',
        ref: name,
        field: `NetworkingConfig.EndpointsConfig[${JSON.stringify(name)}]`,
      });
    }
  }
  return refs;
}

/**
 * Inserts `"hijack.owner":"<owner>"` into the body's top-level `Labels` object (matched as
 * Go matches field names), replacing a `null` one, or adds `"Labels":{…}` first when there
 * is none. The body must already be read (one `Labels` at most, no owner label in it).
 */
export function insertOwnerLabel(body: Buffer, owner: string): Buffer | string {
  const m = jsonMembers(body);
  if (!m.ok) return m.reason;
  const { text: t, members } = m.value;
  const entry = `${JSON.stringify(OWNER_LABEL)}:${JSON.stringify(owner)}`;
  const found = members.filter((x) => goFoldEqual('Labels', x.key));
  let out: string;
  if (found.length === 0) {
    const sep = m.value.empty ? '' : ',';
    out = `${t.slice(0, m.value.open)}"Labels":{${entry}}${sep}${t.slice(m.value.open)}`;
  } else if (found.length === 1 && found[0]!.type === 'object') {
    const at = found[0]!.start + 1;
    out = `${t.slice(0, at)}${entry}${found[0]!.empty ? '' : ','}${t.slice(at)}`;
  } else if (found.length === 1 && found[0]!.type === 'null') {
    out = `${t.slice(0, found[0]!.start)}{${entry}}${t.slice(found[0]!.end)}`;
  } else return 'its Labels cannot take the owner label';
  return Buffer.from(out, 'utf8');
}

/**
 * Rewrites the pinned references of a container create body to the full ids that were
 * checked (each value replaced in place, every other byte kept), then reads the result
 * again: it must decode to the body as read with exactly those values changed. The body to
 * forward, or why it cannot be rewritten.
 */
export function pinBody(
  body: Buffer,
  pins: { pin: NonNullable<BodyRef['pin']>; id: string }[],
): Buffer | string {
  if (pins.length === 0) return body;
  const before = readDockerBody('container-create', body);
  if (!before.ok) return before.reason;
  let t = body.toString('utf8');
  const edits: [number, number, string][] = [];
  const want = structuredClone(before.value);
  for (const { pin, id } of pins) {
    const span = jsonValueSpan(t, pin.path);
    if (!span) return `cannot find ${pin.path.join('.')}`;
    const value = pin.prefix + id + pin.suffix;
    edits.push([span[0], span[1], JSON.stringify(value)]);
    let at = want as GoValue;
    for (const step of pin.path.slice(0, -1))
      at = (at as Obj | GoValue[])[step as never] as GoValue;
    (at as Obj | GoValue[])[pin.path[pin.path.length - 1] as never] = value as never;
  }
  edits.sort((a, b) => b[0] - a[0]);
  for (const [start, end, v] of edits) t = t.slice(0, start) + v + t.slice(end);
  const out = Buffer.from(t, 'utf8');
  const after = readDockerBody('container-create', out);
  if (!after.ok || canonical(after.value) !== canonical(want)) {
    return 'its references cannot be pinned without changing how dockerd reads the body';
  }
  return out;
}

/** True when `b` is `a` with the owner label added to its labels, nothing else changed. */
function sameButOwner(a: GoValue, b: GoValue, owner: string, nested: boolean): boolean {
  const holder = (v: GoValue) => (nested ? obj(obj(v)?.['Config']) : obj(v));
  const la = { ...(holder(a)?.['Labels'] as Obj | null) };
  const lb = { ...(holder(b)?.['Labels'] as Obj | null) };
  if (lb[OWNER_LABEL] !== owner) return false;
  delete lb[OWNER_LABEL];
  if (canonical(la) !== canonical(lb)) return false;
  const strip = (v: GoValue) => {
    const c = structuredClone(v) as Obj;
    const h = nested ? obj(c['Config']) : c;
    if (h) delete h['Labels'];
    return canonical(c);
  };
  return strip(a) === strip(b);
}

function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    typeof x === 'bigint'
      ? `n:${x}`
      : x !== null && typeof x === 'object' && !Array.isArray(x)
        ? Object.fromEntries(
            Object.entries(x as Record<string, unknown>).sort(([p], [q]) =>
              p < q ? -1 : p > q ? 1 : 0,
            ),
          )
        : x,
  );
}

/** The refusal for a body naming an object the client does not own (or that does not exist). */
export function notOwnedInBody(r: BodyRef, path: string): DenyDecision {
  const what = r.kind === 'container' ? 'container' : r.kind;
  if (r.ifExists) {
    return deny(
      403,
      'not-owned',
      `${r.field} ${JSON.stringify(r.ref)} is taken by a ${what} that is not yours (scope owner)`,
      { path },
    );
  }
  return deny(
    403,
    'not-owned',
    `${r.field} names ${what} ${JSON.stringify(r.byName ? `/${r.ref}` : r.ref)}, which is not yours (scope owner)`,
    { path },
  );
}
