/**
 * A terminal line discipline for the demo engine's TTY execs, as the kernel's n_tty runs
 * one with `stty sane` defaults: ICRNL (Enter's CR becomes NL), ICANON (input is kept
 * until a line is complete; erase with DEL/BS, kill the line with ^U), ECHO (with ECHOCTL:
 * other control keys echo as `^X`), ISIG (^C interrupts the foreground job), VEOF (^D on
 * an empty line is end of input, else it sends the line without a newline), and on output
 * OPOST+ONLCR (NL becomes CR NL). The client's terminal is raw (the Docker CLI sets it so
 * for `-t`); everything a terminal does happens here.
 *
 * @module
 */
import { PassThrough, Writable } from 'node:stream';
import type { TtySize } from './tty-size.js';

/** What `readLine()` gives for a ^C typed at the prompt. */
export const INTERRUPTED = Symbol('interrupted');

/** What a command sees of its terminal (CommandContext.tty). */
export interface Terminal {
  /** The window size from the last resize call (0 × 0 before one). */
  size(): TtySize;
  /** The next complete line (without its newline), null at end of input, INTERRUPTED on ^C. */
  readLine(): Promise<string | null | typeof INTERRUPTED>;
  /** A stdin for a job: it gets the lines typed from now on and ends at ^D. */
  openJob(): PassThrough;
  /** The job is over: its stdin gets nothing more. */
  closeJob(): void;
  /** Makes `fn` the ^C handler (the foreground); returns the function that gives it back. */
  onInterrupt(fn: () => void): () => void;
}

const CR = 0x0d;
const NL = 0x0a;
const DEL = 0x7f;
const BS = 0x08;
const ETX = 0x03; // ^C
const EOT = 0x04; // ^D
const NAK = 0x15; // ^U
const EOF_MARK = Symbol('eof');

/** The line discipline between a raw client stream and the commands of one TTY. */
export class LineDiscipline implements Terminal {
  /** Output towards the client: NL becomes CR NL (ONLCR). */
  readonly output: Writable;
  private line: number[] = [];
  private queue: (Buffer | typeof EOF_MARK)[] = [];
  private job: PassThrough | null = null;
  private reader: ((v: string | null | typeof INTERRUPTED) => void) | null = null;
  private handlers: (() => void)[] = [];
  private hungUp = false;

  constructor(
    private readonly out: Writable,
    private readonly getSize: () => TtySize,
  ) {
    this.output = new Writable({
      write: (chunk: Buffer, _enc, cb) => {
        if (out.destroyed || out.writableEnded) return cb();
        out.write(onlcr(chunk), (err) => cb(err ?? null));
      },
    });
  }

  size(): TtySize {
    return this.getSize();
  }

  /** Bytes typed on the client's (raw) terminal. */
  feed(chunk: Buffer): void {
    for (const b of chunk) this.key(b === CR ? NL : b);
  }

  /** The client went away or half-closed: end of input for everyone, now and later. */
  hangup(): void {
    this.hungUp = true;
    if (this.line.length) this.complete(Buffer.from(this.line));
    this.line = [];
    this.endOfInput();
  }

  private echo(s: string | Buffer): void {
    if (!this.out.destroyed && !this.out.writableEnded) this.out.write(s);
  }

  private key(b: number): void {
    if (b === ETX) {
      this.echo('^C\r\n');
      this.line = [];
      this.interrupt();
      return;
    }
    if (b === EOT) {
      if (this.line.length === 0) this.endOfInput();
      else {
        this.complete(Buffer.from(this.line));
        this.line = [];
      }
      return;
    }
    if (b === DEL || b === BS) {
      if (this.line.length === 0) return;
      // One character: UTF-8 continuation bytes go with their lead byte; ^X took two columns.
      let last = this.line.pop()!;
      while ((last & 0xc0) === 0x80 && this.line.length) last = this.line.pop()!;
      this.echo(last < 0x20 ? '\b \b\b \b' : '\b \b');
      return;
    }
    if (b === NAK) {
      while (this.line.length) this.key(DEL);
      return;
    }
    if (b === NL) {
      this.echo('\r\n');
      this.line.push(NL);
      this.complete(Buffer.from(this.line));
      this.line = [];
      return;
    }
    this.line.push(b);
    this.echo(b < 0x20 && b !== 0x09 ? `^${String.fromCharCode(b + 64)}` : Buffer.from([b]));
  }

  private complete(data: Buffer): void {
    if (this.job) this.job.write(data);
    else if (this.reader) this.resolveReader(data.toString('utf8').replace(/\n$/, ''));
    else this.queue.push(data);
  }

  private endOfInput(): void {
    if (this.job) {
      this.job.end();
      this.job = null;
    } else if (this.reader) this.resolveReader(null);
    else if (!this.hungUp) this.queue.push(EOF_MARK);
  }

  private interrupt(): void {
    this.queue = [];
    if (this.reader) this.resolveReader(INTERRUPTED);
    this.handlers.at(-1)?.();
  }

  private resolveReader(v: string | null | typeof INTERRUPTED): void {
    const r = this.reader!;
    this.reader = null;
    r(v);
  }

  readLine(): Promise<string | null | typeof INTERRUPTED> {
    const next = this.queue.shift();
    if (next === EOF_MARK) return Promise.resolve(null);
    if (next) return Promise.resolve(next.toString('utf8').replace(/\n$/, ''));
    if (this.hungUp) return Promise.resolve(null);
    return new Promise((resolve) => (this.reader = resolve));
  }

  openJob(): PassThrough {
    const job = new PassThrough();
    job.on('error', () => {});
    while (this.queue.length) {
      const next = this.queue.shift()!;
      if (next === EOF_MARK) {
        job.end();
        return job;
      }
      job.write(next);
    }
    if (this.hungUp) job.end();
    else this.job = job;
    return job;
  }

  closeJob(): void {
    this.job?.end();
    this.job = null;
  }

  onInterrupt(fn: () => void): () => void {
    this.handlers.push(fn);
    return () => {
      const i = this.handlers.lastIndexOf(fn);
      if (i >= 0) this.handlers.splice(i, 1);
    };
  }
}

/** ONLCR: every NL becomes CR NL. */
export function onlcr(chunk: Buffer): Buffer {
  if (!chunk.includes(NL)) return chunk;
  const out: number[] = [];
  for (const b of chunk) {
    if (b === NL) out.push(CR);
    out.push(b);
  }
  return Buffer.from(out);
}
