/**
 * Which Docker API requests hold their connection for long: streaming answers (events,
 * logs with follow, stats, wait) and long transfers (image pulls, pushes, loads, saves,
 * builds, container exports and archives, plugin pulls). The gateway carries them over
 * their own upstream connections and counts them as streams, so they never take the
 * pooled connections that short requests wait for.
 *
 * Paths are folded (no `/vX.Y`); names may span segments as dockerd's `{name:.*}` does.
 *
 * @module
 */
import { dockerTrue } from './rule.js';
import { parseQuery } from './target.js';

const ALWAYS: ReadonlyArray<[string, RegExp]> = [
  ['GET', /^\/events$/],
  ['POST', /^\/containers\/.+\/wait$/],
  ['POST', /^\/images\/create$/],
  ['POST', /^\/images\/load$/],
  ['POST', /^\/images\/.+\/push$/],
  ['GET', /^\/images\/get$/],
  ['GET', /^\/images\/.+\/get$/],
  ['POST', /^\/build$/],
  ['GET', /^\/containers\/.+\/export$/],
  ['GET', /^\/containers\/.+\/archive$/],
  ['PUT', /^\/containers\/.+\/archive$/],
  ['POST', /^\/plugins\/pull$/],
  ['POST', /^\/plugins\/.+\/(push|upgrade)$/],
];
const LOGS = /^\/(containers|services|tasks)\/.+\/logs$/;
const STATS = /^\/containers\/.+\/stats$/;

function param(target: string, name: string): string | undefined {
  const q = target.indexOf('?');
  if (q < 0) return undefined;
  const params = parseQuery(target.slice(q + 1));
  return typeof params === 'string' ? undefined : params.get(name)?.[0];
}

/**
 * True when `method path` (folded) is a streaming answer or long transfer; `target` (the
 * canonical target, query included) decides `logs?follow` and `stats?stream` as dockerd
 * reads them (`stats` streams unless `stream` is false).
 */
export function streamingAnswer(method: string, path: string, target: string): boolean {
  for (const [m, re] of ALWAYS) if (m === method && re.test(path)) return true;
  if (method !== 'GET') return false;
  if (LOGS.test(path)) return dockerTrue(param(target, 'follow') ?? '');
  if (STATS.test(path)) {
    const v = param(target, 'stream');
    return v === undefined || dockerTrue(v);
  }
  return false;
}
