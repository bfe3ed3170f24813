/**
 * Settings from one source (config file, environment, flags), merged by priority and
 * resolved into {@link GatewayOptions}.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { formatEndpoint } from '../../endpoint/endpoint.js';
import { HijackError } from '../../errors.js';
import { compilePolicy, isConnectAllowEntry } from '../policy/policy.js';
import { parseCidr } from '../identity/cidr.js';
import { loadTokens } from '../identity/tokens.js';
import type {
  PolicySpec,
  Endpoint,
  GatewayOptions,
  GatewayLimits,
  GatewayTimeouts,
  LogLevel,
  Rule,
  RuleBlock,
  Scope,
  TokenEntry,
} from '../types.js';
import { presetRules, tecnativaFlag } from './presets.js';
import { sandboxBodyRules, type BodyRules } from '../policy/body-rules.js';
import { parseEndpoint } from './values.js';
import { DEFAULT_LIMITS, DEFAULT_LISTEN, DEFAULT_TIMEOUTS, DEFAULT_UPSTREAM } from '../defaults.js';

/** TLS file paths. */
export interface TlsFiles {
  cert?: string;
  key?: string;
  ca?: string;
  servername?: string;
}

/** What one source says; every field optional. Lists add up across sources, scalars override. */
export interface GatewaySettings {
  listen?: Endpoint[];
  upstream?: Endpoint;
  rules?: Rule[];
  blocks?: RuleBlock[];
  presets?: string[];
  /** Token files: path plus where it was named (for messages). */
  tokenFiles?: string[];
  tokens?: TokenEntry[];
  allowCidr?: string[];
  allowUid?: number[];
  allowGid?: number[];
  allowSubject?: string[];
  allowFingerprint?: string[];
  /** Listener TLS (for tls:// listeners). */
  tls?: TlsFiles;
  /** Upstream TLS (for a tls:// upstream). */
  upstreamTls?: TlsFiles;
  timeouts?: Partial<GatewayTimeouts>;
  limits?: Partial<GatewayLimits>;
  forwardProxy?: boolean;
  connectAllow?: string[];
  logLevel?: LogLevel;
  /** Milliseconds between takeover progress lines (0: none). */
  logStreamInterval?: number;
  metricsListen?: Endpoint;
  liveListen?: Endpoint;
  maxTargetLength?: number;
  configFile?: string;
  /** Host paths binds may come from under the sandbox preset (absolute; repeatable). */
  allowBindRoot?: string[];
  /** Image patterns containers may be created from under the sandbox preset. */
  allowImage?: string[];
  /** Body rules from a config file's `body:` (replace the sandbox preset's). */
  body?: BodyRules;
  /** Ownership scope (`--scope`, a config file's `scope:`); `--preset sandbox` implies `owner`. */
  scope?: Scope;
  /** Where `scope` was given (`flag --scope`, `gateway.yaml:3`); set together with `scope`. */
  scopeSource?: string;
}

export { DEFAULT_LISTEN, DEFAULT_TIMEOUTS, DEFAULT_UPSTREAM };

const LIST_KEYS = [
  'rules',
  'blocks',
  'presets',
  'tokenFiles',
  'tokens',
  'allowCidr',
  'allowUid',
  'allowGid',
  'allowSubject',
  'allowFingerprint',
  'connectAllow',
  'allowBindRoot',
  'allowImage',
] as const;

/** Merge settings, lowest priority first: lists are concatenated, scalars later-wins. */
export function mergeSettings(...sources: GatewaySettings[]): GatewaySettings {
  const out: GatewaySettings = {};
  for (const s of sources) {
    for (const [k, v] of Object.entries(s) as [keyof GatewaySettings, unknown][]) {
      if (v === undefined) continue;
      if ((LIST_KEYS as readonly string[]).includes(k)) {
        (out as Record<string, unknown[]>)[k] = [
          ...((out as Record<string, unknown[]>)[k] ?? []),
          ...(v as unknown[]),
        ];
      } else if (k === 'timeouts' || k === 'limits' || k === 'tls' || k === 'upstreamTls') {
        (out as Record<string, object>)[k] = {
          ...((out as Record<string, object>)[k] ?? {}),
          ...(v as object),
        };
      } else {
        (out as Record<string, unknown>)[k] = v;
      }
    }
  }
  return out;
}

function usage(msg: string): never {
  throw new HijackError('ERR_CONFIG', msg);
}

function withTls(ep: Endpoint, tls: TlsFiles | undefined, listener: boolean): Endpoint {
  if (ep.kind !== 'tls') return ep;
  const merged = {
    ...ep,
    ...(tls?.cert ? { cert: tls.cert } : {}),
    ...(tls?.key ? { key: tls.key } : {}),
  };
  if (tls?.ca) merged.ca = tls.ca;
  if (!listener && tls?.servername) merged.servername = tls.servername;
  if (listener && (!merged.cert || !merged.key)) {
    usage(
      `listener ${formatEndpoint(ep)} needs --tls-cert and --tls-key (add --tls-ca for client certificates)`,
    );
  }
  if (!listener && (merged.cert === undefined) !== (merged.key === undefined)) {
    usage('the upstream client certificate needs both cert and key');
  }
  return merged;
}

/**
 * Resolve merged settings into validated {@link GatewayOptions}: presets expanded (the
 * tecnativa preset reads `env`), token files read, defaults filled, TLS files attached, the
 * policy compiled once to validate it. Throws HijackError ERR_CONFIG.
 */
export function resolveSettings(
  s: GatewaySettings,
  env: Record<string, string | undefined> = {},
): GatewayOptions {
  const presets = [...new Set(s.presets ?? [])];
  const tecnativa = presets.includes('tecnativa');
  const rules: Rule[] = [...presets.flatMap((p) => presetRules(p, env)), ...(s.rules ?? [])];

  let listen = s.listen;
  if (!listen || listen.length === 0) {
    const def = tecnativa
      ? tecnativaFlag(env, 'DISABLE_IPV6', false)
        ? 'tcp://0.0.0.0:2375'
        : 'tcp://[::]:2375'
      : DEFAULT_LISTEN;
    listen = [parseEndpoint(def, 'listen', 'default listener')];
  }
  let upstream = s.upstream;
  if (!upstream) {
    const sock = tecnativa && env.SOCKET_PATH ? `unix://${env.SOCKET_PATH}` : DEFAULT_UPSTREAM;
    upstream = parseEndpoint(
      sock,
      'upstream',
      tecnativa && env.SOCKET_PATH ? 'env SOCKET_PATH' : 'default upstream',
    );
  }
  listen = listen.map((ep) => withTls(ep, s.tls, true));
  upstream = withTls(upstream, s.upstreamTls, false);
  if (s.tls?.ca && !listen.some((l) => l.kind === 'tls')) {
    usage('--tls-ca is set but no listener is tls://; add --listen tls://host:port');
  }

  const tokens = [...(s.tokens ?? [])];
  for (const file of s.tokenFiles ?? []) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      usage(
        `cannot read the token file ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
      );
    }
    for (const t of loadTokens(text, file)) {
      if (tokens.some((x) => x.name === t.name))
        usage(`${file}: the token name '${t.name}' is used twice`);
      tokens.push(t);
    }
  }
  for (const c of s.allowCidr ?? []) parseCidr(c);
  for (const b of s.blocks ?? []) {
    for (const t of b.when.token ?? []) {
      if (!tokens.some((x) => x.name === t)) {
        usage(
          `a rule block names the token '${t}', but no token file defines it (add --token-file)`,
        );
      }
    }
  }
  const connectAllow = s.connectAllow ?? [];
  for (const e of connectAllow) {
    if (!isConnectAllowEntry(e))
      usage(`--connect-allow '${e}' is not host:port (host:* and *:port work too)`);
  }
  if (connectAllow.length && !s.forwardProxy) usage('--connect-allow needs --forward-proxy');
  if (s.forwardProxy && connectAllow.length === 0)
    usage('--forward-proxy needs at least one --connect-allow host:port');

  const sandbox = presets.includes('sandbox');
  if (!sandbox && !s.body && (s.allowBindRoot?.length || s.allowImage?.length)) {
    usage(
      '--allow-bind-root and --allow-image need --preset sandbox (or body rules in the config file)',
    );
  }
  const roots = s.allowBindRoot ?? [];
  for (const r of roots)
    if (!r.startsWith('/')) usage(`--allow-bind-root '${r}' is not an absolute path`);
  let body: BodyRules | undefined;
  if (s.body) {
    body = { ...s.body };
    if (roots.length) body.bindRoots = sandboxBodyRules(roots).bindRoots;
    if (s.allowImage?.length) body.images = s.allowImage;
  } else if (sandbox) {
    body = sandboxBodyRules(roots, s.allowImage?.length ? s.allowImage : '*');
  }
  const policy: PolicySpec = {
    rules,
    blocks: s.blocks ?? [],
    ...(s.maxTargetLength !== undefined ? { maxTargetLength: s.maxTargetLength } : {}),
    ...(body ? { body } : {}),
  };
  if (s.scope !== undefined) {
    policy.scope = s.scope;
    policy.scopeSource = s.scopeSource ?? 'settings';
  } else if (sandbox) {
    policy.scope = 'owner';
    policy.scopeSource = 'preset sandbox';
  }
  compilePolicy(policy);
  if (
    !s.forwardProxy &&
    !rules.some((r) => r.effect === 'allow') &&
    !policy.blocks.some((b) => b.rules.length)
  ) {
    usage(
      'no allow rule: every request would be refused; add --preset readonly, --allow RULE or a config file',
    );
  }

  const out: GatewayOptions = {
    listen,
    upstream,
    policy,
    auth: {
      tokens,
      allowCidr: s.allowCidr ?? [],
      allowUid: s.allowUid ?? [],
      allowGid: s.allowGid ?? [],
      allowSubject: s.allowSubject ?? [],
      allowFingerprint: s.allowFingerprint ?? [],
    },
    timeouts: { ...DEFAULT_TIMEOUTS, ...(s.timeouts ?? {}) },
    limits: { ...DEFAULT_LIMITS, ...(s.limits ?? {}) },
    forwardProxy: { enabled: !!s.forwardProxy, connectAllow },
    logLevel: s.logLevel ?? (tecnativa ? tecnativaLogLevel(env.LOG_LEVEL) : undefined) ?? 'info',
  };
  if (s.logStreamInterval) out.logStreamInterval = s.logStreamInterval;
  if (s.metricsListen) out.metricsListen = s.metricsListen;
  if (s.liveListen) out.liveListen = s.liveListen;
  if (s.configFile) out.configFile = s.configFile;
  return out;
}

/** Map Tecnativa's LOG_LEVEL (HAProxy syslog levels) onto ours; undefined when unset or unknown. */
export function tecnativaLogLevel(level: string | undefined): LogLevel | undefined {
  const map: Record<string, LogLevel> = {
    emerg: 'fatal',
    alert: 'fatal',
    crit: 'fatal',
    err: 'error',
    warning: 'warn',
    notice: 'info',
    info: 'info',
    debug: 'debug',
  };
  return level === undefined ? undefined : map[level.trim().toLowerCase()];
}
