/**
 * Endpoints: the type, the one syntax (parse, with near-miss hints), the one way to write
 * them (IPv6 in brackets), and stale unix-socket reclaim for listeners.
 *
 * @module
 */
export { formatEndpoint, formatHost, formatHostPort, type Endpoint } from './endpoint.js';
export { nearMiss, parseEndpoint, type EndpointRole } from './parse.js';
export { listenEndpoint, reclaimStaleSocket, socketAlive, type ListenAddress } from './listen.js';
