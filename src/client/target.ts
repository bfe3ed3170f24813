/**
 * The targets {@link dialHijack} accepts: the `dial` role of the one endpoint syntax
 * (src/endpoint/parse.ts), re-exported here where the client's public names have always been.
 *
 * @module
 */
export { resolveTarget, type Target, type TargetObject } from '../endpoint/parse.js';
export type { ResolvedTarget } from '../endpoint/endpoint.js';
