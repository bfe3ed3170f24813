/**
 * `hijack attach TARGET PATH`: an interactive client for any hijack endpoint, the way
 * `docker attach` is for Docker.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import type { Command } from 'commander';
import { dialHijack, type DialHijackOptions } from '../client/dial.js';
import { HijackError, isHijackError } from '../errors.js';
import { parseDuration } from '../gateway/config/values.js';
import { demuxStdcopy, MULTIPLEXED_STREAM } from '../stream/stdcopy.js';
import { streamIsTty, TTY_MODES, type TtyMode } from './attach-tty.js';
import type { CliIO, RegisterCommand } from './shared.js';

/** Exit codes of `hijack attach`. */
export const ATTACH_EXIT = {
  /** The stream ended cleanly (the server closed after our EOF or on its own). */
  OK: 0,
  /** The stream failed after the takeover (reset, a stdcopy system-error frame …). */
  STREAM_ERROR: 1,
  /** Bad flags or arguments (including an invalid target). */
  USAGE: 2,
  /** Cannot connect: endpoint missing, refused, or connect timeout. */
  CONNECT: 3,
  /** Connected, but no takeover: non-101 answer, wrong protocol, bad or late head. */
  REFUSED: 4,
  /** Detached with the detach key sequence; the stream was left open on the server side. */
  DETACHED: 5,
} as const;

const CTRL: Record<string, number> = { '@': 0, '[': 27, '\\': 28, ']': 29, '^': 30, _: 31 };

/**
 * Parses a detach key sequence like Docker's `--detach-keys`: comma-separated keys, each
 * `ctrl-<a-z @ [ \ ] ^ _>` or a single character. Throws `ERR_USAGE`.
 */
export function parseDetachKeys(spec: string): Buffer {
  const out: number[] = [];
  for (const key of spec.split(',')) {
    const k = key.trim();
    const m = /^ctrl-(.)$/i.exec(k);
    if (m) {
      const c = m[1]!.toLowerCase();
      if (c >= 'a' && c <= 'z') out.push(c.charCodeAt(0) - 96);
      else if (c in CTRL) out.push(CTRL[c]!);
      else throw new HijackError('ERR_USAGE', `invalid detach key ${JSON.stringify(k)}`);
    } else if (k.length === 1) {
      out.push(k.charCodeAt(0));
    } else {
      throw new HijackError(
        'ERR_USAGE',
        `invalid detach key ${JSON.stringify(k)}: use ctrl-<letter> or one character, comma-separated`,
      );
    }
  }
  if (out.length === 0) throw new HijackError('ERR_USAGE', 'empty --detach-keys');
  return Buffer.from(out);
}

/**
 * Scans input for the detach sequence: returns the bytes to forward, holding back a
 * partial match (sent later if the sequence breaks), and whether the sequence completed.
 */
export class DetachScanner {
  private matched = 0;
  constructor(private readonly keys: Buffer) {}
  /** Feeds a chunk; `detach` true means the sequence was typed (`forward` is what preceded it). */
  feed(chunk: Buffer): { forward: Buffer; detach: boolean } {
    const out: number[] = [];
    for (const byte of chunk) {
      if (byte === this.keys[this.matched]) {
        this.matched++;
        if (this.matched === this.keys.length) {
          this.matched = 0;
          return { forward: Buffer.from(out), detach: true };
        }
        continue;
      }
      // Broken sequence: what was held back goes out, and this byte may start a new one.
      for (let i = 0; i < this.matched; i++) out.push(this.keys[i]!);
      this.matched = 0;
      if (byte === this.keys[0]) this.matched = 1;
      else out.push(byte);
    }
    return { forward: Buffer.from(out), detach: false };
  }
}

function parseHeader(h: string, acc: [string, string][]): [string, string][] {
  const i = h.indexOf(':');
  if (i <= 0)
    throw new HijackError('ERR_USAGE', `--header wants "Name: value", got ${JSON.stringify(h)}`);
  acc.push([h.slice(0, i).trim(), h.slice(i + 1).trim()]);
  return acc;
}

function exitFor(err: unknown): number {
  if (!isHijackError(err)) return ATTACH_EXIT.STREAM_ERROR;
  switch (err.code) {
    case 'ERR_INVALID_TARGET':
    case 'ERR_INVALID_ARGUMENT':
    case 'ERR_USAGE':
      return ATTACH_EXIT.USAGE;
    case 'ERR_CONNECT':
    case 'ERR_CONNECT_TIMEOUT':
      return ATTACH_EXIT.CONNECT;
    case 'ERR_UPGRADE_REFUSED':
    case 'ERR_UPGRADE_MISMATCH':
    case 'ERR_MALFORMED_HEAD':
    case 'ERR_HEAD_TOO_LARGE':
    case 'ERR_HEAD_TIMEOUT':
    case 'ERR_CLOSED_BEFORE_HEAD':
      return ATTACH_EXIT.REFUSED;
    default:
      return ATTACH_EXIT.STREAM_ERROR;
  }
}

interface AttachFlags {
  method: string;
  header: [string, string][];
  data?: string;
  upgrade: string;
  detachKeys: string;
  demux: string;
  tty: string;
  connectTimeout?: string;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
  insecure?: boolean;
  quiet?: boolean;
}

/** The line for a stream the server dropped (reset, broken pipe, closed without an end). */
function goneMessage(err?: Error & { code?: string }): string {
  const how =
    err === undefined
      ? 'closed the connection without ending the stream'
      : err.code === 'ECONNRESET' || err.code === 'EPIPE'
        ? `reset the connection (${err.code})`
        : null;
  if (how) return `the server went away: it ${how}; the stream is over (was it stopped?)`;
  return `stream error: ${err!.message}`;
}

/** Writes `buf` and resolves once `w` took it (drained if needed). */
function writeAll(w: Writable, buf: Buffer | string): Promise<void> {
  return new Promise((resolve) => {
    if (w.write(buf)) resolve();
    else w.once('drain', resolve);
  });
}

/** Runs an attach session; resolves to the exit code. */
export async function runAttach(
  target: string,
  path: string,
  flags: AttachFlags,
  io: CliIO,
): Promise<number> {
  const say = (s: string) => {
    if (!flags.quiet) io.stderr.write(`hijack attach: ${s}\n`);
  };
  let options: DialHijackOptions;
  let keys: Buffer;
  const headers: Record<string, string[]> = {};
  const tls: NonNullable<DialHijackOptions['tls']> = {};
  let ct: number | undefined;
  try {
    keys = parseDetachKeys(flags.detachKeys);
    if (!['auto', 'always', 'never'].includes(flags.demux)) {
      throw new HijackError('ERR_USAGE', '--demux is auto, always or never');
    }
    for (const [k, v] of flags.header) (headers[k] ??= []).push(v);
    if (flags.tlsCa) tls.ca = readFileSync(flags.tlsCa);
    if (flags.tlsCert) tls.cert = readFileSync(flags.tlsCert);
    if (flags.tlsKey) tls.key = readFileSync(flags.tlsKey);
    if (flags.insecure) tls.rejectUnauthorized = false;
    if (!(TTY_MODES as readonly string[]).includes(flags.tty)) {
      throw new HijackError('ERR_USAGE', '--tty is auto, always or never');
    }
    ct =
      flags.connectTimeout === undefined
        ? undefined
        : parseDuration(flags.connectTimeout, '--connect-timeout');
    let body: string | Buffer | undefined = flags.data;
    if (body !== undefined && body.startsWith('@')) body = readFileSync(body.slice(1));
    options = {
      method: flags.method.toUpperCase(),
      path,
      headers,
      upgrade: flags.upgrade === 'none' ? false : flags.upgrade,
      tls,
      ...(body !== undefined ? { body } : {}),
      ...(ct !== undefined ? { connectTimeout: ct } : {}),
    };
  } catch (err) {
    io.stderr.write(`hijack attach: ${(err as Error).message}\n`);
    return ATTACH_EXIT.USAGE;
  }

  const stdin = io.stdin;
  const terminal = Boolean(stdin.isTTY && typeof stdin.setRawMode === 'function');
  // Raw mode only for a TTY stream (its far end echoes and edits); cooked otherwise.
  let tty = false;
  if (terminal) {
    const decided = await streamIsTty(flags.tty as TtyMode, {
      target,
      path,
      headers,
      tls,
      timeout: ct || 30_000,
    });
    tty = decided.tty;
    if (!tty && /could not ask/.test(decided.why)) say(`${decided.why}; staying in cooked mode`);
  }

  let conn;
  try {
    conn = await dialHijack(target, options);
  } catch (err) {
    io.stderr.write(`hijack attach: ${(err as Error).message}\n`);
    return exitFor(err);
  }
  const { socket } = conn;
  // A multiplexed stream is never a TTY, whatever was said.
  const raw = terminal && tty && conn.mediaType !== MULTIPLEXED_STREAM;
  if (raw) stdin.setRawMode!(true);

  return new Promise<number>((resolve) => {
    let finished = false;
    const scanner = new DetachScanner(keys);
    const finish = (code: number, message?: string) => {
      if (finished) return;
      finished = true;
      stdin.removeListener('data', onStdin);
      stdin.removeListener('end', onStdinEnd);
      if (raw) stdin.setRawMode!(false);
      stdin.pause();
      if (typeof (stdin as { unref?: () => void }).unref === 'function') {
        (stdin as unknown as { unref: () => void }).unref();
      }
      stdin.destroy();
      socket.destroy();
      if (message) say((raw ? '\r\n' : '') + message.replace(/^\r\n/, ''));
      resolve(code);
    };

    const onStdin = (chunk: Buffer | string) => {
      let buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      if (raw) {
        const r = scanner.feed(buf);
        buf = r.forward;
        if (r.detach) {
          if (buf.length) socket.write(buf);
          finish(ATTACH_EXIT.DETACHED, 'detached (the stream stays open on the server side)');
          return;
        }
      }
      if (buf.length && !socket.write(buf)) {
        stdin.pause();
        socket.once('drain', () => stdin.resume());
      }
    };
    let stdinEnded = false;
    const onStdinEnd = () => {
      stdinEnded = true;
      // stdin EOF: half-close; the server's remaining output still arrives.
      conn.closeWrite();
    };
    stdin.on('data', onStdin);
    stdin.on('end', onStdinEnd);

    let serverEnded = false;
    socket.once('end', () => (serverEnded = true));
    socket.on('error', (err) => finish(ATTACH_EXIT.STREAM_ERROR, goneMessage(err)));
    // Closed without an end of stream and without an error: the server went away.
    socket.once('close', () => {
      if (!serverEnded) finish(ATTACH_EXIT.STREAM_ERROR, goneMessage());
    });

    const outputs: Promise<void>[] = [];
    const copy = (src: Readable, dst: Writable) =>
      new Promise<void>((res, rej) => {
        src.on('data', (c: Buffer) => {
          if (!dst.write(c)) {
            src.pause();
            dst.once('drain', () => src.resume());
          }
        });
        src.once('end', () => res());
        src.once('error', rej);
      });
    const demux =
      flags.demux === 'always' || (flags.demux === 'auto' && conn.mediaType === MULTIPLEXED_STREAM);
    if (demux) {
      const { stdout, stderr } = demuxStdcopy(socket);
      outputs.push(copy(stdout, io.stdout), copy(stderr, io.stderr));
    } else {
      outputs.push(copy(socket, io.stdout));
    }
    Promise.all(outputs).then(
      async () => {
        // Let stdout flush before we report the end.
        await writeAll(io.stdout, '');
        // Interactive: say that the far end finished (a raw terminal shows nothing else).
        finish(ATTACH_EXIT.OK, terminal && !stdinEnded ? 'the server ended the stream' : undefined);
      },
      (err: Error) =>
        finish(
          ATTACH_EXIT.STREAM_ERROR,
          isHijackError(err, 'ERR_STDCOPY_SYSTEM') ? err.message : `stream error: ${err.message}`,
        ),
    );
  });
}

/** Registers `hijack attach`. */
export const registerAttach: RegisterCommand = (program: Command, io, setExitCode) => {
  program
    .command('attach')
    .description(
      'Open a hijacked stream to TARGET and attach the terminal to it: stdin goes to the stream, ' +
        'the stream to stdout (split into stdout/stderr for Docker multiplexed streams); ' +
        'stdin EOF half-closes.',
    )
    .argument(
      '<target>',
      'unix:///path, tcp://host:port, http://host[:port] or https://host[:port]',
    )
    .argument(
      '<path>',
      'request path, e.g. /v1.41/containers/ID/attach?stream=1&stdin=1&stdout=1&stderr=1',
    )
    .option('-X, --method <method>', 'request method', 'POST')
    .option(
      '-H, --header <header>',
      'extra request header "Name: value" (repeatable)',
      parseHeader,
      [] as [string, string][],
    )
    .option('-d, --data <body>', 'request body; @FILE reads it from FILE')
    .option(
      '--upgrade <token>',
      'Upgrade token to ask for, or "none" for the legacy 200 raw-stream mode',
      'tcp',
    )
    .option(
      '--detach-keys <keys>',
      'key sequence that detaches when stdin is a terminal (ctrl-<letter>, comma-separated)',
      'ctrl-p,ctrl-q',
    )
    .option(
      '--demux <mode>',
      'split Docker stdcopy frames into stdout/stderr: auto (when the media type is ' +
        'multiplexed-stream), always (e.g. non-TTY exec on API < 1.42), never',
      'auto',
    )
    .option(
      '--tty <mode>',
      'put the terminal in raw mode: auto (when the stream is a TTY: asks the daemon for Docker ' +
        'attach/exec paths, Config.Tty / ProcessConfig.tty), always, never',
      'auto',
    )
    .option(
      '--connect-timeout <duration>',
      "connect timeout, a duration like the gateway's (10s, 500ms, 1m; default 30s)",
    )
    .option('--tls-ca <file>', 'CA certificate(s) to verify an https:// target with (PEM)')
    .option('--tls-cert <file>', 'client certificate (PEM)')
    .option('--tls-key <file>', 'client key (PEM)')
    .option('-k, --insecure', 'do not verify the server certificate')
    .option('-q, --quiet', 'no messages of our own on stderr (detach, stream errors)')
    .addHelpText(
      'after',
      `
Exit status:
  0  the stream ended cleanly
  1  the stream failed after the takeover (reset, Docker system-error frame)
  2  usage error (bad flag, header, detach keys or target)
  3  cannot connect (endpoint missing or refused, connect timeout)
  4  no takeover (non-101 answer, other protocol, malformed/late/oversized head)
  5  detached with the detach keys

Terminal mode: raw (keys go out as typed, the far end echoes; the detach keys work) only
when stdin is a terminal and the stream is a TTY (see --tty); otherwise cooked: the
terminal echoes and edits lines, Enter sends a line, ^D at the start of a line is EOF.

Examples:
  hijack attach unix:///var/run/docker.sock \\
    "/v1.41/containers/web/attach?stream=1&stdin=1&stdout=1&stderr=1"
  echo hi | hijack attach unix:///var/run/docker.sock /v1.44/exec/ID/start \\
    -H "Content-Type: application/json" -d '{"Detach":false,"Tty":false}'
  hijack attach --upgrade none tcp://127.0.0.1:2375 /v1.41/exec/ID/start -d '{}'`,
    )
    .action(async (target: string, path: string, flags: AttachFlags) => {
      setExitCode(await runAttach(target, path, flags, io));
    });
};
