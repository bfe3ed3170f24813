/**
 * Identity matching for rule blocks (`when: { token: [ci] }`, `when: { uid: [1000] }`).
 *
 * @module
 */
import type { ClientIdentity, IdentityMatcher } from '../types.js';
import { anyCidrContains, parseCidr, type Cidr } from './cidr.js';

/** Normalise a certificate fingerprint for comparison: upper-case hex, no colons. */
export function normalizeFingerprint(fp: string): string {
  return fp.replace(/:/g, '').toUpperCase();
}

/** A matcher with its CIDRs parsed once. */
export interface CompiledMatcher {
  matcher: IdentityMatcher;
  cidrs: Cidr[];
  test(identity: ClientIdentity | undefined): boolean;
}

/**
 * Compile an {@link IdentityMatcher}: every key given must match (AND), any value within a
 * key (OR). An empty matcher matches everybody, also an unknown identity.
 */
export function compileMatcher(matcher: IdentityMatcher): CompiledMatcher {
  const cidrs = (matcher.cidr ?? []).map(parseCidr);
  const fps = (matcher.fingerprint ?? []).map(normalizeFingerprint);
  return {
    matcher,
    cidrs,
    test(id) {
      const has = (k: keyof IdentityMatcher) => matcher[k] !== undefined;
      if (
        !has('token') &&
        !has('uid') &&
        !has('gid') &&
        !has('cidr') &&
        !has('subject') &&
        !has('fingerprint')
      )
        return true;
      if (!id) return false;
      if (matcher.token && (id.token === undefined || !matcher.token.includes(id.token)))
        return false;
      if (matcher.uid && (id.peer === undefined || !matcher.uid.includes(id.peer.uid)))
        return false;
      if (matcher.gid && (id.peer === undefined || !matcher.gid.includes(id.peer.gid)))
        return false;
      if (matcher.cidr && !anyCidrContains(cidrs, id.address)) return false;
      if (
        matcher.subject &&
        (!id.cert?.authorized ||
          id.cert.subject === undefined ||
          !matcher.subject.includes(id.cert.subject))
      )
        return false;
      if (
        matcher.fingerprint &&
        (!id.cert || !fps.includes(normalizeFingerprint(id.cert.fingerprint256)))
      )
        return false;
      return true;
    },
  };
}
