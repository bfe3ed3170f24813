/**
 * Browser sessions of the live page: a bearer token, checked once (`POST /login` or
 * `/?token=…`), is exchanged for a random session id in an `HttpOnly; SameSite=Strict`
 * cookie, so the page's own requests (its script, `/events`, `/connections.json`) are
 * authorised the same way without the token in any URL. Sessions live in memory, expire,
 * and are bounded in number (the oldest goes first).
 *
 * @module
 */
import { randomBytes } from 'node:crypto';

/** The session cookie's name. */
export const SESSION_COOKIE = 'hijack_live_session';

/** Options of {@link createSessions}. */
export interface SessionOptions {
  /** Milliseconds a session lasts. Default 12 h. */
  ttl?: number;
  /** Most sessions kept; creating one more drops the oldest. Default 1024. */
  max?: number;
}

/** The live page's sessions. */
export interface Sessions {
  /** Starts a session for the token named `who`; returns its id (the cookie's value). */
  create(who: string): string;
  /** The token name of a live session, or undefined (unknown or expired). */
  check(id: string | undefined): string | undefined;
  /** Ends a session. */
  drop(id: string | undefined): void;
  /** The `Set-Cookie` value that stores `id` (or clears the cookie when `id` is undefined). */
  cookie(id: string | undefined): string;
}

/** Creates an in-memory session store. */
export function createSessions(options: SessionOptions = {}): Sessions {
  const ttl = options.ttl ?? 12 * 3600_000;
  const max = options.max ?? 1024;
  const live = new Map<string, { who: string; expires: number }>();
  return {
    create(who) {
      const id = randomBytes(32).toString('base64url');
      if (live.size >= max) live.delete(live.keys().next().value!);
      live.set(id, { who, expires: Date.now() + ttl });
      return id;
    },
    check(id) {
      if (!id) return undefined;
      const s = live.get(id);
      if (!s) return undefined;
      if (s.expires <= Date.now()) {
        live.delete(id);
        return undefined;
      }
      return s.who;
    },
    drop(id) {
      if (id) live.delete(id);
    },
    cookie(id) {
      const attrs = 'Path=/; HttpOnly; SameSite=Strict';
      return id === undefined
        ? `${SESSION_COOKIE}=; ${attrs}; Max-Age=0`
        : `${SESSION_COOKIE}=${id}; ${attrs}; Max-Age=${Math.floor(ttl / 1000)}`;
    },
  };
}

/** The value of cookie `name` in a `Cookie` header, if present. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
