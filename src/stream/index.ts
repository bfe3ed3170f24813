/**
 * Stream layer: Docker's stdcopy framing and `splice()`.
 *
 * @module
 */
export { splice, spliceBytes, socketBytes } from './splice.js';
export type { SpliceOptions, SpliceResult, SpliceEnd, SpliceBytes, SocketBytes } from './splice.js';
export { demuxStdcopy, muxStdcopy, MULTIPLEXED_STREAM, RAW_STREAM, StdType } from './stdcopy.js';
export type { Demuxed, DemuxOptions, MuxOptions } from './stdcopy.js';
