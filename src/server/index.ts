export { hijack, type Hijacked } from './hijack.js';
export { enableHijack } from './enable.js';
export {
  trackConnections,
  ConnectionTracker,
  Conn,
  type ConnState,
  type Transport,
  type TrackOptions,
  type ShutdownOptions,
} from './tracker.js';
