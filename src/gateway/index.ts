/**
 * The gateway layer: `createGateway(options)` (the engine behind `hijack gateway`), its
 * events, and the policy, identity and option types it is configured with.
 *
 * @module
 */
export {
  createGateway,
  DEFAULT_TIMEOUTS,
  DOCKER_RAW_STREAM_PATHS,
  type Gateway,
  type CreateGatewayOptions,
  type GatewayCloseOptions,
} from './server.js';
export type {
  GatewayEvents,
  GatewayRequestEvent,
  GatewayTakeoverEvent,
  GatewayClientErrorEvent,
  GatewayOpenStream,
  ClientEndpoint,
  GatewayAddress,
  TakeoverEnd,
} from './forward/events.js';
export { DEFAULT_UPSTREAM } from './defaults.js';
export { parseUpstream, type UpstreamTarget, type UpstreamTlsOptions } from './forward/upstream.js';
export { stripHopByHop, upgradeType } from '../http1/hop-by-hop.js';
export {
  compilePolicy,
  checkFraming,
  normalizeTarget,
  parseRule,
  type Policy,
} from './policy/index.js';
export {
  createAuthenticator,
  connectionFacts,
  loadTokens,
  type Authenticator,
} from './identity/index.js';
export type {
  GatewayOptions,
  GatewayTimeouts,
  Endpoint,
  Rule,
  RuleEffect,
  RuleBlock,
  QueryConstraint,
  IdentityMatcher,
  PolicySpec,
  PolicyRequest,
  PolicyDecision,
  DenyDecision,
  DenyReason,
  ClientIdentity,
  ClientTransport,
  ConnectionFacts,
  AuthOptions,
  TokenEntry,
  ForwardProxyOptions,
  LogLevel,
} from './types.js';
export {
  observeGateway,
  createAccessLog,
  createMetrics,
  createLiveView,
  createObserveServer,
  type ObserveOptions,
  type Observer,
  type AccessLog,
  type AccessLogOptions,
  type AccessLogLine,
  type AccessLogKind,
  type AccessLogSource,
  type LogDestination,
  type GatewayMetrics,
  type MetricsOptions,
  type LiveView,
  type LiveViewOptions,
  type LiveSnapshot,
  type LiveConnection,
  type EndedConnection,
  type LiveDenial,
  type IdentitySummary,
  type ObserveServer,
  type ObserveServerOptions,
  type TcpFacts,
} from './observe/index.js';
