/**
 * Running a built-in command as if it were a process: argv lookup, exit status, dockerd's
 * message for a missing executable, and a fan-out writable for a container's output.
 *
 * @module
 */
import { PassThrough, Writable, type Readable } from 'node:stream';
import { writeOut, type Command } from './commands.js';
import type { Terminal } from './tty.js';

/** Exit status dockerd reports when the executable cannot be started. */
export const EXIT_NOT_STARTED = 126;

/** Where a run's output goes and what it reads. */
export interface RunIO {
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
  env: string[];
  signal: AbortSignal;
  /** The terminal of a TTY exec. */
  tty?: Terminal;
}

/** A stdin that is already at its end (a command started without input). */
export function endedInput(): PassThrough {
  const s = new PassThrough();
  s.end();
  return s;
}

/** Turns Docker's `["KEY=value", …]` environment into a record (later entries win). */
export function envRecord(env: string[]): Record<string, string> {
  const out: Record<string, string> = {
    PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  };
  for (const kv of env) {
    const i = kv.indexOf('=');
    if (i > 0) out[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return out;
}

/**
 * Runs argv[0] from `commands`; resolves with its exit status. A missing command writes
 * dockerd's "executable file not found" message to stdout and gives 126, as dockerd does;
 * a command that throws gets its message on stderr and status 1. Never rejects.
 */
export async function runCommand(
  commands: ReadonlyMap<string, Command>,
  argv: string[],
  io: RunIO,
): Promise<number> {
  const name = argv[0] ?? '';
  const cmd = commands.get(name) ?? commands.get(name.replace(/^.*\//, ''));
  if (!cmd) {
    const list = [...commands.keys()].sort().join(', ');
    await writeOut(
      io.stdout,
      `OCI runtime exec failed: exec failed: unable to start container process: exec: ` +
        `"${name}": executable file not found in $PATH (this demo engine runs only: ${list}): unknown\r\n`,
    ).catch(() => {});
    return EXIT_NOT_STARTED;
  }
  try {
    const status = await cmd({
      args: argv.slice(1),
      stdin: io.stdin,
      stdout: io.stdout,
      stderr: io.stderr,
      env: envRecord(io.env),
      signal: io.signal,
      ...(io.tty ? { tty: io.tty } : {}),
    });
    return Number.isInteger(status) ? status & 0xff : 1;
  } catch (err) {
    if (io.signal.aborted) return 137;
    const msg = err instanceof Error ? err.message : String(err);
    await writeOut(io.stderr, `${name}: ${msg}\n`).catch(() => {});
    return 1;
  }
}

/**
 * A writable that copies every chunk to each current target (a container's output to
 * every attached client) and keeps the last `keep` bytes for `logs=1`; `tap` sees every
 * chunk (the container's log). A write completes
 * when every target accepted it; a target that fails is dropped, not the whole stream.
 */
export class Broadcast extends Writable {
  readonly targets = new Set<Writable>();
  private log: Buffer[] = [];
  private logBytes = 0;

  constructor(
    private readonly keep = 64 * 1024,
    private readonly tap?: (chunk: Buffer) => void,
  ) {
    super();
  }

  /** Forgets the kept bytes (a new run of the process); targets stay attached. */
  reset(): void {
    this.log = [];
    this.logBytes = 0;
  }

  /** The bytes kept for replay (at most `keep`, most recent). */
  history(): Buffer {
    return Buffer.concat(this.log);
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.tap?.(chunk);
    this.log.push(chunk);
    this.logBytes += chunk.length;
    while (this.logBytes > this.keep && this.log.length > 1) {
      this.logBytes -= this.log.shift()!.length;
    }
    const writes = [...this.targets].map((t) =>
      writeOut(t, chunk).catch(() => {
        this.targets.delete(t);
      }),
    );
    Promise.all(writes).then(() => cb(), cb);
  }
}
