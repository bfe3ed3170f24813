/**
 * HTTP/1 wire code in one place: head parsing and formatting, body framing, hop-by-hop
 * fields. Used by the server gate, the client and the gateway; it only reads and writes
 * bytes, never a socket of its own.
 *
 * @module
 */
export * from './framing.js';
export * from './head.js';
export * from './hop-by-hop.js';
