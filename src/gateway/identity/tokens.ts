/**
 * Bearer tokens: loaded from a file or the environment, kept only as SHA-256 digests,
 * compared in constant time (crypto.timingSafeEqual over digests, every entry checked).
 *
 * @module
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { HijackError } from '../../errors.js';
import type { TokenEntry } from '../types.js';

const NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/** SHA-256 of a token value. */
export function hashToken(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/**
 * Parse token lines: `name:secret`, or a bare `secret` (named `<source>#<line>`). Blank lines
 * and lines starting with `#` are skipped. Throws ERR_CONFIG (the message names the line,
 * never the secret) for a too-short secret or a repeated name.
 */
export function loadTokens(text: string, source: string): TokenEntry[] {
  const out: TokenEntry[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const colon = line.indexOf(':');
    let name = `${source}#${i + 1}`;
    let secret = line;
    if (colon > 0 && NAME.test(line.slice(0, colon))) {
      name = line.slice(0, colon);
      secret = line.slice(colon + 1).trim();
    }
    if (secret.length < 16) {
      throw new HijackError(
        'ERR_CONFIG',
        `${source}:${i + 1}: the token is shorter than 16 characters; use a long random one (e.g. openssl rand -hex 32)`,
      );
    }
    if (/\s/.test(secret))
      throw new HijackError('ERR_CONFIG', `${source}:${i + 1}: the token contains white space`);
    if (out.some((t) => t.name === name)) {
      throw new HijackError(
        'ERR_CONFIG',
        `${source}:${i + 1}: the token name '${name}' is used twice`,
      );
    }
    out.push({ name, sha256: hashToken(secret) });
  });
  return out;
}

/** Take the token out of an `Authorization: Bearer <token>` header value, or undefined. */
export function bearerToken(header: string | string[] | undefined): string | undefined {
  if (header === undefined || Array.isArray(header)) return undefined;
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  return m ? m[1] : undefined;
}

/**
 * Find the entry whose token equals `presented`, comparing digests in constant time and
 * visiting every entry whatever matches; returns the entry's name or undefined.
 */
export function verifyToken(presented: string, tokens: TokenEntry[]): string | undefined {
  const digest = hashToken(presented);
  let found: string | undefined;
  for (const t of tokens) {
    if (timingSafeEqual(digest, t.sha256) && found === undefined) found = t.name;
  }
  return found;
}
