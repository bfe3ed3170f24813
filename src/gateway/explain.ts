/**
 * The effective policy of a gateway's options, as text for operators (`hijack policy check`,
 * `hijack gateway --explain`): who may connect, the route rules for everyone and for each
 * rule block, the body rules each applies and where every rule comes from.
 *
 * @module
 */
import { DEFAULT_MAX_JSON_BODY } from './policy/body-json.js';
import type { Allowlist, BodyRules } from './policy/body-rules.js';
import { OWNER_LABEL } from './policy/owner.js';
import type { GatewayOptions, IdentityMatcher, Rule, Scope } from './types.js';

const list = (a: Allowlist, none: string, all = 'any'): string =>
  a === '*'
    ? all
    : a.length === 0
      ? none
      : a.map((x) => (x === '' ? "'' (default)" : x)).join(', ');
const yes = (allowed: boolean) => (allowed ? 'allowed' : 'refused');

/** One line per body rule: its name and what it allows. */
export function describeBodyRules(r: BodyRules): string[] {
  const lim = Object.entries(r.requireLimits)
    .filter(([, v]) => v)
    .map(([k]) => k);
  const roots = list(r.bindRoots, 'none (no bind of a host path)', 'any host path');
  const rows: [string, string][] = [
    ['containers.privileged, execs.privileged', yes(r.privileged)],
    ['containers.capAdd', list(r.capAdd, 'none')],
    ['containers.devices', yes(r.devices)],
    ['containers.namespaces', r.hostNamespaces ? 'allowed' : 'host and container:… refused'],
    [
      'containers.securityOpt',
      r.securityOpt ? 'any' : 'only no-new-privileges and label user/role/type/level',
    ],
    ['containers.sysctls', yes(r.sysctls)],
    ['containers.runtime', list(r.runtimes, 'none')],
    ['containers.binds, volumes.bind', roots],
    ['containers.volumesFrom', yes(r.volumesFrom)],
    ['containers.image, builds.tag', list(r.images, 'none')],
    ['containers.limits', lim.length ? `required: ${lim.join(', ')}` : 'none required'],
    ['execs.user', list(r.execUsers, 'none')],
    ['networks.driver', list(r.networkDrivers, 'none')],
    ['networks.options', list(r.networkOptions, 'none')],
    [
      'networks.ipam',
      r.networkIpam ? 'allowed' : 'default IPAM only (no driver, options or pools)',
    ],
    ['networks.configFrom', yes(r.networkConfigFrom)],
    ['networks.ingress', yes(r.networkIngress)],
    ['builds.networkMode', list(r.buildNetworkModes, 'none')],
    ['builds.remote', yes(r.buildRemote)],
  ];
  const w = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`);
}

function ruleLine(r: Rule): string {
  return `${r.effect.padEnd(5)} ${r.text}${r.source ? `   (${r.source})` : ''}`;
}

/** `token ci; uid 0, 1000` for a block's `when`. */
export function describeMatcher(m: IdentityMatcher): string {
  const parts = Object.entries(m)
    .filter(([, v]) => Array.isArray(v) && v.length > 0)
    .map(([k, v]) => `${k} ${(v as unknown[]).join(', ')}`);
  return parts.join(' and ') || 'everybody';
}

/** `owner (from preset sandbox): …` for a scope and its source. */
function describeScope(scope: Scope, source: string): string {
  return scope === 'owner'
    ? `owner (from ${source}): a client sees and touches only the containers, execs, volumes and networks labelled ${OWNER_LABEL}=<its name> (its token name, cert:CN, uid:N or addr:IP); what it creates gets that label`
    : `all (from ${source}): a client sees every object`;
}

/**
 * The effective policy of `options` as lines of text: connections, everyone's rules, each
 * block's, the body rules and the ownership scope that apply, with the source of each.
 */
export function explainPolicy(options: GatewayOptions): string {
  const out: string[] = [];
  const a = options.auth;
  const who: string[] = [];
  if (a.tokens.length)
    who.push(`bearer token required (${a.tokens.map((t) => t.name).join(', ')})`);
  if (a.allowCidr.length) who.push(`addresses ${a.allowCidr.join(', ')}`);
  if (a.allowUid.length || a.allowGid.length) {
    who.push(
      `unix peers uid ${a.allowUid.join(', ') || '-'} or gid ${a.allowGid.join(', ') || '-'}`,
    );
  }
  if (a.allowSubject.length) who.push(`certificate CN ${a.allowSubject.join(', ')}`);
  if (a.allowFingerprint.length) who.push(`certificate fingerprints ${a.allowFingerprint.length}`);
  out.push(`Who may connect: ${who.join('; ') || 'any client that reaches a listener'}`);
  if (options.configFile) out.push(`Config file: ${options.configFile}`);
  const p = options.policy;
  const limit = p.bodyLimit ?? DEFAULT_MAX_JSON_BODY;
  const body = (r: BodyRules | undefined, indent: string, inherited: boolean) => {
    if (!r) {
      out.push(`${indent}Body rules: none (bodies are forwarded unread)`);
      return;
    }
    out.push(
      `${indent}Body rules${inherited ? " (everyone's)" : ''} from ${r.source}, bodies read up to ${limit} bytes:`,
    );
    for (const l of describeBodyRules(r)) out.push(`${indent}  ${l}`);
  };
  out.push('', 'Everyone:');
  const allows = p.rules.filter((r) => r.effect === 'allow');
  const denies = p.rules.filter((r) => r.effect === 'deny');
  out.push('  Routes (deny rules win; anything not allowed is refused):');
  for (const r of [...denies, ...allows]) out.push(`    ${ruleLine(r)}`);
  if (p.rules.length === 0) out.push('    (none)');
  body(p.body, '  ', false);
  const top = {
    scope: p.scope ?? 'all',
    source: p.scope ? (p.scopeSource ?? 'the policy') : 'default',
  };
  out.push(`  Scope: ${describeScope(top.scope, top.source)}`);
  p.blocks.forEach((b, i) => {
    out.push(
      '',
      `Block ${i + 1}, for clients matching ${describeMatcher(b.when)} (adds to everyone's):`,
    );
    const rules = [
      ...b.rules.filter((r) => r.effect === 'deny'),
      ...b.rules.filter((r) => r.effect === 'allow'),
    ];
    for (const r of rules) out.push(`    ${ruleLine(r)}`);
    if (rules.length === 0) out.push('    (no rules of its own)');
    if (b.body) body(b.body, '  ', false);
    else if (p.body) out.push(`  Body rules: everyone's (${p.body.source})`);
    if (b.scope) out.push(`  Scope: ${describeScope(b.scope, b.scopeSource ?? 'the policy')}`);
    else out.push(`  Scope: everyone's (${top.scope})`);
  });
  if (a.tokens.length) {
    out.push('', `By token${p.blocks.length ? ' (when the rest of a block matches too)' : ''}:`);
    for (const t of a.tokens) {
      const idx = p.blocks
        .map((b, i) => (b.when.token === undefined || b.when.token.includes(t.name) ? i + 1 : 0))
        .filter((i) => i > 0);
      // The last of its blocks that sets a scope wins, as Policy.scopeOf decides.
      const last = idx.filter((i) => p.blocks[i - 1]!.scope).pop();
      const b = last === undefined ? undefined : p.blocks[last - 1]!;
      const scope = b?.scope ?? top.scope;
      const source = b ? `block ${last}${b.scopeSource ? ` (${b.scopeSource})` : ''}` : top.source;
      const label = scope === 'owner' ? `, objects labelled ${OWNER_LABEL}=${t.name}` : '';
      out.push(
        `  ${t.name}: everyone's rules${idx.length ? ` + block ${idx.join(', ')}` : ''}; scope ${scope} (from ${source})${label}`,
      );
    }
  }
  return out.join('\n') + '\n';
}
