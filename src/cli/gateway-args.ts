/**
 * `hijack gateway` command-line parsing: commander option definitions, merged with the
 * environment (src/gateway/config/env.ts) and the config file (flags > environment >
 * config file > defaults; rules and allowlists add up) into validated
 * {@link GatewayOptions}.
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
  parseDuration,
  parseEndpoint,
  parseId,
  parseLogLevel,
  LOG_LEVELS,
} from '../gateway/config/values.js';
import { parseCidr } from '../gateway/identity/cidr.js';
import {
  flag,
  GATEWAY_ENV,
  limitSettings,
  ruleList,
  timeouts,
  settingsFromEnv,
} from '../gateway/config/env.js';
import type { GatewayLimits, GatewayOptions, Scope } from '../gateway/types.js';
import { SCOPES } from '../gateway/policy/owner.js';

export { GATEWAY_ENV, settingsFromEnv } from '../gateway/config/env.js';

const collect = (v: string, prev: string[]) => [...prev, v];

/**
 * Build the `gateway` commander Command with every option (no action attached); gateway.ts
 * attaches the action that runs it (`registerGateway`).
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
      '--scope <scope>',
      'owner: each client sees and touches only the containers, execs, volumes and networks it created (label hijack.owner); all: every object (default; --preset sandbox implies owner)',
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
    .option(
      '--explain',
      'print the effective policy per identity (as `hijack policy check` does) and exit',
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
  scope?: string;
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
  /** Print the effective policy and exit (`hijack gateway --explain`). */
  explain?: boolean;
}

const LIMIT_FLAGS: Record<keyof GatewayLimits, string> = {
  connections: '--max-connections',
  connectionsPerIdentity: '--max-connections-per-identity',
  streams: '--max-streams',
  streamsPerIdentity: '--max-streams-per-identity',
  maxBody: '--max-body',
};
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
  if (o.scope !== undefined) {
    if (!(SCOPES as readonly string[]).includes(o.scope)) {
      throw new HijackError(
        'ERR_USAGE',
        `--scope: unknown scope '${o.scope}' (use ${SCOPES.join(', ')})`,
      );
    }
    s.scope = o.scope as Scope;
    s.scopeSource = 'flag --scope';
  }
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
