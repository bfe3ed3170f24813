/**
 * Docker's multiplexed stream framing ("stdcopy"), as Node streams.
 *
 * Each frame is an 8-byte header `[stream, 0, 0, 0, size (uint32 big-endian)]` and then
 * `size` payload bytes; stream 0 is stdin, 1 stdout, 2 stderr, 3 a system error (the
 * payload is the daemon's message). Docker uses it for exec/attach/logs without a TTY
 * (media type `application/vnd.docker.multiplexed-stream`).
 *
 * @module
 */
import { Readable, Writable } from 'node:stream';
import { HijackError } from '../errors.js';

/** The media type of Docker's multiplexed stream. */
export const MULTIPLEXED_STREAM = 'application/vnd.docker.multiplexed-stream';
/** The media type of Docker's raw (unframed) stream. */
export const RAW_STREAM = 'application/vnd.docker.raw-stream';

/** Stream numbers of the frame header. */
export const StdType = { stdin: 0, stdout: 1, stderr: 2, systemErr: 3 } as const;

const HEADER = 8;
const MAX_FRAME = 0xffffffff;

/** What {@link demuxStdcopy} returns. */
export interface Demuxed {
  /** Payloads of stdout frames (and of stdin frames, as Docker's StdCopy does). */
  stdout: Readable;
  /** Payloads of stderr frames. */
  stderr: Readable;
}

/** Options of {@link demuxStdcopy}. */
export interface DemuxOptions {
  /** High-water mark of each output, in bytes. Default: Node's default (64 KiB in 22+, 16 KiB in 20). */
  highWaterMark?: number;
}

/**
 * Splits a multiplexed stream into its stdout and stderr streams.
 *
 * Frames may be split across chunks anywhere. Backpressure is kept: while an output's
 * buffer is full, `source` is paused. When `source` ends between frames, both outputs
 * end. A system-error frame (stream 3) destroys both outputs with `ERR_STDCOPY_SYSTEM`
 * (the daemon's message); an unknown stream number with `ERR_STDCOPY_FRAME`; an end
 * inside a frame with `ERR_STDCOPY_TRUNCATED`; a source error is passed on. So listen for
 * 'error' on both outputs (or use `pipeline`). An output the consumer destroyed is
 * skipped; the other one goes on.
 */
export function demuxStdcopy(source: Readable, options: DemuxOptions = {}): Demuxed {
  let paused = false;
  // `_read` of one output means that output wants more (Readable calls it before taking
  // the chunk out of its buffer, so its own length is not a signal); only the other
  // output's fullness may keep the source paused.
  const wanting = (other: () => Readable) => () => {
    if (paused && !full(other())) {
      paused = false;
      source.resume();
    }
  };
  const mk = (other: () => Readable) =>
    new Readable({
      ...(options.highWaterMark !== undefined ? { highWaterMark: options.highWaterMark } : {}),
      read: wanting(other),
      destroy(err, cb) {
        // Both outputs gone: nothing left to read for.
        if (stdout?.destroyed && stderr?.destroyed) finish();
        else wanting(other)();
        cb(err);
      },
    });
  const stdout: Readable = mk(() => stderr);
  const stderr: Readable = mk(() => stdout);
  const full = (r: Readable) => !r.destroyed && r.readableLength >= r.readableHighWaterMark;

  let header = Buffer.alloc(0); // partial header bytes
  let remaining = 0; // payload bytes left in the current frame
  let target: Readable | null = null; // null: system-error frame being collected
  let sysParts: Buffer[] = [];
  let ended = false;

  const finish = () => {
    if (ended) return;
    ended = true;
    source.removeListener('data', onData);
    source.removeListener('end', onEnd);
    source.removeListener('error', onError);
    source.removeListener('close', onClose);
  };
  const fail = (err: Error) => {
    finish();
    stdout.destroy(err);
    stderr.destroy(err);
  };
  const emit = (out: Readable | null, payload: Buffer) => {
    if (out === null) {
      sysParts.push(payload);
      return;
    }
    if (out.destroyed) return;
    if (!out.push(payload)) {
      if (!paused) {
        paused = true;
        source.pause();
      }
    }
  };
  function onData(chunk: Buffer) {
    let off = 0;
    while (off < chunk.length && !ended) {
      if (remaining > 0) {
        const n = Math.min(remaining, chunk.length - off);
        emit(target, chunk.subarray(off, off + n));
        off += n;
        remaining -= n;
        if (remaining === 0) endFrame();
        continue;
      }
      // Reading a header.
      let h: Buffer;
      if (header.length === 0 && chunk.length - off >= HEADER) {
        h = chunk.subarray(off, off + HEADER);
        off += HEADER;
      } else {
        const n = Math.min(HEADER - header.length, chunk.length - off);
        header = Buffer.concat([header, chunk.subarray(off, off + n)]);
        off += n;
        if (header.length < HEADER) break;
        h = header;
        header = Buffer.alloc(0);
      }
      const kind = h[0]!;
      const size = h.readUInt32BE(4);
      if (kind > 3) {
        fail(
          new HijackError(
            'ERR_STDCOPY_FRAME',
            `unknown stream ${kind} in a multiplexed-stream frame header; is the stream really multiplexed (no TTY)?`,
            { stream: kind },
          ),
        );
        return;
      }
      target = kind === 3 ? null : kind === 2 ? stderr : stdout;
      sysParts = [];
      remaining = size;
      if (size === 0) endFrame();
    }
  }
  function endFrame() {
    if (target === null) {
      const message = Buffer.concat(sysParts).toString('utf8');
      fail(
        new HijackError('ERR_STDCOPY_SYSTEM', `the daemon reported an error: ${message}`, {
          serverMessage: message,
        }),
      );
    }
    target = stdout;
  }
  function onEnd() {
    if (ended) return;
    if (remaining > 0 || header.length > 0) {
      fail(
        new HijackError(
          'ERR_STDCOPY_TRUNCATED',
          `the multiplexed stream ended inside a frame (${header.length > 0 ? `${header.length} of 8 header bytes` : `${remaining} payload bytes missing`})`,
        ),
      );
      return;
    }
    finish();
    stdout.push(null);
    stderr.push(null);
  }
  function onError(err: Error) {
    fail(err);
  }
  function onClose() {
    // Closed without 'end' (destroyed): treat like an error unless it ended cleanly.
    if (!ended && !source.readableEnded) {
      fail(
        new HijackError(
          'ERR_STDCOPY_TRUNCATED',
          'the multiplexed stream was closed before it ended',
        ),
      );
    }
  }
  source.on('data', onData);
  source.on('end', onEnd);
  source.on('error', onError);
  source.on('close', onClose);
  return { stdout, stderr };
}

/** Options of {@link muxStdcopy}. */
export interface MuxOptions {
  /** End `target` when this writable ends. Default false: stdout and stderr share it. */
  end?: boolean;
}

/**
 * A Writable that frames every chunk written to it as `stream` ('stdout' or 'stderr') and
 * writes the frames to `target`, keeping backpressure (a write completes when `target`
 * accepted it, or drained). Empty writes send nothing. Several muxers may share one
 * target; frames are never interleaved inside each other.
 */
export function muxStdcopy(
  target: Writable,
  stream: 'stdout' | 'stderr' | 'stdin' | 'systemErr',
  options: MuxOptions = {},
): Writable {
  const kind = StdType[stream];
  if (kind === undefined) {
    throw new HijackError(
      'ERR_INVALID_ARGUMENT',
      `stream must be 'stdout' or 'stderr', not ${String(stream)}`,
    );
  }
  const waitDrain = (cb: (err?: Error | null) => void) => {
    const done = (err?: Error | null) => {
      target.removeListener('drain', onDrain);
      target.removeListener('close', onClose);
      target.removeListener('error', done);
      cb(err);
    };
    const onDrain = () => done();
    const onClose = () =>
      done(new HijackError('ERR_SOCKET_CLOSED', 'the multiplexed stream target was closed'));
    target.on('drain', onDrain);
    target.on('close', onClose);
    target.on('error', done);
  };
  const frame = (buf: Buffer): boolean => {
    let ok = true;
    for (let off = 0; off < buf.length; off += MAX_FRAME) {
      const part = buf.subarray(off, Math.min(buf.length, off + MAX_FRAME));
      const h = Buffer.alloc(HEADER);
      h[0] = kind;
      h.writeUInt32BE(part.length, 4);
      // One write per frame keeps frames of different muxers apart.
      ok = target.write(part.length < 16 * 1024 ? Buffer.concat([h, part]) : h) && ok;
      if (part.length >= 16 * 1024) ok = target.write(part) && ok;
    }
    return ok;
  };
  return new Writable({
    write(chunk: Buffer, _enc, cb) {
      if (target.destroyed || target.writableEnded) {
        cb(new HijackError('ERR_SOCKET_CLOSED', 'the multiplexed stream target was closed'));
        return;
      }
      if (chunk.length === 0 || frame(chunk)) cb();
      else waitDrain(cb);
    },
    final(cb) {
      if (options.end) target.end(cb);
      else cb();
    },
  });
}
