/**
 * The policy: deny by default; deny rules win over allow rules; identity-scoped rule
 * blocks add rules for matching clients.
 *
 * @module
 */
import { compileMatcher, type CompiledMatcher } from '../identity/match.js';
import type {
  ClientIdentity,
  DenyDecision,
  ForwardProxyOptions,
  PolicyDecision,
  PolicyRequest,
  PolicySpec,
  Rule,
  Scope,
} from '../types.js';
import {
  compilePattern,
  matchMethod,
  matchPattern,
  matchQuery,
  type PatternSegment,
} from './rule.js';
import { DEFAULT_MAX_TARGET_LENGTH, normalizeTarget } from './target.js';
import { routeOf, routeSegments } from './docker-routes.js';
import type { BodyRules } from './body-rules.js';

/** The prefix of every refusal message, so the Docker CLI's output says who refused. */
export const MESSAGE_PREFIX = 'hijack gateway: ';

interface CompiledRule {
  rule: Rule;
  pattern: PatternSegment[];
}

interface CompiledBlock {
  when: CompiledMatcher;
  rules: CompiledRule[];
  body?: BodyRules;
  scope?: Scope;
  scopeSource?: string;
  /** Position in the spec's blocks, from 1 (as `hijack policy check` numbers them). */
  index: number;
}

/** A compiled policy. */
export interface Policy {
  /** The spec it was compiled from. */
  readonly spec: PolicySpec;
  /**
   * Decide one request: normalise its target (400/414), then deny rules (403), allow rules
   * (allow), no rule naming the method (405 with Allow), else 403 (deny by default).
   * CONNECT is refused with 405 here; forward-proxy mode uses {@link Policy.decideConnect}.
   */
  decide(req: PolicyRequest, identity?: ClientIdentity): PolicyDecision;
  /** Decide a CONNECT authority (`host:port`) against the forward-proxy allowlist. */
  decideConnect(authority: string, forwardProxy: ForwardProxyOptions): PolicyDecision;
  /**
   * The body rules for a client: those of the last matching block that has some, else the
   * top-level ones; undefined when bodies are not read.
   */
  bodyRules(identity?: ClientIdentity): BodyRules | undefined;
  /** The ownership scope for a client: that of the last matching block that sets one, else the top-level one (default `all`). */
  scope(identity?: ClientIdentity): Scope;
  /** {@link Policy.scope} with where it comes from (`preset sandbox`, `block 2, gateway.yaml:9`, `default`). */
  scopeOf(identity?: ClientIdentity): ScopeOf;
}

/** A client's scope and where it comes from. */
export interface ScopeOf {
  scope: Scope;
  /** `flag --scope`, `preset sandbox`, `gateway.yaml:3`, `block 2 (gateway.yaml:9)`, or `default`. */
  source: string;
}

/** Build a refusal decision. */
export function deny(
  status: DenyDecision['status'],
  reason: DenyDecision['reason'],
  message: string,
  extra: Partial<Pick<DenyDecision, 'headers' | 'rule' | 'path'>> = {},
): DenyDecision {
  return {
    action: 'deny',
    status,
    reason,
    message: MESSAGE_PREFIX + message,
    headers: extra.headers ?? {},
    ...extra,
  };
}

function compileRules(rules: Rule[]): CompiledRule[] {
  return rules.map((rule) => ({
    rule,
    pattern: compilePattern(rule.path, rule.text, rule.source),
  }));
}

function ruleLabel(rule: Rule): string {
  return `${rule.effect} ${rule.text}${rule.source ? ` from ${rule.source}` : ''}`;
}

/**
 * Compile a {@link PolicySpec} into a {@link Policy}; throws HijackError ERR_CONFIG when a
 * rule or a block's identity matcher is invalid.
 */
export function compilePolicy(spec: PolicySpec): Policy {
  const top = compileRules(spec.rules);
  const blocks: CompiledBlock[] = spec.blocks.map((b, i) => ({
    when: compileMatcher(b.when),
    rules: compileRules(b.rules),
    ...(b.body ? { body: b.body } : {}),
    ...(b.scope ? { scope: b.scope } : {}),
    ...(b.scopeSource ? { scopeSource: b.scopeSource } : {}),
    index: i + 1,
  }));
  // 405 is for a method no allow rule anywhere names (in any block, for any client).
  const everyAllow = [...top, ...blocks.flatMap((b) => b.rules)].filter(
    (c) => c.rule.effect === 'allow',
  );
  const maxTarget = spec.maxTargetLength ?? DEFAULT_MAX_TARGET_LENGTH;
  const scopeOf = (identity?: ClientIdentity): ScopeOf => {
    let out: ScopeOf = spec.scope
      ? { scope: spec.scope, source: spec.scopeSource ?? 'the policy' }
      : { scope: 'all', source: 'default' };
    for (const b of blocks) {
      if (b.scope && b.when.test(identity)) {
        const at = b.scopeSource ? ` (${b.scopeSource})` : '';
        out = { scope: b.scope, source: `block ${b.index}${at}` };
      }
    }
    return out;
  };

  return {
    spec,
    bodyRules(identity) {
      let rules = spec.body;
      for (const b of blocks) if (b.body && b.when.test(identity)) rules = b.body;
      return rules;
    },
    scope(identity) {
      return scopeOf(identity).scope;
    },
    scopeOf,
    decide(req, identity) {
      const method = req.method.toUpperCase();
      if (method === 'CONNECT') {
        return deny(
          405,
          'method-not-allowed',
          'CONNECT is only accepted in forward-proxy mode (--forward-proxy)',
        );
      }
      const t = normalizeTarget(req.url, maxTarget);
      if (!t.ok) {
        return deny(
          t.status,
          t.status === 414 ? 'target-too-long' : 'bad-target',
          `the request target ${t.why}`,
        );
      }
      const applicable = [...top];
      for (const b of blocks) if (b.when.test(identity)) applicable.push(...b.rules);

      // A repeated parameter that a rule checks is ambiguous (readers take the first or the last).
      for (const c of applicable) {
        for (const q of c.rule.query) {
          if ((t.params.get(q.name)?.length ?? 0) > 1) {
            return deny(
              400,
              'bad-target',
              `the request target repeats the query parameter '${q.name}', which the policy checks`,
              {
                path: t.folded,
              },
            );
          }
        }
      }
      // Segments as dockerd's router binds them: a `{name:.*}` variable is one segment,
      // slashes included. Allow rules match that view (the raw segments when no route
      // matched); deny rules match either, so no reading escapes a deny.
      const route = routeOf(method, t.folded, t.apiVersion !== undefined);
      const routed = route ? routeSegments(route) : t.segments;
      const matches = (c: CompiledRule) =>
        matchMethod(c.rule, method) &&
        matchPattern(c.pattern, routed) &&
        matchQuery(c.rule.query, t.params);
      const matchesAny = (c: CompiledRule) =>
        matches(c) ||
        (routed !== t.segments &&
          matchMethod(c.rule, method) &&
          matchPattern(c.pattern, t.segments) &&
          matchQuery(c.rule.query, t.params));
      const shown = `${method} ${t.folded}`;
      const denied = applicable.find((c) => c.rule.effect === 'deny' && matchesAny(c));
      if (denied) {
        return deny(
          403,
          'denied-by-rule',
          `${shown} is not allowed by the policy (rule: ${ruleLabel(denied.rule)})`,
          {
            rule: denied.rule,
            path: t.folded,
          },
        );
      }
      const allowed = applicable.find((c) => c.rule.effect === 'allow' && matches(c));
      if (allowed) {
        return {
          action: 'allow',
          status: 200,
          target: t.target,
          path: t.folded,
          ...(t.apiVersion !== undefined ? { apiVersion: t.apiVersion } : {}),
          rule: allowed.rule,
          ...(route ? { route: `${route.route.method} ${route.route.template}` } : {}),
        };
      }
      const allows = applicable.filter((c) => c.rule.effect === 'allow');
      if (!everyAllow.some((c) => matchMethod(c.rule, method))) {
        const methods = new Set<string>();
        for (const c of allows) {
          if (c.rule.methods !== '*' && matchPattern(c.pattern, routed))
            c.rule.methods.forEach((m) => methods.add(m));
        }
        const headers: Record<string, string> = methods.size
          ? { allow: [...methods].sort().join(', ') }
          : {};
        return deny(
          405,
          'method-not-allowed',
          `${method} is not allowed by the policy on any path`,
          {
            headers,
            path: t.folded,
          },
        );
      }
      return deny(
        403,
        'no-rule',
        `${shown} is not allowed by the policy (no rule allows it; deny by default)`,
        {
          path: t.folded,
        },
      );
    },
    decideConnect(authority, forwardProxy) {
      if (!forwardProxy.enabled) {
        return deny(
          405,
          'method-not-allowed',
          'CONNECT is only accepted in forward-proxy mode (--forward-proxy)',
        );
      }
      const hp = parseAuthority(authority);
      if (!hp) return deny(400, 'bad-target', 'the CONNECT target is not host:port');
      const ok = forwardProxy.connectAllow.some((entry) => {
        const e = parseAllowEntry(entry);
        return (
          e !== undefined &&
          (e.host === '*' || e.host === hp.host) &&
          (e.port === '*' || e.port === hp.port)
        );
      });
      if (!ok)
        return deny(
          403,
          'denied-by-rule',
          `CONNECT ${hp.host}:${hp.port} is not in --connect-allow`,
        );
      return {
        action: 'allow',
        status: 200,
        target: authority,
        path: authority,
        rule: {
          effect: 'allow',
          methods: ['CONNECT'],
          path: authority,
          query: [],
          text: `CONNECT ${authority}`,
          source: '--connect-allow',
        },
      };
    },
  };
}

/** Parse `host:port` / `[v6]:port`; host lower-cased, port 1-65535 as text. */
export function parseAuthority(authority: string): { host: string; port: string } | undefined {
  const m = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(authority);
  if (!m) return undefined;
  const port = Number(m[2]);
  if (port < 1 || port > 65535 || String(port) !== m[2]) return undefined;
  return { host: m[1]!.toLowerCase(), port: m[2]! };
}

function parseAllowEntry(entry: string): { host: string; port: string } | undefined {
  const m = /^(\*|\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\*|\d{1,5})$/.exec(entry.trim());
  return m ? { host: m[1]!.toLowerCase(), port: m[2]! } : undefined;
}

/** True when `entry` is a valid `--connect-allow` value (`host:port`, `host:*`, `*:port`). */
export function isConnectAllowEntry(entry: string): boolean {
  const e = parseAllowEntry(entry);
  return e !== undefined && (e.port === '*' || (Number(e.port) >= 1 && Number(e.port) <= 65535));
}
