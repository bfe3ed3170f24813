/**
 * The gateway's policy: rules, request-target normalisation and framing checks.
 *
 * @module
 */
export {
  compilePolicy,
  deny,
  parseAuthority,
  isConnectAllowEntry,
  MESSAGE_PREFIX,
  type Policy,
  type ScopeOf,
} from './policy.js';
export { checkFraming } from './framing.js';
export {
  normalizeTarget,
  parseQuery,
  DEFAULT_MAX_TARGET_LENGTH,
  type NormalizedTarget,
  type RefusedTarget,
} from './target.js';
export {
  parseRule,
  compilePattern,
  matchPattern,
  matchQuery,
  dockerTrue,
  type PatternSegment,
} from './rule.js';
