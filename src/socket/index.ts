/**
 * Socket facts and tuning the kernel has and Node does not expose: `tcpInfo`, `peerCred`,
 * keepalive and user timeout, congestion control, BBR's path model. Linux only; without
 * the native part every call throws ERR_NATIVE_UNAVAILABLE and the rest of the package works.
 *
 * @module
 */
export { tcpInfo, decodeTcpInfo, tcpStateName } from './tcp-info.js';
export type { TcpInfo } from './tcp-info.js';
export { peerCred } from './peer-cred.js';
export type { PeerCred } from './peer-cred.js';
export { setKeepAlive, keepAlive, setUserTimeout, userTimeout } from './keepalive.js';
export type { KeepAliveOptions, KeepAlive } from './keepalive.js';
export {
  congestionControl,
  setCongestionControl,
  bbrInfo,
  availableCongestionControls,
} from './congestion.js';
export type { BbrInfo } from './congestion.js';
export { nativeSocketSupport } from './native.js';
export type { NativeStatus } from './native.js';
