/**
 * Admission: the one pure step that decides a request. The request's parsed head and its
 * connection's facts go in; a refusal (status, reason, message) or a decision (who, what
 * is forwarded, how it is carried) comes out. No socket, no clock, no state: the server,
 * the unit tests and docs/security.md describe the same order of checks.
 *
 * Order of checks (the first that fails answers):
 * 1. HTTP/1.x only (400); at most `maxHeadersCount` fields (431).
 * 2. The connection: CIDR, unix peer uid/gid, client certificate (403).
 * 3. Framing: {@link checkFraming} (CL/TE conflicts, lists, folding, Host, form bodies:
 *    400); a `Connection` header naming a field the gateway reads or frames with (400);
 *    an `Expect` other than `100-continue` (417).
 * 4. Identity: exactly one Authorization field, then the bearer token (401/403).
 * 5. The policy on the canonical target, or the forward-proxy allowlist for CONNECT
 *    (400, 403, 405, 414).
 * 6. The body's size against `maxBody` when its length is declared (413).
 * 7. For `POST /build` under body rules: its query, read as dockerd reads it
 *    ({@link admitBuildQuery}: 400 unreadable, 403 a body rule).
 * 8. For a request whose body the body rules read (create, update, exec, volume and network create):
 *    its declared size against the policy's read limit (413), a JSON content type without
 *    content coding, no Upgrade (400). The body itself is decided by {@link admitBody} once
 *    read whole (400 unreadable, 403 a body rule), and forwarded as read.
 * 9. Scope owner ({@link ownerPlan}): a route that shows every identity's objects (403), an
 *    unreadable `filters` (400); the plan names the objects to own, the pinned or filtered
 *    target and the create body to label. The objects are checked against the daemon after
 *    admission (forward/owner-lookup.ts: 404 as dockerd answers for a missing object), the
 *    body once read whole (403 naming the field).
 * Then the decision says how the request is carried: an ordinary request over the pool, a
 * streaming answer over its own upstream connection, or a takeover (Upgrade, Docker's
 * 200 raw stream, CONNECT tunnel); and the head fields to forward, written by the gateway:
 * the client's end-to-end fields without hop-by-hop ones, the gateway's token, `Expect`
 * and every framing field (the forwarder emits the framing of the body it sends).
 *
 * @module
 */
import type { Authenticator } from './identity/index.js';
import { checkFraming, deny, parseAuthority } from './policy/index.js';
import type { Policy } from './policy/index.js';
import { connectionTokens, isHopByHop, upgradeType } from '../http1/hop-by-hop.js';
import { streamingAnswer } from './policy/streaming.js';
import { admitBodyHead, bodyKindOf, type BodyCheck } from './policy/body-check.js';
import { DEFAULT_MAX_JSON_BODY } from './policy/body-json.js';
import { admitBuildQuery } from './policy/build-query.js';
import { ownerPlan, type OwnerPlan } from './policy/owner.js';
import type {
  ClientIdentity,
  ConnectionFacts,
  DenyDecision,
  ForwardProxyOptions,
  PolicyDecision,
} from './types.js';

/** The build route as the policy names it: its query is checked by the body rules. */
const BUILD_ROUTE = 'POST /build';

/** What admission reads of a request: its parsed head (a node:http IncomingMessage fits). */
export interface AdmitRequest {
  method?: string | undefined;
  url?: string | undefined;
  httpVersion: string;
  httpVersionMajor: number;
  /** Alternating names and values, as received. */
  rawHeaders: string[];
  /** Lower-cased fields, as Node gives them. */
  headers: Record<string, string | string[] | undefined>;
}

/** The fixed settings admission decides with. */
export interface AdmitContext {
  policy: Policy;
  auth: Authenticator;
  forwardProxy: ForwardProxyOptions;
  /** Most header fields a request may have (431 beyond). */
  maxHeadersCount: number;
  /** Largest request body in bytes; 0: no limit. */
  maxBody: number;
  /** POST paths (folded) that may get Docker's legacy 200 raw-stream answer. */
  rawStreamPaths: RegExp;
  /** Largest body the body rules read, bytes (default 1 MiB); 413 beyond. */
  maxPolicyBody?: number;
}

/** How an admitted request is carried. */
export type Carry =
  /** Over the keep-alive pool. */
  | 'ordinary'
  /** A streaming answer (events, logs -f, stats, wait, pulls …): its own upstream connection. */
  | 'stream'
  /** Upgrade: 101 then a spliced stream. */
  | 'upgrade'
  /** Docker attach / exec start without Upgrade: maybe a 200 raw stream. */
  | 'raw-stream'
  /** CONNECT tunnel (forward-proxy mode). */
  | 'connect';

/** How the request's body is framed, as the gateway read it. */
export type BodyFraming =
  { kind: 'none' } | { kind: 'length'; length: number } | { kind: 'chunked' };

/** A refusal: answer `status` with `message` (Docker's `{"message"}` shape), then maybe close. */
export type Refusal = DenyDecision & {
  /** Who the client is, when identified before the refusal. */
  identity?: ClientIdentity;
};

/** An admitted request: what to forward and how. */
export interface Admitted {
  action: 'allow';
  identity: ClientIdentity;
  /** The policy's decision (canonical target, folded path, the rule). */
  decision: Extract<PolicyDecision, { action: 'allow' }>;
  carry: Carry;
  /** The requested protocol for `upgrade`. */
  upgrade?: string;
  framing: BodyFraming;
  /** Head fields to forward (`[name, value, …]`), framing fields excluded. */
  headers: string[];
  /** The client asked for `100 Continue` before sending its body. */
  expectContinue: boolean;
  /** For `connect`: the authority the policy allowed, parsed once. */
  connect?: { host: string; port: number };
  /** The body is read whole and decided ({@link admitBody}) before it is forwarded. */
  body?: BodyCheck;
  /**
   * Scope owner: the objects the request names (to be owned), the pinned or filtered target,
   * the create body to label ({@link ownerPlan}); checked against the daemon before forwarding.
   */
  owner?: OwnerPlan;
  /** Largest body read whole (for `body` or `owner.body`), bytes. */
  bodyLimit?: number;
}

/** Either outcome of {@link admit}. */
export type Admission = Refusal | Admitted;

/**
 * Fields that a `Connection` header may not name: the gateway frames, routes, identifies
 * or decides with them, and a hop that dropped them would forward a different request.
 */
export const PROTECTED_FIELDS: ReadonlySet<string> = new Set([
  'content-length',
  'transfer-encoding',
  'host',
  'authorization',
  'content-type',
  'content-encoding',
  'expect',
]);

/** Decides one request; see the module comment for the order of checks. Never throws. */
export function admit(req: AdmitRequest, facts: ConnectionFacts, ctx: AdmitContext): Admission {
  const method = req.method ?? '';
  if (req.httpVersionMajor !== 1) {
    return deny(400, 'bad-framing', `HTTP/${req.httpVersion} is not supported; speak HTTP/1.1`);
  }
  if (req.rawHeaders.length / 2 > ctx.maxHeadersCount) {
    return deny(431, 'too-many-headers', `more than ${ctx.maxHeadersCount} header fields`);
  }
  const conn = ctx.auth.checkConnection(facts);
  if (conn) return conn;
  const framingRefusal = checkFraming({
    method,
    httpVersion: req.httpVersion,
    rawHeaders: req.rawHeaders,
  });
  if (framingRefusal) return framingRefusal;

  const named = connectionTokens(req.rawHeaders);
  for (const t of named) {
    if (PROTECTED_FIELDS.has(t)) {
      return deny(
        400,
        'bad-framing',
        `request refused: Connection names ${t}, a field the gateway reads (the request would change on the way)`,
      );
    }
  }
  let expectContinue = false;
  let authorization = 0;
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const lower = req.rawHeaders[i]!.toLowerCase();
    if (lower === 'expect') {
      if (req.rawHeaders[i + 1]!.trim().toLowerCase() !== '100-continue' || expectContinue) {
        return deny(417, 'expectation-failed', 'only Expect: 100-continue is supported');
      }
      expectContinue = true;
    } else if (lower === 'authorization') authorization++;
  }
  // Node keeps only the first of repeated Authorization fields: refuse the ambiguity.
  if (authorization > 1) {
    return deny(401, 'unauthenticated', 'send exactly one Authorization header', {
      headers: { 'WWW-Authenticate': 'Bearer' },
    });
  }
  const who = ctx.auth.identify(facts, req.headers);
  if ('action' in who) return who;
  const identity = who;

  const isConnect = method === 'CONNECT';
  const decision = isConnect
    ? ctx.policy.decideConnect(req.url ?? '', ctx.forwardProxy)
    : ctx.policy.decide({ method, url: req.url ?? '', httpVersion: req.httpVersion }, identity);
  if (decision.action === 'deny') return { ...decision, identity };

  const framing = bodyFraming(req.headers);
  if (ctx.maxBody > 0 && framing.kind === 'length' && framing.length > ctx.maxBody) {
    return {
      ...deny(
        413,
        'body-too-large',
        `the request body (${framing.length} bytes) is over the gateway's limit of ${ctx.maxBody} bytes (--max-body)`,
        { path: decision.path },
      ),
      identity,
    };
  }

  if (method === 'POST' && decision.route === BUILD_ROUTE) {
    const rules = ctx.policy.bodyRules(identity);
    const q = decision.target.indexOf('?');
    const refusal = rules
      ? admitBuildQuery(
          rules,
          q < 0 ? '' : decision.target.slice(q + 1),
          req.rawHeaders,
          decision.path,
        )
      : undefined;
    if (refusal) return { ...refusal, identity };
  }

  let body: BodyCheck | undefined;
  const scoped = ctx.policy.scope(identity) === 'owner';
  const bodyRoute = method === 'POST' ? bodyKindOf(decision.route) : undefined;
  const bodyRules = bodyRoute ? ctx.policy.bodyRules(identity) : undefined;
  const limit = ctx.maxPolicyBody ?? DEFAULT_MAX_JSON_BODY;
  if (bodyRoute && bodyRules) {
    body = { ...bodyRoute, rules: scoped ? { ...bodyRules, ownedRefs: true } : bodyRules, limit };
  }
  let owner: OwnerPlan | undefined;
  if (scoped && !isConnect) {
    const plan = ownerPlan(method, decision, identity);
    if ('action' in plan) return { ...plan, identity };
    owner = plan;
  }
  const whole = body ?? owner?.body;
  if (whole) {
    const path = decision.path;
    if (framing.kind === 'length' && framing.length > limit) {
      const m = `the body of ${whole.route} (${framing.length} bytes) is over the ${limit} bytes the policy reads`;
      return { ...deny(413, 'body-too-large', m, { path }), identity };
    }
    const head = admitBodyHead(whole, req.headers, path);
    if (head) return { ...head, identity };
    if (upgradeType(req.rawHeaders) !== undefined) {
      const m = `the body of ${whole.route} is refused: an Upgrade on a request whose body the policy reads`;
      return { ...deny(400, 'bad-body', m, { path }), identity };
    }
  }

  const headers: string[] = [];
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i]!;
    const lower = name.toLowerCase();
    if (isHopByHop(lower) || named.has(lower)) continue;
    if (lower === 'content-length' || lower === 'expect') continue;
    if (lower === 'authorization' && ctx.auth.requiresToken) continue;
    headers.push(name, req.rawHeaders[i + 1]!);
  }

  const out: Admitted = {
    action: 'allow',
    identity,
    decision,
    carry: 'ordinary',
    framing,
    headers,
    expectContinue,
    ...(body ? { body } : {}),
    ...(owner ? { owner } : {}),
    ...(whole ? { bodyLimit: limit } : {}),
  };
  if (isConnect) {
    const a = parseAuthority(decision.target);
    if (!a) return { ...deny(400, 'bad-target', 'the CONNECT target is not host:port'), identity };
    out.carry = 'connect';
    out.connect = { host: a.host.replace(/^\[|\]$/g, ''), port: Number(a.port) };
    return out;
  }
  const upgrade = upgradeType(req.rawHeaders);
  if (upgrade !== undefined) {
    out.carry = 'upgrade';
    out.upgrade = upgrade;
  } else if (method === 'POST' && ctx.rawStreamPaths.test(decision.path)) {
    out.carry = 'raw-stream';
  } else if (streamingAnswer(decision.route, decision.target)) {
    out.carry = 'stream';
  }
  if (whole && out.carry !== 'ordinary') {
    const m = `the body of ${whole.route} is refused: it would not be read before forwarding`;
    return { ...deny(400, 'bad-body', m, { path: decision.path }), identity };
  }
  return out;
}

/** The body framing of a request whose head passed {@link checkFraming}. */
function bodyFraming(headers: AdmitRequest['headers']): BodyFraming {
  if (headers['transfer-encoding'] !== undefined) return { kind: 'chunked' };
  const cl = headers['content-length'];
  if (typeof cl === 'string') {
    const length = Number(cl.trim());
    if (length > 0) return { kind: 'length', length };
  }
  return { kind: 'none' };
}
