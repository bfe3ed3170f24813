/**
 * Which Docker API requests hold their connection for long: streaming answers (events,
 * logs with follow, stats, wait) and long transfers (image pulls, pushes, loads, saves,
 * builds, container exports and archives, plugin pulls). The gateway carries them over
 * their own upstream connections and counts them as streams, so they never take the
 * pooled connections that short requests wait for.
 *
 * Requests are classified by the dockerd route the policy already resolved, so a name
 * that spans segments (`{name:.*}`) classifies as dockerd routes it.
 *
 * @module
 */
import { dockerBoolValue, dockerBoolValueOrDefault } from './go-text.js';
import { parseQuery } from './target.js';

const ALWAYS: ReadonlySet<string> = new Set([
  'GET /events',
  'POST /containers/{name:.*}/wait',
  'POST /images/create',
  'POST /images/load',
  'POST /images/{name:.*}/push',
  'GET /images/get',
  'GET /images/{name:.*}/get',
  'POST /build',
  'GET /containers/{name:.*}/export',
  'GET /containers/{name:.*}/archive',
  'PUT /containers/{name:.*}/archive',
  'POST /plugins/pull',
  'POST /plugins/{name:.*}/push',
  'POST /plugins/{name:.*}/upgrade',
]);
const LOGS: ReadonlySet<string> = new Set([
  'GET /containers/{name:.*}/logs',
  'GET /services/{id}/logs',
  'GET /tasks/{id}/logs',
]);
const STATS = 'GET /containers/{name:.*}/stats';

function param(target: string, name: string): string | undefined {
  const q = target.indexOf('?');
  if (q < 0) return undefined;
  const params = parseQuery(target.slice(q + 1));
  return typeof params === 'string' ? undefined : params.get(name)?.[0];
}

/**
 * True when `route` (dockerd's `METHOD template`, see docker-routes.ts) is a streaming
 * answer or long transfer; `target` (the canonical target, query included) decides
 * `logs?follow` and `stats?stream` as dockerd reads them (`stats` streams unless `stream`
 * is false).
 */
export function streamingAnswer(route: string | undefined, target: string): boolean {
  if (route === undefined) return false;
  if (ALWAYS.has(route)) return true;
  if (LOGS.has(route)) return dockerBoolValue(param(target, 'follow'));
  if (route === STATS) return dockerBoolValueOrDefault(param(target, 'stream'), true);
  return false;
}
