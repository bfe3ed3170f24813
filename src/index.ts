/**
 * hijack: Go net/http's connection control for Node.js.
 *
 * @packageDocumentation
 */
export * from './errors.js';
export * from './server/index.js';
export * from './socket/index.js';
export * from './client/index.js';
export * from './stream/index.js';
export * from './gateway/index.js';
