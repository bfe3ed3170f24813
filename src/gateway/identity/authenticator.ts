/**
 * Who may connect: CIDR allowlist, unix peer uid/gid, mTLS subject/fingerprint, bearer tokens.
 *
 * @module
 */
import { deny } from '../policy/policy.js';
import type { AuthOptions, ClientIdentity, ConnectionFacts, DenyDecision } from '../types.js';
import { anyCidrContains, parseCidr } from './cidr.js';
import { normalizeFingerprint } from './match.js';
import { bearerToken, verifyToken } from './tokens.js';

/** Checks clients against {@link AuthOptions}. */
export interface Authenticator {
  /**
   * Check a connection before any request: CIDR (tcp/tls), uid/gid (unix), certificate
   * subject/fingerprint (tls). Returns a 403 refusal, or undefined when allowed.
   */
  checkConnection(facts: ConnectionFacts): DenyDecision | undefined;
  /**
   * Identify one request: the connection check, then the bearer token when tokens are
   * configured (401 with `WWW-Authenticate: Bearer` when missing or wrong). The returned
   * identity names the token, never holds its value.
   */
  identify(
    facts: ConnectionFacts,
    headers: Record<string, string | string[] | undefined>,
  ): ClientIdentity | DenyDecision;
  /** True when requests need a bearer token (the engine should strip `Authorization` upstream). */
  readonly requiresToken: boolean;
}

/** True when `x` is a refusal rather than an identity. */
export function isDenied(x: ClientIdentity | DenyDecision | undefined): x is DenyDecision {
  return x !== undefined && 'action' in x && x.action === 'deny';
}

/** Compile {@link AuthOptions} into an {@link Authenticator}; throws ERR_CONFIG on a bad CIDR. */
export function createAuthenticator(auth: AuthOptions): Authenticator {
  const cidrs = auth.allowCidr.map(parseCidr);
  const fps = auth.allowFingerprint.map(normalizeFingerprint);
  const forbidden = (what: string) =>
    deny(403, 'forbidden-client', `${what}; ask the operator to allow it`);

  const checkConnection = (facts: ConnectionFacts): DenyDecision | undefined => {
    if (facts.transport === 'unix') {
      if (auth.allowUid.length || auth.allowGid.length) {
        const p = facts.peer;
        if (!p) return forbidden('the peer credentials of this unix connection are unavailable');
        if (!auth.allowUid.includes(p.uid) && !auth.allowGid.includes(p.gid)) {
          return forbidden(`uid ${p.uid} / gid ${p.gid} is not in --allow-uid / --allow-gid`);
        }
      }
      return undefined;
    }
    if (cidrs.length && !anyCidrContains(cidrs, facts.address)) {
      return forbidden(`the client address ${facts.address ?? '(unknown)'} is not in --allow-cidr`);
    }
    if (facts.transport === 'tls' && (auth.allowSubject.length || fps.length)) {
      const c = facts.cert;
      const subjectOk =
        !!c?.authorized && c.subject !== undefined && auth.allowSubject.includes(c.subject);
      const fpOk = !!c && fps.includes(normalizeFingerprint(c.fingerprint256));
      if (!subjectOk && !fpOk)
        return forbidden('the client certificate is not in --allow-subject / --allow-fingerprint');
    }
    return undefined;
  };

  return {
    requiresToken: auth.tokens.length > 0,
    checkConnection,
    identify(facts, headers) {
      const refused = checkConnection(facts);
      if (refused) return refused;
      const identity: ClientIdentity = { ...facts };
      if (auth.tokens.length === 0) return identity;
      const presented = bearerToken(headers['authorization']);
      const challenge = { 'www-authenticate': 'Bearer realm="hijack gateway"' };
      if (presented === undefined) {
        return deny(
          401,
          'unauthenticated',
          'a bearer token is required (Authorization: Bearer <token>; for the docker CLI set HttpHeaders in ~/.docker/config.json)',
          {
            headers: challenge,
          },
        );
      }
      const name = verifyToken(presented, auth.tokens);
      if (name === undefined) {
        return deny(401, 'unauthenticated', 'the bearer token is not valid', {
          headers: { 'www-authenticate': 'Bearer realm="hijack gateway", error="invalid_token"' },
        });
      }
      identity.token = name;
      return identity;
    },
  };
}
