/**
 * `docker ps --filter` for the demo engine: `id`, `name` (regular expressions, as dockerd
 * matches them), `label` (`key`, `key=value`, `key!=value`), `status`, `ancestor`,
 * `exited`. dockerd's other filter keys answer 400 naming the demo.
 *
 * @module
 */
import type { Container } from './containers.js';
import { parseFilters, type Filters } from './filters.js';
import { ApiError } from './http.js';

const IMPLEMENTED = ['id', 'name', 'label', 'status', 'ancestor', 'exited'];
const DOCKERD_ONLY = [
  'before',
  'since',
  'health',
  'network',
  'volume',
  'publish',
  'expose',
  'is-task',
  'isolation',
];
const STATUSES = ['created', 'restarting', 'running', 'removing', 'paused', 'exited', 'dead'];

function regexMatch(term: string, value: string): boolean {
  try {
    return new RegExp(term).test(value);
  } catch {
    return false;
  }
}

/** True when the labels have `key`, `key=value`, or not `key!=value`. */
export function labelMatch(labels: Record<string, string>, term: string): boolean {
  const ne = term.indexOf('!=');
  if (ne > 0) return labels[term.slice(0, ne)] !== term.slice(ne + 2);
  const eq = term.indexOf('=');
  if (eq < 0) return term in labels;
  return labels[term.slice(0, eq)] === term.slice(eq + 1);
}

/** Image reference `name[:tag]` matching `image` (a missing tag is `latest`), or its id. */
export function imageMatch(image: string, imageId: string, ref: string): boolean {
  const withTag = /:[^/]+$/.test(ref) ? ref : `${ref}:latest`;
  const norm = (s: string) => s.replace(/^docker\.io\/(library\/)?/, '');
  return (
    norm(withTag) === norm(image) ||
    imageId.replace(/^sha256:/, '').startsWith(ref.replace(/^sha256:/, ''))
  );
}

/** Parses the `filters` of `GET /containers/json`; 400 with dockerd's message for bad ones. */
export function psFilters(text: string | null): Filters {
  let f: Filters;
  try {
    f = parseFilters(text, [...IMPLEMENTED, ...DOCKERD_ONLY]);
  } catch (err) {
    throw new ApiError(400, (err as Error).message);
  }
  for (const key of DOCKERD_ONLY) {
    if (f.has(key))
      throw new ApiError(400, `the demo engine does not filter containers on '${key}'`);
  }
  for (const s of f.get('status') ?? []) {
    if (!STATUSES.includes(s)) throw new ApiError(400, `invalid filter 'status=${s}'`);
  }
  for (const s of f.get('exited') ?? []) {
    if (!/^-?\d+$/.test(s)) throw new ApiError(400, `invalid filter 'exited=${s}'`);
  }
  return f;
}

/** True when `c` passes every filter (values of one key: any; keys: all). */
export function psMatches(c: Container, f: Filters): boolean {
  const any = (key: string, test: (v: string) => boolean) => {
    const vs = f.get(key);
    return !vs || vs.some(test);
  };
  const imageId = c.imageId;
  return (
    any('id', (v) => regexMatch(v, c.id)) &&
    any('name', (v) => regexMatch(v, `/${c.name}`)) &&
    (f.get('label') ?? []).every((v) => labelMatch(c.labels, v)) &&
    any('status', (v) => v === c.status) &&
    any('ancestor', (v) => imageMatch(c.image, imageId, v)) &&
    any('exited', (v) => c.status === 'exited' && Number(v) === c.exitCode)
  );
}
