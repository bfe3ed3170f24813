/**
 * The gateway's defaults, in one place for the engine (createGateway) and the
 * configuration layer (flags, files, environment).
 *
 * @module
 */
import type { AuthOptions, GatewayLimits, GatewayTimeouts } from './types.js';

/** Default timeouts (milliseconds; 0 = off): none of them cuts a long `docker logs -f` or `docker events`. */
export const DEFAULT_TIMEOUTS: Readonly<GatewayTimeouts> = Object.freeze({
  connect: 10_000,
  head: 30_000,
  idle: 300_000,
  stream: 0,
  body: 30_000,
  queue: 10_000,
});

/** Default resource limits (0 = off). */
export const DEFAULT_LIMITS: Readonly<GatewayLimits> = Object.freeze({
  connections: 4096,
  connectionsPerIdentity: 0,
  streams: 1024,
  streamsPerIdentity: 0,
  maxBody: 0,
});

/** The default listener. */
export const DEFAULT_LISTEN = 'tcp://127.0.0.1:2375';

/** The default upstream: the local Docker daemon. */
export const DEFAULT_UPSTREAM = 'unix:///var/run/docker.sock';

/** Auth settings that let every client in (no tokens, no allowlists); fresh lists each call. */
export function openAuth(): AuthOptions {
  return {
    tokens: [],
    allowCidr: [],
    allowUid: [],
    allowGid: [],
    allowSubject: [],
    allowFingerprint: [],
  };
}
