/**
 * The demo engine's shared state: containers, exec instances, open stream sessions,
 * pending waits, the common answer headers and the lookups every resource's handlers use.
 * One instance per engine; handlers get it as their first argument.
 *
 * @module
 */
import type { ServerResponse } from 'node:http';
import { MULTIPLEXED_STREAM, RAW_STREAM } from '../../stream/index.js';
import type { Command } from './commands.js';
import type { Container } from './containers.js';
import { ApiError, compareVersions } from './http.js';
import { EventLog } from './events.js';
import { Networks } from './networks.js';
import type { Session } from './session.js';
import type { TtySize } from './tty-size.js';

/** The engine's version string (`Server: hijack-demo/…`, `/version`). */
export const SERVER_VERSION = '0.1.0';

/** One exec instance (`POST /containers/{id}/exec`). */
export interface ExecRecord {
  id: string;
  container: Container;
  cmd: string[];
  env: string[];
  tty: boolean;
  attachStdin: boolean;
  attachStdout: boolean;
  attachStderr: boolean;
  started: boolean;
  running: boolean;
  exitCode: number | null;
  pid: number;
  abort: AbortController;
  /** The TTY size from the last resize (0 × 0 until one). */
  size: TtySize;
}

/** What the engine's handlers share. */
export class EngineContext {
  readonly execs = new Map<string, ExecRecord>();
  readonly sessions = new Set<Session>();
  /** Answers held open (wait, logs --follow, events) that the engine's close() ends. */
  readonly openAnswers = new Set<ServerResponse>();
  /** The network records. */
  readonly networks = new Networks();
  /** The id of the network named `name` (a container's network mode), if it exists. */
  readonly networkId = (name: string): string | undefined => this.networks.find(name)?.Id;
  /** What the engine did, for `GET /events`. */
  readonly events = new EventLog();
  /** Headers on every answer, as dockerd sends them. */
  readonly headers: Record<string, string>;
  /** The same headers as `Name: value` lines (for hijacked heads). */
  readonly headLines: string[];
  private pid = 1000;

  constructor(
    readonly apiVersion: string,
    readonly minApiVersion: string,
    readonly commands: ReadonlyMap<string, Command>,
    readonly containers: Container[],
  ) {
    this.headers = {
      'Api-Version': apiVersion,
      'Docker-Experimental': 'false',
      Ostype: 'linux',
      Server: `hijack-demo/${SERVER_VERSION} (linux)`,
    };
    this.headLines = Object.entries(this.headers).map(([k, v]) => `${k}: ${v}`);
  }

  /** Adds a container: its lifecycle becomes events; `autoRemove` removes it at exit. */
  addContainer(c: Container): void {
    c.on('lifecycle', (action: string, attrs: Record<string, string>) =>
      this.events.container(c, action, attrs),
    );
    if (c.autoRemove) c.on('exit', () => this.removeContainer(c));
    this.containers.push(c);
  }

  /** Removes a container that has stopped (a `destroy` event). */
  removeContainer(c: Container): void {
    const i = this.containers.indexOf(c);
    if (i < 0) return;
    this.containers.splice(i, 1);
    this.events.container(c, 'destroy');
    c.emit('removed');
  }

  /** The next process id to hand out. */
  nextPid(): number {
    return this.pid++;
  }

  /** A container by name, `/name`, full id or unique id prefix (400 for an ambiguous prefix). */
  findContainer(ref: string): Container | undefined {
    const name = ref.replace(/^\//, '');
    const byName = this.containers.find((c) => c.name === name || c.id === ref);
    if (byName) return byName;
    if (!/^[0-9a-f]+$/.test(ref)) return undefined;
    const matches = this.containers.filter((c) => c.id.startsWith(ref));
    if (matches.length > 1)
      throw new ApiError(400, `multiple IDs found with provided prefix: ${ref}`);
    return matches[0];
  }

  /** {@link findContainer}, or 404 `No such container`. */
  mustContainer(ref: string): Container {
    const c = this.findContainer(ref);
    if (!c) throw new ApiError(404, `No such container: ${ref}`);
    return c;
  }

  /** An exec instance by id, or 404 `No such exec instance`. */
  mustExec(id: string): ExecRecord {
    const e = this.execs.get(id);
    if (!e) throw new ApiError(404, `No such exec instance: ${id}`);
    return e;
  }

  /** Media type of a stream for the request's API version (≥ 1.42 non-TTY is multiplexed). */
  mediaType(version: string, tty: boolean): string {
    return !tty && compareVersions(version, '1.42') >= 0 ? MULTIPLEXED_STREAM : RAW_STREAM;
  }

  /** Counts `s` among the open streams until it closes. */
  track(s: Session): void {
    this.sessions.add(s);
    void s.closed.then(() => this.sessions.delete(s));
  }
}
