/**
 * Endpoints: the type and its resolved forms, the one syntax (parse, with near-miss hints,
 * and client targets), the one way to write them (IPv6 in brackets), connecting, and
 * listening with stale unix-socket reclaim.
 *
 * @module
 */
export {
  dialEndpoint,
  formatEndpoint,
  formatHost,
  formatHostPort,
  resolvedTarget,
  type DialEndpoint,
  type Endpoint,
  type EndpointKind,
  type ResolvedTarget,
} from './endpoint.js';
export {
  nearMiss,
  parseEndpoint,
  resolveTarget,
  type EndpointRole,
  type EndpointSyntaxOptions,
  type Target,
  type TargetObject,
} from './parse.js';
export {
  connectEndpoint,
  type ConnectEndpointOptions,
  type EndpointConnection,
} from './connect.js';
export { listenEndpoint, reclaimStaleSocket, socketAlive, type ListenAddress } from './listen.js';
