/**
 * Client layer: open hijacked connections (`dialHijack`) and read HTTP/1.x response heads.
 *
 * @module
 */
export { dialHijack, serverMessage } from './dial.js';
export type { DialHijackOptions, HijackedConnection } from './dial.js';
export {
  readResponseHead,
  parseResponseHead,
  formatRequestHead,
  DEFAULT_MAX_HEADER_SIZE,
} from '../http1/head.js';
export type { ReadResponseHeadOptions, ResponseHead, RequestHead } from '../http1/head.js';
export { resolveTarget } from './target.js';
export type { Target, TargetObject, ResolvedTarget } from './target.js';
