/**
 * The query of `POST /build`, read as dockerd 20.10 reads it (build_routes.go
 * newImageBuildOptions: `r.FormValue` for one value, `r.Form[…]` for lists, `json.Unmarshal`
 * for `buildargs`, `labels`, `cachefrom`, `ulimits` and `outputs`), and the body rules that
 * apply to it (`builds.*`, plus the image patterns for tags and the security-option rule).
 *
 * What the gateway refuses (400) because readers could disagree: a parameter dockerd reads
 * once (`FormValue` takes the first) given twice; a JSON value that Go's encoding/json would
 * read differently or not at all (see body-json.ts); a `multipart/form-data` body, whose form
 * fields Go's `FormValue` would add to the query's (a form-urlencoded body is refused for
 * every route by the framing check).
 *
 * @module
 */
import type { DenyDecision } from '../types.js';
import { readGoJsonValue, type GoValue } from './body-json.js';
import {
  confinedSecurityOpt,
  imageAllowed,
  violationMessage,
  type BodyRules,
  type BodyViolation,
} from './body-rules.js';
import { buildQueryJsonTypes } from './docker-bodies.js';
import { deny } from './policy.js';
import { parseQuery } from './target.js';

/** Parameters dockerd reads with `r.FormValue` (the first value counts). */
export const BUILD_SINGLE_PARAMS: readonly string[] = [
  'dockerfile',
  'q',
  'nocache',
  'forcerm',
  'rm',
  'pull',
  'memswap',
  'memory',
  'cpushares',
  'cpuperiod',
  'cpuquota',
  'cpusetcpus',
  'cpusetmems',
  'cgroupparent',
  'networkmode',
  'squash',
  'target',
  'remote',
  'session',
  'buildid',
  'platform',
  'outputs',
  'shmsize',
  'isolation',
  'ulimits',
  'buildargs',
  'labels',
  'cachefrom',
  'version',
];

/** What the policy decides on in a build query, in dockerd's reading. */
export interface BuildQuery {
  networkmode: string;
  remote: string;
  /** `t`: every tag. */
  t: string[];
  securityopt: string[];
  extrahosts: string[];
  /** The JSON parameters, decoded (null when absent or empty, as dockerd skips them). */
  buildargs: GoValue;
  labels: GoValue;
  cachefrom: GoValue;
  ulimits: GoValue;
  outputs: GoValue;
}

/**
 * Reads the raw query of a build request (without `?`) as dockerd does, or says why it is
 * refused. Pure; never throws on input.
 */
export function readBuildQuery(
  query: string,
): { ok: true; value: BuildQuery } | { ok: false; reason: string } {
  const params = parseQuery(query);
  if (typeof params === 'string') return { ok: false, reason: `the query ${params}` };
  for (const name of BUILD_SINGLE_PARAMS) {
    if ((params.get(name)?.length ?? 0) > 1) {
      return { ok: false, reason: `the query parameter ${name} is given more than once` };
    }
  }
  const one = (name: string): string => params.get(name)?.[0] ?? '';
  const out: BuildQuery = {
    networkmode: one('networkmode'),
    remote: one('remote'),
    t: params.get('t') ?? [],
    securityopt: params.get('securityopt') ?? [],
    extrahosts: params.get('extrahosts') ?? [],
    buildargs: null,
    labels: null,
    cachefrom: null,
    ulimits: null,
    outputs: null,
  };
  for (const [name, type] of Object.entries(buildQueryJsonTypes)) {
    const raw = one(name);
    if (raw === '') continue;
    const read = readGoJsonValue(raw, type, name);
    if (!read.ok) return read;
    out[name as keyof typeof buildQueryJsonTypes] = read.value;
  }
  return { ok: true, value: out };
}

/** The first body rule a build query breaks, or undefined. Pure. */
export function checkBuildQuery(q: BuildQuery, r: BodyRules): BodyViolation | undefined {
  if (r.buildNetworkModes !== '*' && !r.buildNetworkModes.includes(q.networkmode)) {
    return {
      field: 'networkmode',
      problem: `${JSON.stringify(q.networkmode)} is not allowed`,
      rule: 'builds.networkMode',
    };
  }
  if (!r.buildRemote && q.remote !== '') {
    return {
      field: 'remote',
      problem: `${JSON.stringify(q.remote)} is not allowed (dockerd would fetch it)`,
      rule: 'builds.remote',
    };
  }
  for (const [i, tag] of q.t.entries()) {
    if (!imageAllowed(tag, r.images)) {
      return {
        field: `t[${i}]`,
        problem: `${JSON.stringify(tag)} is not allowed`,
        rule: 'builds.tag',
      };
    }
  }
  if (!r.securityOpt) {
    for (const [i, o] of q.securityopt.entries()) {
      if (!confinedSecurityOpt(o)) {
        return {
          field: `securityopt[${i}]`,
          problem: `${JSON.stringify(o)} is not allowed`,
          rule: 'builds.securityOpt',
        };
      }
    }
  }
  if (r.images !== '*' && Array.isArray(q.outputs)) {
    for (const [i, o] of q.outputs.entries()) {
      const attrs = o !== null && typeof o === 'object' && !Array.isArray(o) ? o['Attrs'] : null;
      const names =
        attrs !== null && typeof attrs === 'object' && !Array.isArray(attrs)
          ? attrs['name']
          : undefined;
      if (typeof names !== 'string') continue;
      for (const name of names.split(',')) {
        if (name.trim() !== '' && !imageAllowed(name.trim(), r.images)) {
          return {
            field: `outputs[${i}].Attrs.name`,
            problem: `${JSON.stringify(name.trim())} is not allowed`,
            rule: 'builds.tag',
          };
        }
      }
    }
  }
  return undefined;
}

const MULTIPART = 'multipart/form-data';

/**
 * Admission of a build request's query under body rules: undefined to go on, else the refusal
 * (400 unreadable, 403 a rule). `rawHeaders` are the request's, as received.
 */
export function admitBuildQuery(
  rules: BodyRules,
  query: string,
  rawHeaders: readonly string[],
  path: string,
): DenyDecision | undefined {
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (rawHeaders[i]!.toLowerCase() !== 'content-type') continue;
    if (rawHeaders[i + 1]!.split(';')[0]!.trim().toLowerCase() === MULTIPART) {
      const m = `the query of POST /build is refused: a ${MULTIPART} body (dockerd would read its fields as query parameters)`;
      return deny(400, 'bad-body', m, { path });
    }
  }
  const read = readBuildQuery(query);
  if (!read.ok) {
    return deny(400, 'bad-body', `the query of POST /build is refused: ${read.reason}`, { path });
  }
  const v = checkBuildQuery(read.value, rules);
  if (v === undefined) return undefined;
  return deny(403, 'denied-by-body-rule', violationMessage(v, rules), { path });
}
