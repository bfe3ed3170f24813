/**
 * `hijack gateway` command-line parsing: commander option definitions, environment
 * variables and the config file, merged (flags > environment > config file > defaults;
 * rules and allowlists add up) into validated {@link GatewayOptions}.
 *
 * Exit codes: 0 clean shutdown, 1 runtime error (upstream, listener), 2 usage or config
 * error (see {@link exitCodeFor}).
 *
 * @module
 */
import { Command, CommanderError, Option } from 'commander';
import { HijackError, isHijackError } from '../errors.js';
import { loadConfigFile } from '../gateway/config/file.js';
import { PRESET_NAMES } from '../gateway/config/presets.js';
import {
  mergeSettings,
  resolveSettings,
  type GatewaySettings,
} from '../gateway/config/settings.js';
import {
  parseBool,
  parseCount,
  parseDuration,
  parseEndpoint,
  parseId,
  parseLogLevel,
  parseSize,
  LOG_LEVELS,
} from '../gateway/config/values.js';
import { parseCidr } from '../gateway/identity/cidr.js';
import { loadTokens } from '../gateway/identity/tokens.js';
import { parseRule } from '../gateway/policy/rule.js';
import type {
  GatewayLimits,
  GatewayOptions,
  GatewayTimeouts,
  RuleEffect,
} from '../gateway/types.js';

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

const collect = (v: string, prev: string[]) => [...prev, v];

/**
 * Build the `gateway` commander Command with every option (no action attached). Part B
 * attaches `.action(opts => run(gatewayOptionsFromFlags(opts, process.env)))`.
 */
export function gatewayCommand(): Command {
  const cmd = new Command('gateway')
    .description(
      'Guard a Docker socket (or any HTTP API with hijacked streams): forward allowed requests to the upstream, refuse the rest (deny by default).',
    )
    .option(
      '--listen <url>',
      'listen on tcp://host:port, unix:///path?mode=0660&owner=uid:gid or tls://host:port (repeatable; default tcp://127.0.0.1:2375)',
      collect,
      [],
    )
    .option(
      '--upstream <url>',
      'forward to unix:///path, tcp://host:port or tls://host:port (default unix:///var/run/docker.sock)',
    )
    .option('--config <file>', 'YAML or JSON config file (see docs/gateway-policy.md)')
    .option(
      '--allow <rule>',
      "allow rule 'METHOD PATH', e.g. 'GET /containers/json' (repeatable)",
      collect,
      [],
    )
    .option(
      '--deny <rule>',
      "deny rule 'METHOD PATH'; deny rules win over allow rules (repeatable)",
      collect,
      [],
    )
    .option(
      '--preset <name>',
      `built-in rules: ${PRESET_NAMES.join(', ')} (repeatable)`,
      collect,
      [],
    )
    .option(
      '--token-file <file>',
      'bearer tokens, one name:secret (or secret) per line; requests need Authorization: Bearer (repeatable)',
      collect,
      [],
    )
    .option(
      '--allow-cidr <cidr>',
      'only clients from these addresses (IPv4/IPv6 CIDR, repeatable)',
      collect,
      [],
    )
    .option(
      '--allow-uid <uid>',
      'unix listeners: only peers with this uid (repeatable; uid OR gid)',
      collect,
      [],
    )
    .option(
      '--allow-gid <gid>',
      'unix listeners: only peers with this gid (repeatable)',
      collect,
      [],
    )
    .option(
      '--allow-bind-root <path>',
      'sandbox preset: binds may come from under this host path (repeatable; none by default)',
      collect,
      [],
    )
    .option(
      '--allow-image <pattern>',
      'sandbox preset: containers only from images matching this pattern (* = any run; repeatable)',
      collect,
      [],
    )
    .option(
      '--allow-subject <cn>',
      'tls listeners: only client certificates with this subject CN (repeatable)',
      collect,
      [],
    )
    .option(
      '--allow-fingerprint <sha256>',
      'tls listeners: only client certificates with this SHA-256 fingerprint (repeatable)',
      collect,
      [],
    )
    .option('--tls-cert <file>', 'certificate (PEM) for tls:// listeners')
    .option('--tls-key <file>', 'private key (PEM) for tls:// listeners')
    .option(
      '--tls-ca <file>',
      'CA (PEM) that client certificates must chain to: turns on mutual TLS',
    )
    .option('--upstream-tls-cert <file>', 'client certificate (PEM) for a tls:// upstream')
    .option('--upstream-tls-key <file>', 'client key (PEM) for a tls:// upstream')
    .option('--upstream-tls-ca <file>', 'CA (PEM) to verify a tls:// upstream')
    .option('--connect-timeout <duration>', 'dialing the upstream (default 10s; 0 = off)')
    .option(
      '--head-timeout <duration>',
      'receiving a request head or the upstream response head (default 30s)',
    )
    .option('--idle-timeout <duration>', 'idle keep-alive client connections (default 5m)')
    .option(
      '--stream-timeout <duration>',
      'streams and hijacked connections without traffic (default 0 = off: never cuts logs -f or events)',
    )
    .option(
      '--body-timeout <duration>',
      'a request body with no byte arriving: 408 and close (default 30s)',
    )
    .option(
      '--queue-timeout <duration>',
      'a request waiting for a free upstream connection: then 503 (default 10s)',
    )
    .option('--max-connections <n>', 'client connections at once, in total (default 4096; 0 = off)')
    .option(
      '--max-connections-per-identity <n>',
      'client connections at once per token, uid, certificate or address (default 0 = off)',
    )
    .option(
      '--max-streams <n>',
      'takeovers and streaming answers (events, logs -f, …) at once, in total (default 1024)',
    )
    .option('--max-streams-per-identity <n>', 'streams at once per identity (default 0 = off)')
    .option('--max-body <size>', 'largest request body, e.g. 64MiB (default 0 = off); 413 beyond')
    .option('--forward-proxy', 'also act as a forward proxy for CONNECT to --connect-allow targets')
    .option(
      '--connect-allow <host:port>',
      'CONNECT target allowed in forward-proxy mode (host:* and *:port work; repeatable)',
      collect,
      [],
    )
    .addOption(
      new Option('--log-level <level>', 'log level (default info)').choices([...LOG_LEVELS]),
    )
    .option(
      '--log-destination <dest>',
      'where the JSON access log goes: stdout (default), stderr or a file path (appended)',
    )
    .option(
      '--log-stream-interval <duration>',
      'a takeover progress line per open stream this often, e.g. 1m (default 0 = none)',
    )
    .option('--metrics-listen <url>', 'serve Prometheus metrics on tcp://host:port or unix:///path')
    .option(
      '--live-listen <url>',
      'serve the live connections page on tcp://host:port or unix:///path',
    )
    .addHelpText(
      'after',
      `
Durations: 250ms, 30s, 5m, 1h30m; 0 turns a timeout off.
Environment: ${Object.keys(GATEWAY_ENV).join(', ')}.
  With --preset tecnativa: Tecnativa docker-socket-proxy's CONTAINERS, EXEC, POST, IMAGES, ... (same meanings).
Precedence: flags > environment > config file > defaults; rules and allowlists from all of them add up.
Exit codes: 0 clean shutdown, 1 runtime error, 2 usage or config error.
Examples:
  hijack gateway --preset readonly --listen tcp://127.0.0.1:2375
  hijack gateway --preset exec --listen unix:///run/hijack/docker.sock?mode=0660 --allow-gid 998
  hijack gateway --config /etc/hijack/gateway.yaml`,
    );
  return cmd;
}

/** The option values commander hands to the action of {@link gatewayCommand}. */
export interface GatewayFlags {
  listen?: string[];
  upstream?: string;
  config?: string;
  allow?: string[];
  deny?: string[];
  preset?: string[];
  tokenFile?: string[];
  allowCidr?: string[];
  allowUid?: string[];
  allowGid?: string[];
  allowSubject?: string[];
  allowFingerprint?: string[];
  allowBindRoot?: string[];
  allowImage?: string[];
  tlsCert?: string;
  tlsKey?: string;
  tlsCa?: string;
  upstreamTlsCert?: string;
  upstreamTlsKey?: string;
  upstreamTlsCa?: string;
  connectTimeout?: string;
  headTimeout?: string;
  idleTimeout?: string;
  streamTimeout?: string;
  bodyTimeout?: string;
  queueTimeout?: string;
  maxConnections?: string;
  maxConnectionsPerIdentity?: string;
  maxStreams?: string;
  maxStreamsPerIdentity?: string;
  maxBody?: string;
  forwardProxy?: boolean;
  connectAllow?: string[];
  logLevel?: string;
  logDestination?: string;
  logStreamInterval?: string;
  metricsListen?: string;
  liveListen?: string;
}

/** Run fn; turn an ERR_CONFIG from it into ERR_USAGE prefixed with the flag name. */
function flag<T>(name: string, fn: () => T, code: 'ERR_USAGE' | 'ERR_CONFIG' = 'ERR_USAGE'): T {
  try {
    return fn();
  } catch (err) {
    if (isHijackError(err)) throw new HijackError(code, `${name}: ${err.message}`, { cause: err });
    throw err;
  }
}

const split = (v: string | undefined, sep: RegExp) =>
  (v ?? '')
    .split(sep)
    .map((x) => x.trim())
    .filter(Boolean);

function ruleList(
  texts: string[],
  effect: RuleEffect,
  source: string,
  code: 'ERR_USAGE' | 'ERR_CONFIG',
) {
  return texts.map((t) => flag(source, () => parseRule(t, effect, source), code));
}

function timeouts(
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

const LIMIT_FLAGS: Record<keyof GatewayLimits, string> = {
  connections: '--max-connections',
  connectionsPerIdentity: '--max-connections-per-identity',
  streams: '--max-streams',
  streamsPerIdentity: '--max-streams-per-identity',
  maxBody: '--max-body',
};
const LIMIT_ENV: Record<keyof GatewayLimits, string> = {
  connections: 'MAX_CONNECTIONS',
  connectionsPerIdentity: 'MAX_CONNECTIONS_PER_IDENTITY',
  streams: 'MAX_STREAMS',
  streamsPerIdentity: 'MAX_STREAMS_PER_IDENTITY',
  maxBody: 'MAX_BODY',
};

function limitSettings(
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

/** Settings from parsed flags; errors are ERR_USAGE naming the flag. */
export function settingsFromFlags(o: GatewayFlags): GatewaySettings {
  const s: GatewaySettings = {};
  if (o.listen?.length)
    s.listen = o.listen.map((u) => flag('--listen', () => parseEndpoint(u, 'listen', 'value')));
  if (o.upstream !== undefined)
    s.upstream = flag('--upstream', () => parseEndpoint(o.upstream!, 'upstream', 'value'));
  for (const p of o.preset ?? []) {
    if (!(PRESET_NAMES as readonly string[]).includes(p)) {
      throw new HijackError(
        'ERR_USAGE',
        `--preset: unknown preset '${p}' (use ${PRESET_NAMES.join(', ')})`,
      );
    }
  }
  if (o.preset?.length) s.presets = o.preset;
  s.rules = [
    ...ruleList(o.allow ?? [], 'allow', '--allow', 'ERR_USAGE'),
    ...ruleList(o.deny ?? [], 'deny', '--deny', 'ERR_USAGE'),
  ];
  if (o.tokenFile?.length) s.tokenFiles = o.tokenFile;
  if (o.allowCidr?.length)
    s.allowCidr = o.allowCidr.map((c) => (flag('--allow-cidr', () => parseCidr(c)), c));
  if (o.allowUid?.length)
    s.allowUid = o.allowUid.map((x) => flag('--allow-uid', () => parseId(x, 'value')));
  if (o.allowGid?.length)
    s.allowGid = o.allowGid.map((x) => flag('--allow-gid', () => parseId(x, 'value')));
  if (o.allowSubject?.length) s.allowSubject = o.allowSubject;
  if (o.allowBindRoot?.length) s.allowBindRoot = o.allowBindRoot;
  if (o.allowImage?.length) s.allowImage = o.allowImage;
  if (o.allowFingerprint?.length) {
    for (const f of o.allowFingerprint) {
      if (!/^([0-9A-Fa-f]{2}:?){31}[0-9A-Fa-f]{2}$/.test(f)) {
        throw new HijackError(
          'ERR_USAGE',
          `--allow-fingerprint: '${f}' is not a SHA-256 fingerprint (64 hex digits, colons optional)`,
        );
      }
    }
    s.allowFingerprint = o.allowFingerprint;
  }
  const tls = { cert: o.tlsCert, key: o.tlsKey, ca: o.tlsCa };
  if (tls.cert || tls.key || tls.ca)
    s.tls = Object.fromEntries(Object.entries(tls).filter(([, v]) => v)) as typeof s.tls;
  const utls = { cert: o.upstreamTlsCert, key: o.upstreamTlsKey, ca: o.upstreamTlsCa };
  if (utls.cert || utls.key || utls.ca) {
    s.upstreamTls = Object.fromEntries(
      Object.entries(utls).filter(([, v]) => v),
    ) as typeof s.upstreamTls;
  }
  const t = {
    connect: o.connectTimeout,
    head: o.headTimeout,
    idle: o.idleTimeout,
    stream: o.streamTimeout,
    body: o.bodyTimeout,
    queue: o.queueTimeout,
  };
  s.timeouts = timeouts(
    (k) => t[k],
    (k) => `--${k}-timeout`,
    'ERR_USAGE',
  );
  s.limits = limitSettings(
    {
      connections: o.maxConnections,
      connectionsPerIdentity: o.maxConnectionsPerIdentity,
      streams: o.maxStreams,
      streamsPerIdentity: o.maxStreamsPerIdentity,
      maxBody: o.maxBody,
    },
    LIMIT_FLAGS,
    'ERR_USAGE',
  );
  if (o.forwardProxy) s.forwardProxy = true;
  if (o.connectAllow?.length) s.connectAllow = o.connectAllow;
  if (o.logLevel !== undefined)
    s.logLevel = flag('--log-level', () => parseLogLevel(o.logLevel!, 'value'));
  if (o.logStreamInterval !== undefined)
    s.logStreamInterval = flag('--log-stream-interval', () =>
      parseDuration(o.logStreamInterval!, 'value'),
    );
  if (o.metricsListen !== undefined)
    s.metricsListen = flag('--metrics-listen', () =>
      parseEndpoint(o.metricsListen!, 'metrics', 'value'),
    );
  if (o.liveListen !== undefined)
    s.liveListen = flag('--live-listen', () => parseEndpoint(o.liveListen!, 'metrics', 'value'));
  return s;
}

/**
 * Turn parsed flags plus the environment into validated {@link GatewayOptions}: the config
 * file (`--config` or HIJACK_GATEWAY_CONFIG), then HIJACK_GATEWAY_* variables, then flags.
 * Throws HijackError ERR_USAGE (bad flag) or ERR_CONFIG (bad file, variable or combination).
 */
export function gatewayOptionsFromFlags(
  flags: GatewayFlags,
  env: Record<string, string | undefined> = {},
): GatewayOptions {
  const configPath = flags.config ?? (env.HIJACK_GATEWAY_CONFIG?.trim() || undefined);
  const fromFile = configPath ? loadConfigFile(configPath) : {};
  const merged = mergeSettings(fromFile, settingsFromEnv(env), settingsFromFlags(flags));
  const options = resolveSettings(merged, env);
  const logDestination =
    flags.logDestination ?? (env.HIJACK_GATEWAY_LOG_DESTINATION?.trim() || undefined);
  if (logDestination !== undefined) {
    if (logDestination.trim() === '')
      throw new HijackError('ERR_USAGE', '--log-destination: give stdout, stderr or a file path');
    options.logDestination = logDestination;
  }
  return options;
}

/**
 * Parse `hijack gateway` arguments (the ones after `gateway`) and the environment into
 * validated {@link GatewayOptions}. Throws HijackError ERR_USAGE for a bad or unknown flag
 * (also for `--help`, with `helpText` holding the help) and ERR_CONFIG for a bad config.
 */
export function parseGatewayArgs(
  argv: string[],
  env: Record<string, string | undefined> = {},
): GatewayOptions {
  const cmd = gatewayCommand();
  let help = '';
  cmd.exitOverride();
  cmd.configureOutput({ writeOut: (s) => (help += s), writeErr: () => {}, outputError: () => {} });
  try {
    cmd.parse(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.help') {
        throw new HijackError('ERR_USAGE', 'help requested', { helpText: help, help: true });
      }
      throw new HijackError('ERR_USAGE', err.message.replace(/^error: /, ''), { cause: err });
    }
    throw err;
  }
  if (cmd.args.length)
    throw new HijackError(
      'ERR_USAGE',
      `unexpected argument '${cmd.args[0]}' (gateway takes only options; see --help)`,
    );
  return gatewayOptionsFromFlags(cmd.opts<GatewayFlags>(), env);
}

/** The exit code for an error: 2 for usage and config errors, 1 for everything else. */
export function exitCodeFor(err: unknown): number {
  return isHijackError(err, 'ERR_USAGE') || isHijackError(err, 'ERR_CONFIG') ? 2 : 1;
}

/** The one-line message the CLI prints for an error: `hijack gateway: <message>`. */
export function formatCliError(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return `hijack gateway: ${msg.split('\n')[0]}`;
}
