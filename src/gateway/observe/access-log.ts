/**
 * The gateway's access log (pino): one JSON line per request, denial, takeover start,
 * progress and end, and client error; field names fit pino and ECS (see docs/observe.md).
 *
 * @module
 */
import { closeSync, openSync } from 'node:fs';
import pino from 'pino';
import type { Logger } from 'pino';
import { HijackError } from '../../errors.js';
import { hostname } from 'node:os';
import type {
  ClientEndpoint,
  GatewayClientErrorEvent,
  GatewayEvents,
  GatewayOpenStream,
  GatewayRequestEvent,
  GatewayTakeoverEvent,
} from '../forward/events.js';
import type { LogLevel } from '../types.js';
import { identityView, type IdentityView } from './identity.js';
import type { EventEmitter } from 'node:events';

/** Where log lines go: `stdout`, `stderr`, a file path (appended), or a writable stream. */
export type LogDestination = 'stdout' | 'stderr' | string | NodeJS.WritableStream;

/** Options of {@link createAccessLog}. */
export interface AccessLogOptions {
  /** Lowest level written; `silent` writes nothing. Default `info`. */
  level?: LogLevel;
  /** Default `stdout`. */
  destination?: LogDestination;
  /** Extra fields on every line (e.g. `{ gateway: 'edge-1' }`), besides `pid` and `hostname`. Default none. */
  base?: Record<string, unknown>;
  /**
   * Milliseconds between `takeover progress` lines of each open stream (bytes and time so
   * far); 0 or absent: none. Needs a source with `streams()` (a Gateway has it).
   */
  streamInterval?: number;
}

/** A running access log. */
export interface AccessLog {
  /** The pino logger (for lines of your own). */
  readonly logger: Logger;
  /** Re-opens a file destination (after log rotation); a no-op for streams. */
  reopen(): void;
  /** Stops listening, writes `takeover end` lines of streams still open (`end: "open"`), flushes. Idempotent. */
  close(): Promise<void>;
}

/** The kinds of line, each with its own `msg` (and the same word in `event.action`). */
export type AccessLogKind =
  'request' | 'denied' | 'takeover start' | 'takeover progress' | 'takeover end' | 'client error';

/**
 * One access-log line: the fields after pino's `level`, `time`, `pid`, `hostname` and
 * `msg`. Names follow ECS where ECS has the field (`client.address`, `http.request.method`,
 * `http.response.status_code`, `url.original`, `url.path`, `rule.name`, `event.action`,
 * `event.reason`, `error.code`), and none collides with pino-http's `req` / `res` objects.
 * docs/observe.md lists every field.
 */
export interface AccessLogLine {
  /** `action`: the line's kind (as `msg`); `reason`: why a request was denied. */
  event: { action: AccessLogKind; reason?: string };
  /** Request id (increasing); absent on `client error` lines. */
  reqId?: number;
  /** The tracker's connection id. */
  connId: number | string | undefined;
  /** The client's socket address (`address` absent on unix sockets). */
  client: { address?: string; port?: number };
  /** Who the client is: its connection facts, plus token name, mTLS subject, unix peer. */
  identity: IdentityView;
  http?: { request: { method: string }; response: { status_code: number } };
  /** `original`: the target as received; `path`: the folded path the policy matched. */
  url?: { original: string; path?: string };
  /** The rule that decided (`allow GET /containers/json`). */
  rule?: { name: string };
  decision?: 'allow' | 'deny';
  /** Milliseconds: `head` to the upstream's answer head, `total` to the end of the answer (for a takeover: to the splice start). */
  ms?: { head?: number; total: number };
  /**
   * Bytes from (`in`) and to (`out`) the client, heads not counted: the bodies of an
   * ordinary request; for `takeover progress` / `takeover end`, the stream's (= `takeover.up` / `down`).
   */
  bytes?: { in: number; out: number };
  takeover?: {
    kind: string;
    protocol: string;
    /** Bytes client → upstream (the request body included) and upstream → client. */
    up?: number;
    down?: number;
    /** Milliseconds the stream lasted (so far, on `takeover progress`). */
    ms?: number;
    /** `half-close`, `error`, `closed`, `idle-timeout`, `shutdown`; `open` while it runs or when the log closed first. */
    end: string;
  };
  /** Client errors: Node's parser code and the status answered. */
  code?: string;
  status?: number;
  error?: { code: string; message: string };
}

const round = (ms: number | undefined) =>
  ms === undefined ? undefined : Math.round(ms * 1000) / 1000;

/** The identity of a line: the identified client, else what its socket says. */
function lineIdentity(id: IdentityView | undefined, c: ClientEndpoint | undefined): IdentityView {
  if (id) return id;
  const v: IdentityView = { transport: c?.transport ?? 'unknown' };
  if (c?.address !== undefined) v.address = c.address;
  if (c?.port !== undefined) v.port = c.port;
  return v;
}

function clientPart(c: ClientEndpoint | undefined, id: IdentityView): AccessLogLine['client'] {
  const out: AccessLogLine['client'] = {};
  const address = c?.address ?? id.address;
  const port = c?.port ?? id.port;
  if (address !== undefined) out.address = address;
  if (port !== undefined) out.port = port;
  return out;
}

/**
 * Builds the line of a request event (a snapshot: the event object may change later):
 * kind `denied` for a refusal, else `request` (a takeover's lines take it as their base).
 */
export function requestLine(e: GatewayRequestEvent): AccessLogLine {
  const identity = lineIdentity(identityView(e.identity), e.client);
  const line: AccessLogLine = {
    event: { action: e.decision === 'deny' ? 'denied' : 'request' },
    reqId: e.id,
    connId: e.connId,
    client: clientPart(e.client, identity),
    identity,
    http: { request: { method: e.method }, response: { status_code: e.status } },
    url: { original: e.url },
    decision: e.decision,
    ms: { total: round(e.durations.total)! },
    bytes: { in: e.bytes.in, out: e.bytes.out },
  };
  if (e.path !== undefined) line.url!.path = e.path;
  if (e.rule !== undefined) line.rule = { name: e.rule };
  if (e.reason !== undefined) line.event.reason = e.reason;
  if (e.durations.head !== undefined) line.ms!.head = round(e.durations.head);
  if (e.error) line.error = { ...e.error };
  return line;
}

function takeoverPart(
  t: GatewayTakeoverEvent,
  end = t.end ?? 'open',
): NonNullable<AccessLogLine['takeover']> {
  const part: NonNullable<AccessLogLine['takeover']> = {
    kind: t.kind,
    protocol: t.protocol,
    end,
  };
  if (t.bytes) {
    part.up = t.bytes.up;
    part.down = t.bytes.down;
  }
  if (t.duration !== undefined) part.ms = round(t.duration)!;
  return part;
}

/** The line of a takeover event of kind `kind`, on the base of its request's line. */
function takeoverLine(
  base: AccessLogLine,
  kind: AccessLogKind,
  t: GatewayTakeoverEvent,
  end?: string,
): AccessLogLine {
  const line: AccessLogLine = { ...base, event: { action: kind } };
  line.takeover = takeoverPart(t, end);
  if (t.bytes) line.bytes = { in: t.bytes.up, out: t.bytes.down };
  return line;
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

/** What the access log reads from a gateway: its events, and (for progress lines) its open streams. */
export type AccessLogSource = EventEmitter<GatewayEvents> & {
  streams?(): GatewayOpenStream[];
};

/**
 * Writes the access log of `gateway`, one JSON line per event (pino), each with `pid`,
 * `hostname`, a `msg` naming its kind, the client's address and identity:
 * - `request` (`info`; `warn` for a 5xx or an error): an ordinary request, once answered;
 * - `denied` (`warn`): a refused request, with `event.reason` and the rule;
 * - `takeover start` (`info`): the switch, when the stream starts;
 * - `takeover progress` (`info`): every `streamInterval` ms of an open stream, bytes so far;
 * - `takeover end` (`info`; `warn` if it ended in `error`): the whole story: request,
 *   kind, bytes each way, duration, how it ended;
 * - `client error` (`warn`): a connection Node's parser refused before any request.
 *
 * ```ts
 * const log = createAccessLog(gateway, { level: 'info', destination: '/var/log/hijack.log' });
 * process.on('SIGHUP', () => log.reopen());
 * // {"level":"info","time":"…","pid":7,"hostname":"gw1","msg":"takeover end","reqId":7,
 * //  "http":{"request":{"method":"POST"},…},"takeover":{"kind":"upgrade","up":6,"down":14,"end":"half-close"}}
 * ```
 *
 * Throws HijackError ERR_CONFIG for a bad level or a file that cannot be opened.
 */
export function createAccessLog(
  gateway: AccessLogSource,
  options: AccessLogOptions = {},
): AccessLog {
  const level = options.level ?? 'info';
  if (!LEVELS.includes(level)) {
    throw new HijackError(
      'ERR_CONFIG',
      `unknown log level ${JSON.stringify(level)} (use ${LEVELS.join(', ')})`,
    );
  }
  const interval = options.streamInterval ?? 0;
  if (typeof interval !== 'number' || !Number.isFinite(interval) || interval < 0) {
    throw new HijackError(
      'ERR_CONFIG',
      `streamInterval must be a number of milliseconds ≥ 0 (0 = off), got ${String(interval)}`,
    );
  }
  const { stream, boom, std } = openDestination(options.destination ?? 'stdout');
  const logger = pino(
    {
      level,
      base: { pid: process.pid, hostname: hostname(), ...options.base },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    stream,
  );

  // Request lines of takeovers still open, by request id: the base of their takeover lines.
  const pending = new Map<number, AccessLogLine>();
  const write = (line: AccessLogLine) => {
    const bad =
      line.event.action === 'denied' ||
      (line.status ?? line.http?.response.status_code ?? 0) >= 500 ||
      line.error !== undefined ||
      line.takeover?.end === 'error';
    logger[bad ? 'warn' : 'info'](line, line.event.action);
  };
  const onRequest = (e: GatewayRequestEvent) => {
    const line = requestLine(e);
    if (e.takeover !== undefined) pending.set(e.id, line);
    else write(line);
  };
  const onTakeoverStart = (t: GatewayTakeoverEvent) => {
    const base = pending.get(t.requestId);
    if (base) write(takeoverLine(base, 'takeover start', t));
  };
  const onTakeover = (t: GatewayTakeoverEvent) => {
    const base = pending.get(t.requestId);
    if (!base) return;
    pending.delete(t.requestId);
    const line = takeoverLine(base, 'takeover end', t);
    if (t.error && !line.error) line.error = { ...t.error };
    write(line);
  };
  const onClientError = (e: GatewayClientErrorEvent) => {
    const identity = lineIdentity(undefined, e.client);
    const line: AccessLogLine = {
      event: { action: 'client error' },
      connId: e.connId,
      client: clientPart(e.client, identity),
      identity,
      code: e.code,
      status: e.status,
    };
    logger.warn(line, 'client error');
  };
  gateway.on('request', onRequest);
  gateway.on('takeoverStart', onTakeoverStart);
  gateway.on('takeover', onTakeover);
  gateway.on('clientError', onClientError);

  // Progress of long streams: each open stream once per interval, once it is that old.
  const progress =
    interval > 0 && gateway.streams
      ? setInterval(() => {
          for (const s of gateway.streams!()) {
            const base = pending.get(s.requestId);
            if (base && s.duration >= interval)
              write(takeoverLine(base, 'takeover progress', s, 'open'));
          }
        }, interval)
      : undefined;
  progress?.unref();

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
        if (progress) clearInterval(progress);
        const open = new Map((gateway.streams?.() ?? []).map((s) => [s.requestId, s]));
        for (const [id, base] of pending) {
          const s = open.get(id);
          const line: AccessLogLine = s
            ? takeoverLine(base, 'takeover end', s, 'open')
            : { ...base, event: { action: 'takeover end' } };
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
