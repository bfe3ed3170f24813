/**
 * Owner lookups for scope owner: asks the daemon who owns an object (its `hijack.owner`
 * label), through the gateway's own upstream pool, and applies the pure decisions of
 * policy/owner.ts to the answers. The daemon's label is the only state: several gateways in
 * front of one daemon agree, and a restart loses nothing.
 *
 * One cache only, where an owner cannot change underneath it: a container's labels are
 * fixed at create and its full Id is never reused, so the owner of a full Id (an exec's
 * `ContainerID`) is kept. A name or id prefix is always resolved by the daemon (names and
 * prefixes are reused after a delete or a rename); never name → id.
 *
 * @module
 */
import type { Dispatcher } from 'undici';
import { HijackError } from '../../errors.js';
import type { DenyDecision } from '../types.js';
import { deny } from '../policy/policy.js';
import {
  notFound,
  notOwnedInBody,
  OWNER_LABEL,
  planBody,
  pinBody,
  type BodyRef,
  type NotFound,
  type OwnedKind,
  type OwnerPlan,
} from '../policy/owner.js';

/** What the daemon says about an object: missing, or its full id, name and owner label. */
export type Lookup =
  { found: false } | { found: true; id: string; name: string; owner: string | undefined };

/** Owner lookups through the upstream. */
export interface OwnerLookup {
  /** Resolves `ref` (id, id prefix or name) of `kind` as dockerd does, with its owner. */
  lookup(kind: OwnedKind, ref: string): Promise<Lookup>;
}

/** Most container owners kept by full Id. */
export const OWNER_CACHE_SIZE = 4096;

/** Characters a lookup path keeps as they are; anything else is percent-encoded. */
const PLAIN = /^[A-Za-z0-9\-._~!$&'()*+,=:@/]$/;

/** `ref` as a path part dockerd decodes back to `ref` ('/' kept: `{name:.*}` spans it). */
export function lookupPathPart(ref: string): string {
  let out = '';
  for (const ch of ref) out += PLAIN.test(ch) ? ch : encodeURIComponent(ch);
  return out;
}

/** Creates the lookups over `pool` (the gateway's upstream pool); `timeout` ms per call. */
export function createOwnerLookup(pool: Dispatcher, timeout: number): OwnerLookup {
  const owners = new Map<string, string | undefined>();
  const get = async (path: string): Promise<Record<string, unknown> | undefined> => {
    let res: Dispatcher.ResponseData;
    try {
      res = await pool.request({
        path,
        method: 'GET',
        headersTimeout: timeout,
        bodyTimeout: timeout,
      });
    } catch (err) {
      throw new HijackError(
        'ERR_UPSTREAM',
        `hijack gateway: cannot ask the upstream who owns ${path}: ${(err as Error).message}`,
        { cause: err },
      );
    }
    const text = await res.body.text();
    if (res.statusCode === 404) return undefined;
    if (res.statusCode !== 200) {
      // A name dockerd's router cleans (`a//b`, `..`) is redirected: not a name it resolves.
      if (res.statusCode === 301) return undefined;
      throw new HijackError(
        'ERR_UPSTREAM',
        `hijack gateway: the upstream answered ${res.statusCode} to the owner lookup ${path}`,
      );
    }
    try {
      return JSON.parse(text) as Record<string, unknown>;
    } catch (err) {
      throw new HijackError(
        'ERR_UPSTREAM',
        `hijack gateway: the owner lookup ${path} is not JSON`,
        {
          cause: err,
        },
      );
    }
  };
  const label = (labels: unknown): string | undefined => {
    const v = (labels as Record<string, unknown> | null | undefined)?.[OWNER_LABEL];
    return typeof v === 'string' ? v : undefined;
  };
  const remember = (id: string, owner: string | undefined) => {
    if (owners.size >= OWNER_CACHE_SIZE) owners.delete(owners.keys().next().value!);
    owners.set(id, owner);
  };
  const container = async (ref: string): Promise<Lookup> => {
    const c = await get(`/containers/${lookupPathPart(ref)}/json`);
    if (!c || typeof c['Id'] !== 'string') return { found: false };
    const owner = label((c['Config'] as Record<string, unknown> | undefined)?.['Labels']);
    remember(c['Id'], owner);
    return { found: true, id: c['Id'], name: String(c['Name'] ?? ''), owner };
  };
  return {
    async lookup(kind, ref) {
      if (ref === '') return { found: false };
      switch (kind) {
        case 'container':
          return container(ref);
        case 'exec': {
          const e = await get(`/exec/${lookupPathPart(ref)}/json`);
          if (!e || typeof e['ID'] !== 'string' || typeof e['ContainerID'] !== 'string')
            return { found: false };
          const cid = e['ContainerID'];
          let owner = owners.get(cid);
          if (!owners.has(cid)) {
            const c = await container(cid);
            if (!c.found) return { found: false };
            owner = c.owner;
          }
          return { found: true, id: e['ID'], name: e['ID'], owner };
        }
        case 'volume': {
          const v = await get(`/volumes/${lookupPathPart(ref)}`);
          if (!v || typeof v['Name'] !== 'string') return { found: false };
          return { found: true, id: v['Name'], name: v['Name'], owner: label(v['Labels']) };
        }
        case 'network': {
          const n = await get(`/networks/${lookupPathPart(ref)}`);
          if (!n || typeof n['Id'] !== 'string') return { found: false };
          return {
            found: true,
            id: n['Id'],
            name: String(n['Name'] ?? ''),
            owner: label(n['Labels']),
          };
        }
      }
    },
  };
}

/** The outcome of the path step: dockerd's missing-object answer, or the target to forward. */
export type PathOutcome = { notFound: NotFound } | { target: string | undefined };

/**
 * Checks the objects a request's path or query names: each must exist and be `plan.owner`'s,
 * else the answer is dockerd's for a missing object. On success the target to forward (the
 * path object pinned to its full id, or the list target with the owner filter), undefined
 * to keep the decision's.
 */
export async function checkPathRefs(
  plan: OwnerPlan,
  lookups: OwnerLookup,
  route: string | undefined,
  apiVersion: string | undefined,
): Promise<PathOutcome> {
  let pinned: string | undefined;
  for (const r of plan.refs) {
    const l = await lookups.lookup(r.kind, r.ref);
    if (r.answer === 'taken') {
      // Refused only when a container has that very name and is another's.
      if (l.found && l.name === `/${r.ref}` && l.owner !== plan.owner) {
        return { notFound: notFound(r.kind, r.ref, r.answer, route, apiVersion) };
      }
      continue;
    }
    if (!l.found || l.owner !== plan.owner) {
      return { notFound: notFound(r.kind, r.ref, r.answer, route, apiVersion) };
    }
    if (r.answer === 'missing' && plan.pin) pinned = plan.pin.before + l.id + plan.pin.after;
  }
  return { target: pinned ?? plan.target };
}

/**
 * The body step of scope owner: {@link planBody} (the owner label refused or inserted),
 * then every object the body names must be the client's (403 naming the field, the same
 * whether the object is someone else's or missing). The body to forward, or the refusal.
 */
export async function checkOwnedBody(
  plan: OwnerPlan,
  body: Buffer,
  lookups: OwnerLookup,
  path: string,
): Promise<Buffer | DenyDecision> {
  const read = planBody(plan, body, path);
  if (!read.ok) return read.refusal;
  const pins: Parameters<typeof pinBody>[1] = [];
  for (const r of read.refs) {
    const l = await lookups.lookup(r.kind, r.ref);
    if (!owns(l, r, plan.owner)) return notOwnedInBody(r, path);
    if (r.pin && l.found) pins.push({ pin: r.pin, id: l.id });
  }
  // dockerd resolves a `container:` mode again at start: name the id that was checked.
  const pinned = pinBody(read.body, pins);
  if (typeof pinned === 'string') {
    return deny(400, 'bad-body', `the body of ${plan.body!.route} is refused: ${pinned}`, {
      path,
    });
  }
  return pinned;
}

function owns(l: Lookup, r: BodyRef, owner: string): boolean {
  // `/name` resolves by name only: an id prefix that happens to match is not it.
  const found = l.found && (!r.byName || l.name === `/${r.ref}`);
  if (r.ifExists) return !found || l.owner === owner;
  return found && l.owner === owner;
}
