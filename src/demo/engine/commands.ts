/**
 * The demo engine's built-in commands: small programs implemented in this process, so the
 * engine runs no child process (its `sh` is built in as well, shell.ts). Each one reads `stdin`, writes `stdout`
 * and `stderr`, and resolves with its exit status, like a process would.
 *
 * @module
 */
import type { Readable, Writable } from 'node:stream';
import type { Terminal } from './tty.js';

/** What a command gets when it runs: its arguments, streams, environment and an abort signal. */
export interface CommandContext {
  /** The arguments after the command name (argv[1:]). */
  args: string[];
  /** Standard input; ends when the client half-closes (or at once without attached stdin). */
  stdin: Readable;
  /** Standard output. */
  stdout: Writable;
  /** Standard error (merged into stdout by the engine in TTY mode). */
  stderr: Writable;
  /** Environment as `KEY=value` pairs turned into a record. */
  env: Record<string, string>;
  /** Aborted when the exec or container is killed, ^C interrupts it, or the engine closes. */
  signal: AbortSignal;
  /** The terminal, for an exec with a TTY (`docker exec -t`); absent otherwise. */
  tty?: Terminal;
}

/**
 * A built-in command: resolves with the exit status (0 success), like a process exiting.
 * A thrown error is written to stderr and gives status 1.
 */
export type Command = (ctx: CommandContext) => Promise<number>;

/** Writes `data` to `w`, resolving once it is accepted (waits for 'drain' on backpressure). */
export function writeOut(w: Writable, data: string | Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    if (w.destroyed || w.writableEnded) {
      resolve();
      return;
    }
    w.write(data, (err) => (err ? reject(err) : resolve()));
  });
}

/** Iterates stdin, stopping early (without error) when `signal` aborts. */
async function* readAll(stdin: Readable, signal: AbortSignal): AsyncGenerator<Buffer> {
  if (signal.aborted) return;
  const onAbort = () => stdin.destroy();
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    for await (const chunk of stdin) yield Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
  } catch (err) {
    if (!signal.aborted) throw err;
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

/** `cat`: copies stdin to stdout. Files are not supported (the engine has no file system). */
export const cat: Command = async ({ args, stdin, stdout, stderr, signal }) => {
  const files = args.filter((a) => a !== '-');
  if (files.length > 0) {
    await writeOut(stderr, `cat: ${files[0]}: No such file or directory\n`);
    return 1;
  }
  for await (const chunk of readAll(stdin, signal)) await writeOut(stdout, chunk);
  return signal.aborted ? 137 : 0;
};

/** `echo [-n] ARGS…`: writes the arguments joined by spaces, then a newline unless `-n`. */
export const echo: Command = async ({ args, stdout }) => {
  const noNewline = args[0] === '-n';
  const words = noNewline ? args.slice(1) : args;
  await writeOut(stdout, words.join(' ') + (noNewline ? '' : '\n'));
  return 0;
};

const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad = (n: number) => String(n).padStart(2, '0');

/** Formats a time like coreutils `date` in UTC: `Fri Nov 21 01:00:00 UTC 2025`. */
export function formatDate(d: Date): string {
  return (
    `${days[d.getUTCDay()]} ${months[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} ` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} UTC ${d.getUTCFullYear()}`
  );
}

/** `date [-u] [+%s]`: the current time in UTC (`+%s`: seconds since the epoch). */
export const date: Command = async ({ args, stdout, stderr }) => {
  const fmt = args.find((a) => a.startsWith('+'));
  const bad = args.find((a) => a !== '-u' && !a.startsWith('+'));
  if (bad !== undefined || (fmt !== undefined && fmt !== '+%s')) {
    await writeOut(stderr, `date: unsupported argument '${bad ?? fmt}' (only -u and +%s)\n`);
    return 1;
  }
  const now = new Date();
  await writeOut(stdout, (fmt ? String(Math.floor(now.getTime() / 1000)) : formatDate(now)) + '\n');
  return 0;
};

/** `sleep SECONDS|infinity`: waits, or until killed (status 137). */
export const sleep: Command = async ({ args, stderr, signal }) => {
  const arg = args[0];
  const seconds = arg === 'infinity' ? Infinity : Number(arg);
  if (args.length !== 1 || !(seconds >= 0)) {
    await writeOut(stderr, `sleep: invalid time interval '${arg ?? ''}'\n`);
    return 1;
  }
  if (signal.aborted) return 137;
  await new Promise<void>((resolve) => {
    // setTimeout takes at most 2^31-1 ms; "infinity" waits for the abort only.
    const timer = Number.isFinite(seconds)
      ? setTimeout(done, Math.min(seconds * 1000, 2 ** 31 - 1))
      : undefined;
    function done() {
      if (timer) clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
  return signal.aborted ? 137 : 0;
};

/** `wc [-l] [-w] [-c]`: counts lines, words and bytes of stdin (all three without flags). */
export const wc: Command = async ({ args, stdin, stdout, stderr, signal }) => {
  const flags = new Set<string>();
  for (const a of args) {
    if (!/^-[lwc]+$/.test(a)) {
      await writeOut(stderr, `wc: unsupported argument '${a}' (only -l, -w, -c)\n`);
      return 1;
    }
    for (const f of a.slice(1)) flags.add(f);
  }
  if (flags.size === 0) ['l', 'w', 'c'].forEach((f) => flags.add(f));
  let lines = 0;
  let words = 0;
  let bytes = 0;
  let inWord = false;
  for await (const chunk of readAll(stdin, signal)) {
    bytes += chunk.length;
    for (const b of chunk) {
      if (b === 0x0a) lines++;
      const space = b === 0x20 || (b >= 0x09 && b <= 0x0d);
      if (!space && !inWord) words++;
      inWord = !space;
    }
  }
  const cols: number[] = [];
  if (flags.has('l')) cols.push(lines);
  if (flags.has('w')) cols.push(words);
  if (flags.has('c')) cols.push(bytes);
  await writeOut(stdout, (cols.length === 1 ? String(cols[0]) : cols.join(' ')) + '\n');
  return 0;
};

/**
 * `fail [STATUS] [MESSAGE…]`: writes a line to stdout and MESSAGE to stderr, then exits with
 * STATUS (default 3): a command for checking stream separation and exit status.
 */
export const fail: Command = async ({ args, stdout, stderr }) => {
  const status = args[0] !== undefined && /^\d+$/.test(args[0]) ? Number(args[0]) : 3;
  const rest = args[0] !== undefined && /^\d+$/.test(args[0]) ? args.slice(1) : args;
  const message = rest.length ? rest.join(' ') : 'something went wrong';
  await writeOut(stdout, `fail: about to exit with status ${status}\n`);
  await writeOut(stderr, `fail: ${message}\n`);
  return status & 0xff;
};

/** `true`: exits 0. */
export const trueCommand: Command = async () => 0;
/** `false`: exits 1. */
export const falseCommand: Command = async () => 1;

/** `env`: prints the environment, one `KEY=value` per line. */
export const env: Command = async ({ env: vars, stdout }) => {
  const text = Object.entries(vars)
    .map(([k, v]) => `${k}=${v}\n`)
    .join('');
  await writeOut(stdout, text);
  return 0;
};

/** `stty size`: the terminal's rows and columns (from the client's resize calls). */
export const stty: Command = async ({ args, stdout, stderr, tty }) => {
  if (!tty) {
    await writeOut(stderr, 'stty: standard input: Inappropriate ioctl for device\n');
    return 1;
  }
  if (args.length !== 1 || args[0] !== 'size') {
    await writeOut(stderr, `stty: only 'stty size' is built in\n`);
    return 1;
  }
  const { rows, cols } = tty.size();
  await writeOut(stdout, `${rows} ${cols}\n`);
  return 0;
};

/** The built-in commands by name. */
export function builtinCommands(): Map<string, Command> {
  return new Map<string, Command>([
    ['cat', cat],
    ['echo', echo],
    ['date', date],
    ['sleep', sleep],
    ['wc', wc],
    ['fail', fail],
    ['true', trueCommand],
    ['false', falseCommand],
    ['env', env],
    ['stty', stty],
  ]);
}
