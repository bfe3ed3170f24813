/**
 * Stream layer: Docker's stdcopy framing and `splice()`.
 *
 * @module
 */
export { splice } from './splice.js';
export type { SpliceOptions, SpliceResult, SpliceEnd } from './splice.js';
export { demuxStdcopy, muxStdcopy, MULTIPLEXED_STREAM, RAW_STREAM, StdType } from './stdcopy.js';
export type { Demuxed, DemuxOptions, MuxOptions } from './stdcopy.js';
