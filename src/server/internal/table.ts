/**
 * What this package relies on in Node's HTTP internals, per Node major, as data. Adding a
 * major is adding a row here once `probeNodeInternals()` agrees with it (see
 * docs/node-internals.md); a major without a row is probed at run time.
 *
 * @internal
 */

/** The pieces of Node's HTTP machinery a takeover, the gate and the tracker use. */
export interface NodeHttpInternals {
  /** `HTTPParser.kOnExecute`: the parser slot Node calls after each read parsed in C++. */
  readonly kOnExecute: number;
  /** llhttp's HPE_PAUSED: returned from the head callback, llhttp stops right after the head. */
  readonly hpePaused: number;
  /** Node's own listeners on a server socket, by event, by function name. */
  readonly socketListeners: Readonly<Record<string, readonly string[]>>;
  /** Node's 'finish' listener on a ServerResponse (it holds the connection's state). */
  readonly responseFinish: string;
  /** Description of the http.Server symbol holding its ConnectionsList (`active()`, `idle()`). */
  readonly connectionsKey: string;
  /** Description of the http.Server symbol holding its request-timeout interval. */
  readonly checkingIntervalKey: string;
  /**
   * What http.Server.close() closes besides the listener: `idle` connections between
   * requests, or `idle+new`, also those that have not sent a request yet (Node 26).
   * shutdown() never uses it: it stops accepting with net.Server's close.
   */
  readonly closeCloses: 'idle' | 'idle+new';
}

/** The server socket listeners Node 20–26 add in connectionListenerInternal. */
const socketListeners20 = {
  data: ['bound socketOnData'],
  end: ['bound socketOnEnd'],
  close: ['bound socketOnClose'],
  drain: ['bound socketOnDrain'],
  error: ['socketOnError'],
  timeout: ['socketOnTimeout'],
  resume: ['onSocketResume'],
  pause: ['onSocketPause'],
} as const;

const node20: NodeHttpInternals = {
  kOnExecute: 5,
  hpePaused: 21,
  socketListeners: socketListeners20,
  responseFinish: 'bound resOnFinish',
  connectionsKey: 'http.server.connections',
  checkingIntervalKey: 'http.server.connectionsCheckingInterval',
  closeCloses: 'idle',
};

/** Known Node majors (checked: 20.20, 22.23, 24.9, 26.12). */
export const NODE_INTERNALS: Readonly<Record<number, NodeHttpInternals>> = {
  20: node20,
  22: node20,
  24: node20,
  26: { ...node20, responseFinish: 'onResponseFinish', closeCloses: 'idle+new' },
};

/** The running Node's major version. */
export const NODE_MAJOR = Number(process.versions.node.split('.')[0]);
