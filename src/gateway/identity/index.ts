/**
 * Client identity for the gateway: CIDR allowlists, bearer tokens, mTLS, unix peer uid/gid.
 *
 * @module
 */
export { createAuthenticator, isDenied, type Authenticator } from './authenticator.js';
export { connectionFacts } from './facts.js';
export { loadTokens, hashToken, verifyToken, bearerToken } from './tokens.js';
export {
  parseCidr,
  cidrContains,
  anyCidrContains,
  addressBytes,
  foldMappedAddress,
  type Cidr,
} from './cidr.js';
export { compileMatcher, normalizeFingerprint, type CompiledMatcher } from './match.js';
