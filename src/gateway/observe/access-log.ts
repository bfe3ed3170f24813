/**
 * The gateway's access log: one JSON line per request (pino), written when the request is
 * over. For a takeover that is when the stream ended, so the line carries the takeover's
 * kind, bytes each way, duration and how it ended.
 *
 * @module
 */
import { closeSync, openSync } from 'node:fs';
import pino from 'pino';
import type { Logger } from 'pino';
import { HijackError } from '../../errors.js';
import type {
  GatewayClientErrorEvent,
  GatewayEvents,
  GatewayRequestEvent,
  GatewayTakeoverEvent,
} from '../forward/events.js';
import type { LogLevel } from '../types.js';
import { identityView } from './identity.js';
import type { EventEmitter } from 'node:events';

/** Where log lines go: `stdout`, `stderr`, a file path (appended), or a writable stream. */
export type LogDestination = 'stdout' | 'stderr' | string | NodeJS.WritableStream;

/** Options of {@link createAccessLog}. */
export interface AccessLogOptions {
  /** Lowest level written; `silent` writes nothing. Default `info`. */
  level?: LogLevel;
  /** Default `stdout`. */
  destination?: LogDestination;
  /** Extra fields on every line (e.g. `{ gateway: 'edge-1' }`). Default none. */
  base?: Record<string, unknown>;
}

/** A running access log. */
export interface AccessLog {
  /** The pino logger (for lines of your own). */
  readonly logger: Logger;
  /** Re-opens a file destination (after log rotation); a no-op for streams. */
  reopen(): void;
  /** Stops listening, writes lines of takeovers still open (`end: "open"`), flushes. Idempotent. */
  close(): Promise<void>;
}

/** One access-log line (the fields after pino's `level`, `time` and `msg`). */
export interface AccessLogLine {
  req: number;
  conn: number | string | undefined;
  method: string;
  url: string;
  path?: string;
  rule?: string;
  decision: 'allow' | 'deny';
  reason?: string;
  status: number;
  identity?: ReturnType<typeof identityView>;
  /** Milliseconds: `head` to the upstream's answer head, `total` to the end of the answer (for a takeover: to the splice start). */
  ms: { head?: number; total: number };
  bytes: { in: number; out: number };
  takeover?: {
    kind: string;
    protocol: string;
    /** Bytes client → upstream and upstream → client. */
    up?: number;
    down?: number;
    /** Milliseconds the stream lasted. */
    ms?: number;
    /** `half-close`, `error`, `closed`, `idle-timeout`, `shutdown`, or `open` when the log closed first. */
    end: string;
  };
  error?: { code: string; message: string };
}

const round = (ms: number | undefined) =>
  ms === undefined ? undefined : Math.round(ms * 1000) / 1000;

/** Builds the line of a request event (a snapshot: the event object may change later). */
export function requestLine(e: GatewayRequestEvent): AccessLogLine {
  const line: AccessLogLine = {
    req: e.id,
    conn: e.connId,
    method: e.method,
    url: e.url,
    decision: e.decision,
    status: e.status,
    ms: { total: round(e.durations.total)! },
    bytes: { in: e.bytes.in, out: e.bytes.out },
  };
  if (e.path !== undefined) line.path = e.path;
  if (e.rule !== undefined) line.rule = e.rule;
  if (e.reason !== undefined) line.reason = e.reason;
  const id = identityView(e.identity);
  if (id) line.identity = id;
  if (e.durations.head !== undefined) line.ms.head = round(e.durations.head);
  if (e.error) line.error = { ...e.error };
  return line;
}

function takeoverPart(t: GatewayTakeoverEvent): NonNullable<AccessLogLine['takeover']> {
  const part: NonNullable<AccessLogLine['takeover']> = {
    kind: t.kind,
    protocol: t.protocol,
    end: t.end ?? 'open',
  };
  if (t.bytes) {
    part.up = t.bytes.up;
    part.down = t.bytes.down;
  }
  if (t.duration !== undefined) part.ms = round(t.duration)!;
  return part;
}

type Boom = ReturnType<typeof pino.destination>;

function openDestination(d: LogDestination): {
  stream: NodeJS.WritableStream | Boom;
  boom?: Boom;
  std?: boolean;
} {
  if (typeof d !== 'string') return { stream: d };
  if (d === 'stdout' || d === 'stderr') {
    const boom = pino.destination({ dest: d === 'stdout' ? 1 : 2, sync: false });
    return { stream: boom, boom, std: true };
  }
  if (d === '') {
    throw new HijackError(
      'ERR_CONFIG',
      'access log destination is empty: use stdout, stderr or a file path',
    );
  }
  // Open once here so a bad path is a clear error now, not an async one later.
  try {
    closeSync(openSync(d, 'a', 0o640));
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new HijackError(
      'ERR_CONFIG',
      `cannot open the access log file ${d}: ${e.code ?? e.message}; check that the directory exists and is writable`,
      { cause: err },
    );
  }
  const boom = pino.destination({ dest: d, sync: false, append: true });
  return { stream: boom, boom };
}

const LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/**
 * Writes the access log of `gateway`: one JSON line per request at `info` (`warn` for a
 * 5xx or an error), client errors at `warn`, takeover starts at `debug`.
 *
 * ```ts
 * const log = createAccessLog(gateway, { level: 'info', destination: '/var/log/hijack.log' });
 * process.on('SIGHUP', () => log.reopen());
 * // {"level":"info","time":"…","msg":"request","req":7,"method":"POST","path":"/exec/{id}/start",…,
 * //  "takeover":{"kind":"upgrade","protocol":"tcp","up":6,"down":14,"ms":52.1,"end":"half-close"}}
 * ```
 *
 * Throws HijackError ERR_CONFIG for a bad level or a file that cannot be opened.
 */
export function createAccessLog(
  gateway: EventEmitter<GatewayEvents>,
  options: AccessLogOptions = {},
): AccessLog {
  const level = options.level ?? 'info';
  if (!LEVELS.includes(level)) {
    throw new HijackError(
      'ERR_CONFIG',
      `unknown log level ${JSON.stringify(level)} (use ${LEVELS.join(', ')})`,
    );
  }
  const { stream, boom, std } = openDestination(options.destination ?? 'stdout');
  const logger = pino(
    {
      level,
      base: options.base ?? null,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    stream,
  );

  // Takeovers whose request line waits for the stream's end, by request id.
  const pending = new Map<number, AccessLogLine>();
  const write = (line: AccessLogLine) => {
    const bad = line.status >= 500 || line.error !== undefined || line.takeover?.end === 'error';
    logger[bad ? 'warn' : 'info'](line, 'request');
  };
  const onRequest = (e: GatewayRequestEvent) => {
    const line = requestLine(e);
    if (e.takeover !== undefined) pending.set(e.id, line);
    else write(line);
  };
  const onTakeoverStart = (t: GatewayTakeoverEvent) => {
    const line = pending.get(t.requestId);
    if (line) line.takeover = takeoverPart(t);
    logger.debug(
      { req: t.requestId, conn: t.connId, kind: t.kind, protocol: t.protocol, path: t.path },
      'takeover start',
    );
  };
  const onTakeover = (t: GatewayTakeoverEvent) => {
    const line = pending.get(t.requestId);
    if (!line) return;
    pending.delete(t.requestId);
    line.takeover = takeoverPart(t);
    if (t.error && !line.error) line.error = { ...t.error };
    write(line);
  };
  const onClientError = (e: GatewayClientErrorEvent) => {
    logger.warn({ conn: e.connId, code: e.code, status: e.status }, 'client error');
  };
  gateway.on('request', onRequest);
  gateway.on('takeoverStart', onTakeoverStart);
  gateway.on('takeover', onTakeover);
  gateway.on('clientError', onClientError);

  let closed: Promise<void> | undefined;
  return {
    logger,
    reopen() {
      if (boom && !std) boom.reopen();
    },
    close() {
      closed ??= (async () => {
        gateway.off('request', onRequest);
        gateway.off('takeoverStart', onTakeoverStart);
        gateway.off('takeover', onTakeover);
        gateway.off('clientError', onClientError);
        for (const line of pending.values()) {
          line.takeover ??= { kind: 'unknown', protocol: '', end: 'open' };
          write(line);
        }
        pending.clear();
        if (boom) {
          await new Promise<void>((resolve) => {
            const done = () => resolve();
            try {
              boom.flushSync();
            } catch {
              /* not ready or already closed */
            }
            if (std) return done();
            boom.once('close', done);
            boom.once('error', done);
            boom.end();
          });
        }
      })();
      return closed;
    },
  };
}
