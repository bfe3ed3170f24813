/**
 * Docker events in the demo engine: a bounded record of what the engine did (container
 * start/kill/die, exec create/start/die, attach, resize) in dockerd's event shape, and
 * `GET /events` live and bounded by `since`/`until`, with `filters`.
 *
 * @module
 */
import { EventEmitter } from 'node:events';
import type { Container } from './containers.js';
import { ApiError } from './http.js';
import { nowNano, parseTimestamp } from './logbook.js';
import { parseFilters, type Filters } from './filters.js';

/** One event as dockerd sends it (`status`, `id`, `from` are the pre-1.22 fields it still adds). */
export interface DockerEvent {
  status?: string;
  id?: string;
  from?: string;
  Type: string;
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  scope: 'local';
  time: number;
  timeNano: number;
}

/** The engine's events, oldest first; emits 'event' for live listeners. */
export class EventLog extends EventEmitter {
  readonly entries: { nano: bigint; event: DockerEvent; json: string }[] = [];

  constructor(private readonly keep = 1000) {
    super();
    this.setMaxListeners(0);
  }

  /** Records a container event (`exec_*`, `start`, `die` …) as dockerd shapes it. */
  container(c: Container, action: string, extra: Record<string, string> = {}): void {
    const nano = nowNano();
    const event: DockerEvent = {
      status: action,
      id: c.id,
      from: c.image,
      Type: 'container',
      Action: action,
      Actor: {
        ID: c.id,
        Attributes: sortKeys({ ...c.labels, ...extra, image: c.image, name: c.name }),
      },
      scope: 'local',
      time: Number(nano / 1_000_000_000n),
      timeNano: Number(nano),
    };
    // timeNano is an int64 in dockerd's JSON: written from the bigint, not a rounded double.
    const json = JSON.stringify({ ...event, timeNano: 0 }).replace(
      /"timeNano":0\}$/,
      `"timeNano":${nano}}`,
    );
    this.entries.push({ nano, event, json });
    if (this.entries.length > this.keep) this.entries.shift();
    this.emit('event', nano, event, json);
  }
}

function sortKeys(o: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

const EVENT_FILTERS = ['type', 'event', 'container', 'image', 'label', 'scope'];

/** True when `e` passes the `filters` of `GET /events`. */
export function eventMatches(e: DockerEvent, f: Filters): boolean {
  const attrs = e.Actor.Attributes;
  const any = (key: string, test: (v: string) => boolean) => {
    const vs = f.get(key);
    return !vs || vs.some(test);
  };
  return (
    any('type', (v) => v === e.Type) &&
    any('event', (v) => v === e.Action || e.Action.startsWith(`${v}:`)) &&
    any('container', (v) => e.Actor.ID.startsWith(v) || attrs.name === v) &&
    any('image', (v) => attrs.image === v || attrs.image === `${v}:latest`) &&
    any('scope', (v) => v === e.scope) &&
    any('label', (v) => {
      const i = v.indexOf('=');
      return i < 0 ? v in attrs : attrs[v.slice(0, i)] === v.slice(i + 1);
    })
  );
}

/** Reads since/until/filters of `GET /events`; throws 400 for bad values. */
export function eventQuery(q: URLSearchParams): {
  since: bigint | null;
  until: bigint | null;
  filters: Filters;
} {
  try {
    const since = parseTimestamp(q.get('since'));
    const until = parseTimestamp(q.get('until'));
    return { since, until, filters: parseFilters(q.get('filters'), EVENT_FILTERS) };
  } catch (err) {
    throw new ApiError(400, (err as Error).message);
  }
}
