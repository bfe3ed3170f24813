/**
 * Shapes shared by the gateway's policy, identity, config and forwarding modules.
 * Additive changes only: fields may be added, never renamed or removed.
 *
 * One request, in order: `admit()` (src/gateway/admit.ts, pure: the request's head and
 * the connection's facts in, a refusal or a decision out), then the resource limits, then
 * the forwarding of exactly what was decided (src/gateway/forward/).
 *
 * @module
 */
import type { Endpoint } from '../endpoint/endpoint.js';
import type { BodyRules } from './policy/body-rules.js';

// ---------------------------------------------------------------- rules and policy

/** Whether a matching rule lets the request through or refuses it. Deny wins over allow. */
export type RuleEffect = 'allow' | 'deny';

/**
 * One query constraint of a rule, written after `?` in the rule text, `&`-separated.
 * - `name`          (`flag-set`): the parameter is present with a value Docker reads as true
 *                   (anything but '', 0, no, false, none; case-insensitive, trimmed).
 * - `!name`         (`flag-unset`): the parameter is absent or every value is Docker-false.
 * - `name=a|b`      (`in`): the parameter is present and every value is one of a, b.
 * - `name!=a|b`     (`not-in`): no value of the parameter is one of a, b (absent matches).
 */
export type QueryConstraint =
  | { kind: 'flag-set'; name: string }
  | { kind: 'flag-unset'; name: string }
  | { kind: 'in'; name: string; values: string[] }
  | { kind: 'not-in'; name: string; values: string[] };

/** A parsed rule `METHOD[,METHOD…]|* PATH[?QUERY]`. Pure data (JSON-serialisable). */
export interface Rule {
  effect: RuleEffect;
  /** Upper-case method names, or '*' for any method. */
  methods: '*' | string[];
  /** The path pattern as written, without the query part: `/containers/{id}/exec`. */
  path: string;
  /** Query constraints; all must hold for the rule to match. Empty when none. */
  query: QueryConstraint[];
  /** The rule as the user wrote it (for messages): `POST /containers/{id}/exec`. */
  text: string;
  /** Where the rule came from: `--allow`, `config.yaml:12:5`, `preset readonly`, `env CONTAINERS`. */
  source: string;
}

/**
 * Who a rule block applies to. Every key given must match (AND); within a key any listed
 * value matches (OR). An empty object matches everybody.
 */
export interface IdentityMatcher {
  /** Token names (never token values), as named in the token file. */
  token?: string[];
  uid?: number[];
  gid?: number[];
  /** CIDRs the client address must fall in (IPv4, IPv6, IPv4-mapped IPv6 folded to IPv4). */
  cidr?: string[];
  /** Client certificate subject CN values. */
  subject?: string[];
  /** Client certificate SHA-256 fingerprints, `AA:BB:…` (case-insensitive, colons optional). */
  fingerprint?: string[];
}

/** How far a client sees: `all` (every object, the default) or `owner` (its own only; see src/gateway/policy/owner.ts). */
export type Scope = 'all' | 'owner';

/** Rules that apply only when `when` matches the client's identity. */
export interface RuleBlock {
  when: IdentityMatcher;
  rules: Rule[];
  /** Body rules for matching clients; they replace the top-level ones (the last matching block wins). */
  body?: BodyRules;
  /** Ownership scope for matching clients (the last matching block with one wins); see src/gateway/policy/owner.ts. */
  scope?: Scope;
  /** Where `scope` comes from, for `hijack policy check` (`gateway.yaml:12`). */
  scopeSource?: string;
}

/** The whole policy as data. Compile with `compilePolicy(spec)`. */
export interface PolicySpec {
  /** Rules that apply to every client. */
  rules: Rule[];
  /** Identity-scoped rule blocks, applied in addition to `rules` when they match. */
  blocks: RuleBlock[];
  /**
   * Body rules (what create, update, exec and volume bodies may state); absent: bodies are
   * not read. See src/gateway/policy/body-rules.ts.
   */
  body?: BodyRules;
  /** Largest body the body rules read, bytes (413 beyond). Default 1 MiB. */
  bodyLimit?: number;
  /**
   * `owner`: each client sees and touches only the containers, execs, volumes and networks
   * it created through the gateway (labelled `hijack.owner=<identity>`); `all` (default):
   * every object. Blocks may set their own.
   */
  scope?: Scope;
  /** Where `scope` comes from, for `hijack policy check`: `flag --scope`, `preset sandbox`, `gateway.yaml:3`. */
  scopeSource?: string;
  /** Longest request target accepted, in bytes; longer gets 414. Default 4096. */
  maxTargetLength?: number;
}

/** What `policy.decide()` needs from a request (a node:http IncomingMessage fits). */
export interface PolicyRequest {
  method: string;
  /** The raw request target as received (`req.url`). */
  url: string;
  httpVersion?: string;
}

/** Why a request was refused, stable for logs and metrics. */
export type DenyReason =
  | 'bad-target' // 400: the target is not a plain origin-form path, or is ambiguous
  | 'target-too-long' // 414
  | 'bad-framing' // 400: smuggling shapes (see checkFraming)
  | 'unauthenticated' // 401: no or wrong bearer token
  | 'forbidden-client' // 403: address / uid / gid / certificate not allowed
  | 'denied-by-rule' // 403: a deny rule matched
  | 'no-rule' // 403: no allow rule matched (deny by default)
  | 'method-not-allowed' // 405: no applicable allow rule names this method at all
  | 'too-many-headers' // 431: more header fields than the gateway accepts
  | 'body-too-large' // 413: the request body is over the configured maximum
  | 'bad-body' // 400: a body the policy reads cannot be read as dockerd reads it
  | 'denied-by-body-rule' // 403: a body rule refused what the body states
  | 'not-owned' // 403: under scope owner, a body names another identity's object or sets the owner label
  | 'expectation-failed' // 417: an Expect other than 100-continue
  | 'limit' // 429: a connection or stream limit of the client or of the gateway is reached
  | 'busy'; // 503: no upstream slot within the queue timeout, or the gateway is shutting down

/** The outcome of a policy, framing or identity check. */
export type PolicyDecision =
  | {
      action: 'allow';
      /** Always 200 for an allow: proceed. */
      status: 200;
      /** Canonical request target to forward: normalised path (version prefix kept) + `?query`. */
      target: string;
      /** Normalised path with the `/vX.Y` prefix folded away: what rules were matched against. */
      path: string;
      /** The API version prefix without `v` (`1.41`), or undefined when none was sent. */
      apiVersion?: string;
      /** The allow rule that matched. */
      rule: Rule;
      /** dockerd's route for the request (`GET /containers/{name:.*}/logs`), when it has one. */
      route?: string;
    }
  | {
      action: 'deny';
      status: 400 | 401 | 403 | 405 | 413 | 414 | 417 | 429 | 431 | 503;
      reason: DenyReason;
      /** For the JSON body `{"message": …}`; starts with `hijack gateway: `. Never holds a secret. */
      message: string;
      /** Headers to send with the refusal (`Allow` on 405, `WWW-Authenticate` on 401). */
      headers: Record<string, string>;
      /** The deny rule that matched, if any. */
      rule?: Rule;
      /** The folded path, when the target could be normalised. */
      path?: string;
    };

/** A refusal from {@link PolicyDecision}. */
export type DenyDecision = Extract<PolicyDecision, { action: 'deny' }>;

// ---------------------------------------------------------------- identity

/** How the client reached the gateway. */
export type ClientTransport = 'tcp' | 'tls' | 'unix';

/** What is known about a client connection before any request (see `connectionFacts`). */
export interface ConnectionFacts {
  transport: ClientTransport;
  /** Remote IP, IPv4-mapped IPv6 folded to IPv4 (tcp/tls only). */
  address?: string;
  port?: number;
  /** Unix peer credentials (unix only; absent if the native part is unavailable). */
  peer?: { pid: number; uid: number; gid: number };
  /** Client certificate (tls only, when the client sent one). */
  cert?: {
    /** Subject CN. */
    subject?: string;
    /** SHA-256 fingerprint, upper-case hex with colons. */
    fingerprint256: string;
    /** Whether the chain verified against the configured CA. */
    authorized: boolean;
  };
}

/** A client after identification: connection facts plus the token name that matched. */
export interface ClientIdentity extends ConnectionFacts {
  /** Name of the bearer token that matched (never the token itself). */
  token?: string;
}

/** A bearer token as kept in memory: its name and the SHA-256 of its value. */
export interface TokenEntry {
  name: string;
  /** SHA-256 digest of the token value (32 bytes). The value itself is not kept. */
  sha256: Buffer;
}

/**
 * Who may connect. Every list that is non-empty must be satisfied (CIDR for tcp/tls,
 * uid/gid for unix: uid in allowUid OR gid in allowGid, subject/fingerprint for tls);
 * when `tokens` is non-empty every request needs `Authorization: Bearer <token>`.
 */
export interface AuthOptions {
  tokens: TokenEntry[];
  allowCidr: string[];
  allowUid: number[];
  allowGid: number[];
  allowSubject: string[];
  allowFingerprint: string[];
}

// ---------------------------------------------------------------- framing

/** What `checkFraming()` needs from a request (a node:http IncomingMessage fits). */
export interface FramingRequest {
  method: string;
  httpVersion: string;
  /** Alternating names and values, as received (`req.rawHeaders`). */
  rawHeaders: string[];
}

// ---------------------------------------------------------------- endpoints and options

/** A listener or upstream endpoint (its home is src/endpoint/). */
export type { Endpoint } from '../endpoint/endpoint.js';

/** Durations in milliseconds; 0 turns a timeout off. */
export interface GatewayTimeouts {
  /** Dialing the upstream. Default 10 s. */
  connect: number;
  /** Receiving a client's request head, and the upstream's response head. Default 30 s. */
  head: number;
  /** A keep-alive client connection with no request in flight. Default 5 min. */
  idle: number;
  /** A streaming response or hijacked connection with no byte in either direction. Default 0 (off): never cuts `docker logs -f` or `docker events`. */
  stream: number;
  /** A request body with no byte arriving (ordinary requests and takeovers). Default 30 s. */
  body: number;
  /** An ordinary request waiting for a free upstream connection; then 503. Default 10 s. */
  queue: number;
}

/**
 * Resource limits; 0 turns one off. A stream is a takeover (upgrade, raw stream, CONNECT
 * tunnel) or a streaming answer (`/events`, `logs?follow`, `stats`, `wait`, image pulls,
 * pushes, builds, loads, exports and archives): streams get their own upstream connections,
 * never the pooled ones ordinary requests wait for.
 */
export interface GatewayLimits {
  /** Client connections open at once, in total. Default 4096. */
  connections: number;
  /** Client connections open at once per identity (token, uid, certificate or address). Default 0 (off). */
  connectionsPerIdentity: number;
  /** Streams open at once, in total. Default 1024. */
  streams: number;
  /** Streams open at once per identity. Default 0 (off). */
  streamsPerIdentity: number;
  /** Largest request body in bytes (413 beyond). Default 0 (off): bodies stream, never buffered whole. */
  maxBody: number;
}

/** Log levels accepted by `--log-level`. */
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/** Forward-proxy mode: CONNECT tunnels to listed `host:port` only. */
export interface ForwardProxyOptions {
  enabled: boolean;
  /** Allowed CONNECT authorities, `host:port`; `host:*` allows any port, `*:port` any host. */
  connectAllow: string[];
}

/** Everything the gateway needs, validated and resolved (what `parseGatewayArgs` returns). */
export interface GatewayOptions {
  listen: Endpoint[];
  upstream: Endpoint;
  policy: PolicySpec;
  auth: AuthOptions;
  timeouts: GatewayTimeouts;
  /** Resource limits (defaults in src/gateway/defaults.ts). */
  limits?: GatewayLimits;
  forwardProxy: ForwardProxyOptions;
  logLevel: LogLevel;
  /** Where the JSON access log goes: `stdout` (default), `stderr` or a file path (appended). */
  logDestination?: string;
  /** Milliseconds between `takeover progress` log lines of each open stream; absent or 0: none. */
  logStreamInterval?: number;
  metricsListen?: Endpoint;
  liveListen?: Endpoint;
  /** The config file that was loaded, if any (absolute path). */
  configFile?: string;
}
