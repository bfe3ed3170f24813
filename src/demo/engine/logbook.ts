/**
 * What a demo container printed, as dockerd's json-file log driver keeps it: one entry per
 * line (a partial last line is kept until the process exits), each with its stream and a
 * nanosecond timestamp. Bounded; emits 'entry' for followers.
 *
 * @module
 */
import { EventEmitter } from 'node:events';
import { hrtime } from 'node:process';

/** One log entry: a line (newline included, except for a last partial line). */
export interface LogEntry {
  /** Nanoseconds since the epoch. */
  time: bigint;
  stream: 'stdout' | 'stderr';
  data: Buffer;
}

const base = BigInt(Date.now()) * 1_000_000n - hrtime.bigint();

/** Now in nanoseconds since the epoch, monotonic within the process. */
export function nowNano(): bigint {
  return base + hrtime.bigint();
}

/** dockerd's RFC3339NanoFixed: `2006-01-02T15:04:05.000000000Z`. */
export function formatNano(t: bigint): string {
  const ms = Number(t / 1_000_000n);
  const frac = String(t % 1_000_000_000n).padStart(9, '0');
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, `.${frac}Z`);
}

/**
 * Docker's `since`/`until` values: Unix seconds with an optional fraction
 * (`1700000000.5`, what the CLI sends), or an RFC 3339 time. Null when absent or empty;
 * throws Error for anything else.
 */
export function parseTimestamp(v: string | null): bigint | null {
  if (v === null || v === '') return null;
  const m = /^(\d+)(?:\.(\d{1,9}))?$/.exec(v);
  if (m) return BigInt(m[1]!) * 1_000_000_000n + BigInt((m[2] ?? '').padEnd(9, '0') || '0');
  const ms = Date.parse(v);
  if (Number.isNaN(ms)) throw new Error(`invalid timestamp ${JSON.stringify(v)}`);
  return BigInt(ms) * 1_000_000n;
}

/** A container's log, by line. */
export class LogBook extends EventEmitter {
  readonly entries: LogEntry[] = [];
  private partial: Record<LogEntry['stream'], Buffer[]> = { stdout: [], stderr: [] };

  constructor(private readonly keep = 10_000) {
    super();
  }

  /** Adds output of `stream`; complete lines become entries at once. */
  write(stream: LogEntry['stream'], chunk: Buffer): void {
    let rest = chunk;
    for (let i = rest.indexOf(0x0a); i >= 0; i = rest.indexOf(0x0a)) {
      this.push(stream, Buffer.concat([...this.partial[stream], rest.subarray(0, i + 1)]));
      this.partial[stream] = [];
      rest = rest.subarray(i + 1);
    }
    if (rest.length) this.partial[stream].push(Buffer.from(rest));
  }

  /** Turns partial lines into entries (the process exited). */
  flush(): void {
    for (const stream of ['stdout', 'stderr'] as const) {
      if (this.partial[stream].length) this.push(stream, Buffer.concat(this.partial[stream]));
      this.partial[stream] = [];
    }
  }

  private push(stream: LogEntry['stream'], data: Buffer): void {
    const e: LogEntry = { time: nowNano(), stream, data };
    this.entries.push(e);
    if (this.entries.length > this.keep) this.entries.shift();
    this.emit('entry', e);
  }
}
