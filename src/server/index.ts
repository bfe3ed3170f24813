/**
 * Server layer: take a connection over from inside any request handler (`hijack`), make a
 * server's takeovers complete (`enableHijack`), and follow every connection's life
 * (`trackConnections`, Go's ConnState and Shutdown).
 *
 * @module
 */
export { hijack, type Hijacked } from './hijack.js';
export { enableHijack, type EnableHijackOptions, type TakeoverFilter } from './enable.js';
export {
  trackConnections,
  ConnectionTracker,
  Conn,
  type ConnState,
  type Transport,
  type TrackOptions,
  type ShutdownOptions,
} from './tracker.js';
