/**
 * The body step of admission, pure: which requests have their body read ({@link bodyKindOf}),
 * the head checks before the body is read ({@link admitBodyHead}), and the decision on the
 * whole body ({@link admitBody}): 400 when it cannot be read as dockerd reads it, 403 when a
 * body rule refuses what it states. The forwarder sends exactly the bytes that were checked.
 *
 * @module
 */
import type { DenyDecision } from '../types.js';
import { checkJsonHeaders } from './body-json.js';
import { checkBodyRules, violationMessage, type BodyRules } from './body-rules.js';
import { readDockerBody, type DockerBodyKind } from './docker-bodies.js';
import { deny } from './policy.js';

/** dockerd routes (as the policy names them) whose bodies the body rules decide on. */
const BODY_ROUTES: Readonly<Record<string, { kind: DockerBodyKind; route: string }>> = {
  'POST /containers/create': { kind: 'container-create', route: 'POST /containers/create' },
  'POST /containers/{name:.*}/update': {
    kind: 'container-update',
    route: 'POST /containers/{id}/update',
  },
  'POST /containers/{name:.*}/exec': { kind: 'exec-create', route: 'POST /containers/{id}/exec' },
  'POST /volumes/create': { kind: 'volume-create', route: 'POST /volumes/create' },
  'POST /networks/create': { kind: 'network-create', route: 'POST /networks/create' },
};

/**
 * The body kind of a dockerd route (as `decision.route` names it) and the route as messages
 * name it, or undefined when its body is not read.
 */
export function bodyKindOf(
  route: string | undefined,
): { kind: DockerBodyKind; route: string } | undefined {
  return route === undefined ? undefined : BODY_ROUTES[route];
}

/** A body to read and check before the request is forwarded. */
export interface BodyCheck {
  kind: DockerBodyKind;
  rules: BodyRules;
  /** Largest body read, bytes (413 beyond). */
  limit: number;
  /** `POST /containers/create`, for messages. */
  route: string;
}

/** Head checks for a body that will be read: JSON content type, no content coding. */
export function admitBodyHead(
  check: Pick<BodyCheck, 'route'>,
  headers: Record<string, string | string[] | undefined>,
  path: string,
): DenyDecision | undefined {
  const why = checkJsonHeaders(headers);
  if (why === undefined) return undefined;
  return deny(400, 'bad-body', `the body of ${check.route} is refused: ${why}`, { path });
}

/** Decides on the whole body: undefined to forward it as it is, else the refusal. */
export function admitBody(
  check: BodyCheck,
  body: Uint8Array,
  path: string,
): DenyDecision | undefined {
  if (body.length > check.limit) {
    return deny(
      413,
      'body-too-large',
      `the body of ${check.route} is over the ${check.limit} bytes the policy reads`,
      { path },
    );
  }
  const read = readDockerBody(check.kind, body, { maxBytes: check.limit });
  if (!read.ok) {
    return deny(400, 'bad-body', `the body of ${check.route} is refused: ${read.reason}`, { path });
  }
  const v = checkBodyRules(check.kind, read.value, check.rules);
  if (v === undefined) return undefined;
  return deny(403, 'denied-by-body-rule', violationMessage(v, check.rules), { path });
}
