/**
 * `GET /containers/{id}/logs` and `GET /events` in the demo engine: what dockerd answers,
 * framed as dockerd frames it (stdcopy per log line unless TTY), followed live when asked,
 * bounded by `since`/`until`.
 *
 * @module
 */
import type { ServerResponse } from 'node:http';
import { StdType } from '../../stream/index.js';
import type { EngineContext } from './context.js';
import { eventMatches, eventQuery, type DockerEvent } from './events.js';
import { ApiError, flag } from './http.js';
import { formatNano, nowNano, parseTimestamp, type LogEntry } from './logbook.js';
import type { Call } from './route-table.js';

/** One stdcopy frame: `[stream, 0, 0, 0, size BE]` then the payload. */
export function stdcopyFrame(stream: 'stdout' | 'stderr', payload: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h[0] = StdType[stream];
  h.writeUInt32BE(payload.length, 4);
  return Buffer.concat([h, payload]);
}

/** Holds `res` open until `stop` resolves, the client goes, or the engine closes it. */
function holdOpen(ctx: EngineContext, res: ServerResponse, cleanup: () => void): () => void {
  ctx.openAnswers.add(res);
  let done = false;
  const end = () => {
    if (done) return;
    done = true;
    ctx.openAnswers.delete(res);
    cleanup();
    if (!res.writableEnded) res.end();
  };
  res.once('close', end);
  return end;
}

/** Calls `fn` when `until` (ns since the epoch) comes; returns the timer's canceller. */
function at(until: bigint | null, fn: () => void): () => void {
  if (until === null) return () => {};
  const ms = Number((until - nowNano()) / 1_000_000n);
  const timer = setTimeout(fn, Math.max(0, Math.min(ms, 2 ** 31 - 1)));
  return () => clearTimeout(timer);
}

function timestamp(name: string, q: URLSearchParams): bigint | null {
  try {
    const t = parseTimestamp(q.get(name));
    // dockerd reads since=0 as "from the start".
    return t === 0n ? null : t;
  } catch (err) {
    throw new ApiError(400, (err as Error).message);
  }
}

/** `GET /containers/{id}/logs?stdout&stderr&follow&since&until&timestamps&tail`. */
export function logs(ctx: EngineContext, { res, params, query: q, version }: Call): void {
  const c = ctx.mustContainer(params.id!);
  const streams = new Set<string>();
  if (flag(q, 'stdout')) streams.add('stdout');
  if (flag(q, 'stderr')) streams.add('stderr');
  if (streams.size === 0) {
    throw new ApiError(400, 'Bad parameters: you must choose at least one stream');
  }
  const since = timestamp('since', q);
  const until = timestamp('until', q);
  const tailText = q.get('tail') ?? 'all';
  const tail = /^\d+$/.test(tailText) ? Number(tailText) : -1;
  const stamps = flag(q, 'timestamps');
  const follow = flag(q, 'follow');
  const wanted = (e: LogEntry) =>
    streams.has(e.stream) &&
    (since === null || e.time >= since) &&
    (until === null || e.time <= until);
  const encode = (e: LogEntry) => {
    const payload = stamps
      ? Buffer.concat([Buffer.from(`${formatNano(e.time)} `), e.data])
      : e.data;
    return c.tty ? payload : stdcopyFrame(e.stream, payload);
  };
  res.writeHead(200, { ...ctx.headers, 'Content-Type': ctx.mediaType(version, c.tty) });
  res.flushHeaders();
  let past = c.logs.entries.filter(wanted);
  if (tail >= 0) past = tail === 0 ? [] : past.slice(-tail);
  for (const e of past) res.write(encode(e));
  if (!follow || !c.running || (until !== null && until <= nowNano())) {
    res.end();
    return;
  }
  const onEntry = (e: LogEntry) => {
    if (wanted(e)) res.write(encode(e));
  };
  const cancel = at(until, () => end());
  const end = holdOpen(ctx, res, () => {
    cancel();
    c.logs.off('entry', onEntry);
    c.off('exit', end);
  });
  c.logs.on('entry', onEntry);
  c.once('exit', end);
}

/** `GET /events?since&until&filters`: JSON lines, past ones from `since`, live until `until`. */
export function events(ctx: EngineContext, { res, query }: Call): void {
  const { since, until, filters } = eventQuery(query);
  const send = (nano: bigint, e: DockerEvent, json: string) => {
    if ((until === null || nano <= until) && eventMatches(e, filters)) res.write(json + '\n');
  };
  res.writeHead(200, { ...ctx.headers, 'Content-Type': 'application/json' });
  res.flushHeaders();
  if (since !== null) {
    for (const { nano, event, json } of ctx.events.entries)
      if (nano >= since) send(nano, event, json);
  }
  if (until !== null && until <= nowNano()) {
    res.end();
    return;
  }
  const cancel = at(until, () => end());
  const end = holdOpen(ctx, res, () => {
    cancel();
    ctx.events.off('event', send);
  });
  ctx.events.on('event', send);
}
