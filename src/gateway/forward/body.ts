/**
 * A client's request body as the gateway forwards it: pulled from the request as the
 * upstream takes it (backpressure), cut when no byte arrives for the body timeout or when
 * it grows over the maximum, and read whole first when small, so a short body reaches
 * the upstream together with its head and a slow client never holds an upstream
 * connection while it dawdles.
 *
 * @module
 */
import type { IncomingMessage } from 'node:http';
import { HijackError } from '../../errors.js';

/** Settings of a {@link RequestBody}. */
export interface RequestBodyOptions {
  /** Milliseconds without a body byte before the body is cut; 0: no limit. */
  timeout: number;
  /** Largest body in bytes; 0: no limit. */
  maxBody: number;
}

/** The body of one request, read in order, once. */
export class RequestBody {
  /** Body bytes read from the client so far. */
  bytes = 0;
  /** Why the body stopped, once it failed. */
  failure: HijackError | undefined;
  private readonly it: AsyncIterator<Buffer>;

  constructor(
    private readonly req: IncomingMessage,
    private readonly o: RequestBodyOptions,
  ) {
    this.it = req[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  }

  /** The next piece, or null at the end; rejects with a HijackError saying why the body stopped. */
  async next(): Promise<Buffer | null> {
    try {
      return await this.step();
    } catch (err) {
      this.failure ??= err as HijackError;
      throw this.failure;
    }
  }

  private async step(): Promise<Buffer | null> {
    let timer: NodeJS.Timeout | undefined;
    const read = this.it.next();
    const step =
      this.o.timeout > 0
        ? Promise.race([
            read,
            new Promise<never>((_, reject) => {
              timer = setTimeout(
                () =>
                  reject(
                    new HijackError(
                      'ERR_BODY_TIMEOUT',
                      `no request body byte arrived for ${this.o.timeout} ms`,
                    ),
                  ),
                this.o.timeout,
              );
            }),
          ])
        : read;
    let r: IteratorResult<Buffer>;
    try {
      r = await step;
    } catch (err) {
      read.catch(() => {});
      if (err instanceof HijackError) throw err;
      throw new HijackError('ERR_SOCKET_CLOSED', 'the client went away before its body ended', {
        cause: err,
      });
    } finally {
      clearTimeout(timer);
    }
    if (r.done) {
      if (!this.req.complete)
        throw new HijackError('ERR_SOCKET_CLOSED', 'the client went away before its body ended');
      return null;
    }
    this.bytes += r.value.length;
    if (this.o.maxBody > 0 && this.bytes > this.o.maxBody) {
      throw new HijackError(
        'ERR_BODY_TOO_LARGE',
        `the request body is over the gateway's limit of ${this.o.maxBody} bytes (--max-body)`,
      );
    }
    return r.value;
  }

  /** Reads until the body ends or `limit` bytes are held; says which. */
  async prefix(limit: number): Promise<{ data: Buffer; ended: boolean }> {
    const parts: Buffer[] = [];
    let n = 0;
    while (n < limit) {
      const b = await this.next();
      if (b === null) return { data: Buffer.concat(parts, n), ended: true };
      parts.push(b);
      n += b.length;
    }
    return { data: Buffer.concat(parts, n), ended: false };
  }

  /** `first`, then the rest of the body, as an async iterable for the upstream request. */
  async *rest(first: Buffer): AsyncGenerator<Buffer> {
    if (first.length) yield first;
    for (;;) {
      const b = await this.next();
      if (b === null) return;
      yield b;
    }
  }
}

/** The status a body failure is answered with: 408, 413, 400, or 0 (the client left). */
export function bodyFailureStatus(err: unknown): number {
  switch ((err as { code?: string } | undefined)?.code) {
    case 'ERR_BODY_TIMEOUT':
      return 408;
    case 'ERR_BODY_TOO_LARGE':
      return 413;
    case 'ERR_MALFORMED_BODY':
      return 400;
    default:
      return 0;
  }
}
