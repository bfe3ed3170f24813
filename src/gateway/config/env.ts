/**
 * The gateway's settings from the environment (`HIJACK_GATEWAY_*`), one config source
 * beside the file (file.ts) and the command line (src/cli/gateway-args.ts); all three
 * produce a {@link GatewaySettings} that settings.ts merges. Also the labelled value
 * helpers the environment and the flags share (an error names the variable or the flag).
 *
 * @module
 */
import { HijackError, isHijackError } from '../../errors.js';
import { parseCidr } from '../identity/cidr.js';
import { loadTokens } from '../identity/tokens.js';
import { parseRule } from '../policy/rule.js';
import type { GatewayLimits, GatewayTimeouts, RuleEffect } from '../types.js';
import { PRESET_NAMES } from './presets.js';
import type { GatewaySettings } from './settings.js';
import {
  parseBool,
  parseCount,
  parseDuration,
  parseEndpoint,
  parseId,
  parseLogLevel,
  parseSize,
} from './values.js';

/** Environment variables read by `hijack gateway` (besides Tecnativa's with `--preset tecnativa`). */
export const GATEWAY_ENV = {
  HIJACK_GATEWAY_LISTEN: 'listeners, separated by commas or white space (like --listen)',
  HIJACK_GATEWAY_UPSTREAM: 'like --upstream',
  HIJACK_GATEWAY_CONFIG: 'like --config',
  HIJACK_GATEWAY_PRESET: 'presets, comma-separated (like --preset)',
  HIJACK_GATEWAY_ALLOW: "allow rules, separated by ';' or newlines (like --allow)",
  HIJACK_GATEWAY_DENY: "deny rules, separated by ';' or newlines (like --deny)",
  HIJACK_GATEWAY_TOKEN_FILE: 'like --token-file',
  HIJACK_GATEWAY_TOKENS: 'tokens, name:secret or secret, separated by commas or white space',
  HIJACK_GATEWAY_ALLOW_CIDR: 'CIDRs, comma-separated (like --allow-cidr)',
  HIJACK_GATEWAY_ALLOW_UID: 'uids, comma-separated (like --allow-uid)',
  HIJACK_GATEWAY_ALLOW_GID: 'gids, comma-separated (like --allow-gid)',
  HIJACK_GATEWAY_TLS_CERT: 'like --tls-cert',
  HIJACK_GATEWAY_TLS_KEY: 'like --tls-key',
  HIJACK_GATEWAY_TLS_CA: 'like --tls-ca',
  HIJACK_GATEWAY_CONNECT_TIMEOUT: 'like --connect-timeout',
  HIJACK_GATEWAY_HEAD_TIMEOUT: 'like --head-timeout',
  HIJACK_GATEWAY_IDLE_TIMEOUT: 'like --idle-timeout',
  HIJACK_GATEWAY_STREAM_TIMEOUT: 'like --stream-timeout',
  HIJACK_GATEWAY_BODY_TIMEOUT: 'like --body-timeout',
  HIJACK_GATEWAY_QUEUE_TIMEOUT: 'like --queue-timeout',
  HIJACK_GATEWAY_MAX_CONNECTIONS: 'like --max-connections',
  HIJACK_GATEWAY_MAX_CONNECTIONS_PER_IDENTITY: 'like --max-connections-per-identity',
  HIJACK_GATEWAY_MAX_STREAMS: 'like --max-streams',
  HIJACK_GATEWAY_MAX_STREAMS_PER_IDENTITY: 'like --max-streams-per-identity',
  HIJACK_GATEWAY_MAX_BODY: 'like --max-body',
  HIJACK_GATEWAY_FORWARD_PROXY: '1 turns on --forward-proxy',
  HIJACK_GATEWAY_CONNECT_ALLOW: 'host:port entries, comma-separated (like --connect-allow)',
  HIJACK_GATEWAY_LOG_LEVEL: 'like --log-level',
  HIJACK_GATEWAY_LOG_DESTINATION: 'like --log-destination',
  HIJACK_GATEWAY_LOG_STREAM_INTERVAL: 'like --log-stream-interval',
  HIJACK_GATEWAY_METRICS_LISTEN: 'like --metrics-listen',
  HIJACK_GATEWAY_LIVE_LISTEN: 'like --live-listen',
} as const;

/** Run fn; turn an ERR_CONFIG from it into ERR_USAGE prefixed with the flag name. */
export function flag<T>(
  name: string,
  fn: () => T,
  code: 'ERR_USAGE' | 'ERR_CONFIG' = 'ERR_USAGE',
): T {
  try {
    return fn();
  } catch (err) {
    if (isHijackError(err)) throw new HijackError(code, `${name}: ${err.message}`, { cause: err });
    throw err;
  }
}

/** A list value split at `sep`, trimmed, empty entries dropped. */
export const split = (v: string | undefined, sep: RegExp) =>
  (v ?? '')
    .split(sep)
    .map((x) => x.trim())
    .filter(Boolean);

/** Parses rule texts of one effect; a bad one throws `code` naming `source`. */
export function ruleList(
  texts: string[],
  effect: RuleEffect,
  source: string,
  code: 'ERR_USAGE' | 'ERR_CONFIG',
) {
  return texts.map((t) => flag(source, () => parseRule(t, effect, source), code));
}

/** The timeouts `get` gives (durations); a bad one throws `code` naming `label(k)`. */
export function timeouts(
  get: (k: keyof GatewayTimeouts) => string | undefined,
  label: (k: string) => string,
  code: 'ERR_USAGE' | 'ERR_CONFIG',
): Partial<GatewayTimeouts> {
  const out: Partial<GatewayTimeouts> = {};
  for (const k of ['connect', 'head', 'idle', 'stream', 'body', 'queue'] as const) {
    const v = get(k);
    if (v !== undefined) out[k] = flag(label(k), () => parseDuration(v, 'value'), code);
  }
  return out;
}

const LIMIT_ENV: Record<keyof GatewayLimits, string> = {
  connections: 'MAX_CONNECTIONS',
  connectionsPerIdentity: 'MAX_CONNECTIONS_PER_IDENTITY',
  streams: 'MAX_STREAMS',
  streamsPerIdentity: 'MAX_STREAMS_PER_IDENTITY',
  maxBody: 'MAX_BODY',
};

/** The limits in `values` (counts, `maxBody` a size); a bad one throws `code` naming its label. */
export function limitSettings(
  values: Partial<Record<keyof GatewayLimits, string | undefined>>,
  labels: Record<keyof GatewayLimits, string>,
  code: 'ERR_USAGE' | 'ERR_CONFIG',
): Partial<GatewayLimits> {
  const out: Partial<GatewayLimits> = {};
  for (const k of Object.keys(labels) as (keyof GatewayLimits)[]) {
    const v = values[k];
    if (v === undefined) continue;
    out[k] = flag(
      labels[k],
      () => (k === 'maxBody' ? parseSize(v, 'value') : parseCount(v, 'value')),
      code,
    );
  }
  return out;
}

/** Settings from `HIJACK_GATEWAY_*` variables; errors are ERR_CONFIG naming the variable. */
export function settingsFromEnv(env: Record<string, string | undefined>): GatewaySettings {
  const E = (k: string) => {
    const v = env[`HIJACK_GATEWAY_${k}`];
    return v === undefined || v.trim() === '' ? undefined : v;
  };
  const n = (k: string) => `env HIJACK_GATEWAY_${k}`;
  const s: GatewaySettings = {};
  const C = 'ERR_CONFIG' as const;
  if (E('LISTEN'))
    s.listen = split(E('LISTEN'), /[\s,]+/).map((u) =>
      flag(n('LISTEN'), () => parseEndpoint(u, 'listen', 'value'), C),
    );
  if (E('UPSTREAM'))
    s.upstream = flag(n('UPSTREAM'), () => parseEndpoint(E('UPSTREAM')!, 'upstream', 'value'), C);
  if (E('PRESET')) {
    s.presets = split(E('PRESET'), /[\s,]+/);
    for (const p of s.presets) {
      if (!(PRESET_NAMES as readonly string[]).includes(p)) {
        throw new HijackError(
          C,
          `${n('PRESET')}: unknown preset '${p}' (use ${PRESET_NAMES.join(', ')})`,
        );
      }
    }
  }
  s.rules = [
    ...ruleList(split(E('ALLOW'), /[;\n]+/), 'allow', n('ALLOW'), C),
    ...ruleList(split(E('DENY'), /[;\n]+/), 'deny', n('DENY'), C),
  ];
  if (E('TOKEN_FILE')) s.tokenFiles = [E('TOKEN_FILE')!];
  if (E('TOKENS')) s.tokens = loadTokens(split(E('TOKENS'), /[\s,]+/).join('\n'), n('TOKENS'));
  if (E('ALLOW_CIDR'))
    s.allowCidr = split(E('ALLOW_CIDR'), /[\s,]+/).map(
      (c) => (flag(n('ALLOW_CIDR'), () => parseCidr(c), C), c),
    );
  if (E('ALLOW_UID'))
    s.allowUid = split(E('ALLOW_UID'), /[\s,]+/).map((x) =>
      flag(n('ALLOW_UID'), () => parseId(x, 'value'), C),
    );
  if (E('ALLOW_GID'))
    s.allowGid = split(E('ALLOW_GID'), /[\s,]+/).map((x) =>
      flag(n('ALLOW_GID'), () => parseId(x, 'value'), C),
    );
  const tls = { cert: E('TLS_CERT'), key: E('TLS_KEY'), ca: E('TLS_CA') };
  if (tls.cert || tls.key || tls.ca)
    s.tls = Object.fromEntries(Object.entries(tls).filter(([, v]) => v)) as typeof s.tls;
  s.timeouts = timeouts(
    (k) => E(`${k.toUpperCase()}_TIMEOUT`),
    (k) => n(`${k.toUpperCase()}_TIMEOUT`),
    C,
  );
  s.limits = limitSettings(
    Object.fromEntries(Object.entries(LIMIT_ENV).map(([k, v]) => [k, E(v)])) as Record<
      keyof GatewayLimits,
      string | undefined
    >,
    Object.fromEntries(Object.entries(LIMIT_ENV).map(([k, v]) => [k, n(v)])) as Record<
      keyof GatewayLimits,
      string
    >,
    C,
  );
  if (E('FORWARD_PROXY'))
    s.forwardProxy = flag(n('FORWARD_PROXY'), () => parseBool(E('FORWARD_PROXY')!, 'value'), C);
  if (E('CONNECT_ALLOW')) s.connectAllow = split(E('CONNECT_ALLOW'), /[\s,]+/);
  if (E('LOG_LEVEL'))
    s.logLevel = flag(n('LOG_LEVEL'), () => parseLogLevel(E('LOG_LEVEL')!, 'value'), C);
  if (E('LOG_STREAM_INTERVAL'))
    s.logStreamInterval = flag(
      n('LOG_STREAM_INTERVAL'),
      () => parseDuration(E('LOG_STREAM_INTERVAL')!, 'value'),
      C,
    );
  if (E('METRICS_LISTEN'))
    s.metricsListen = flag(
      n('METRICS_LISTEN'),
      () => parseEndpoint(E('METRICS_LISTEN')!, 'metrics', 'value'),
      C,
    );
  if (E('LIVE_LISTEN'))
    s.liveListen = flag(
      n('LIVE_LISTEN'),
      () => parseEndpoint(E('LIVE_LISTEN')!, 'metrics', 'value'),
      C,
    );
  return s;
}
