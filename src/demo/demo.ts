/**
 * `hijack demo`: the demo engine on a private unix socket, the gateway in front of it on
 * loopback with a policy that allows what the engine implements (its route table), the
 * `sandbox` preset's body rules (no `--privileged`, no host binds …) and scope `owner` for
 * two tokens (`alice` owns the built-in containers, `bob` sees none of them), the JSON access
 * log, and the live connections page.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HijackError } from '../errors.js';
import { observeGateway, type LogDestination, type Observer } from '../gateway/observe/index.js';
import { hashToken } from '../gateway/identity/tokens.js';
import { sandboxBodyRules } from '../gateway/policy/body-rules.js';
import { OWNER_LABEL } from '../gateway/policy/owner.js';
import { parseRule } from '../gateway/policy/rule.js';
import { createGateway, type Gateway } from '../gateway/server.js';
import type { LogLevel, PolicySpec } from '../gateway/types.js';
import { createEngine, defaultContainers, type Engine } from './engine/index.js';
import { routes } from './engine/routes.js';

/** Options of {@link startDemo}. */
export interface DemoOptions {
  /** Loopback address for the gateway and the page: `127.0.0.1` (default), `::1` or `localhost`. */
  host?: string;
  /** Gateway port; 0 (default) picks a free one. */
  port?: number;
  /** Live page port; 0 (default) picks a free one. */
  livePort?: number;
  /** Access log level; default `info`. */
  logLevel?: LogLevel;
  /** Access log destination; default `stderr` (stdout carries the instructions). */
  logDestination?: LogDestination;
}

/** The demo's token names: the first owns the built-in containers c1, c2, c3. */
export const DEMO_USERS = ['alice', 'bob'] as const;

/** One of the demo's clients: a bearer token and a Docker CLI config directory sending it. */
export interface DemoUser {
  /** `alice` or `bob`: the token name, and the owner the gateway labels its objects with. */
  readonly name: (typeof DEMO_USERS)[number];
  /** The bearer token (random per run). */
  readonly token: string;
  /**
   * A directory whose `config.json` has `HttpHeaders.Authorization: Bearer <token>`: run the
   * Docker CLI with `DOCKER_CONFIG=<this>` to be this user.
   */
  readonly dockerConfig: string;
}

/** A running demo. */
export interface Demo {
  /** `tcp://127.0.0.1:PORT`: the gateway, for `docker -H`. */
  readonly gatewayUrl: string;
  /**
   * `unix:///tmp/hijack-demo-…/gateway.sock`: the same gateway on a unix socket, where the
   * Docker CLI's detach keys work (over tcp:// they hang the CLI; docs/gateway.md).
   */
  readonly gatewayUnixUrl: string;
  /** `http://127.0.0.1:PORT/`: the live connections page. */
  readonly liveUrl: string;
  /** The page's data for scripts. */
  readonly jsonUrl: string;
  /** Prometheus metrics. */
  readonly metricsUrl: string;
  /** `unix:///tmp/hijack-demo-…/engine.sock`: the engine, behind the gateway. */
  readonly engineHost: string;
  /** The two clients, alice (owns c1, c2, c3) then bob. */
  readonly users: readonly DemoUser[];
  readonly engine: Engine;
  readonly gateway: Gateway;
  readonly observer: Observer;
  /** What to run next, as printed by `hijack demo`. */
  instructions(): string;
  /** Stops the gateway (graceful), the page, the engine, and removes the temp dir. Idempotent. */
  close(): Promise<void>;
}

/**
 * The demo's rules: exactly the engine's route table (so the gateway allows what the demo
 * implements and refuses the rest with 403/405 before the engine's 501).
 */
export function demoRules() {
  return routes.map((r) =>
    parseRule(`${r.method} ${r.path.replace(/\{(\w+)\*\}/g, '{$1}')}`, 'allow', 'hijack demo'),
  );
}

/**
 * The demo gateway's policy: {@link demoRules}, the `sandbox` preset's body rules (their
 * refusals name the field and `preset sandbox`) and scope `owner` (each token sees only
 * the objects created with it).
 */
export function demoPolicy(): PolicySpec {
  return { rules: demoRules(), blocks: [], body: sandboxBodyRules(), scope: 'owner' };
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

function checkPort(port: number | undefined, name: string): number {
  const p = port ?? 0;
  if (!Number.isInteger(p) || p < 0 || p > 65535) {
    throw new HijackError('ERR_USAGE', `${name} must be a port number 0-65535 (0: any free port)`);
  }
  return p;
}

/**
 * Starts the demo; resolves once everything listens.
 *
 * ```ts
 * const demo = await startDemo({ port: 0 });
 * console.log(demo.instructions());
 * // echo hi | docker -H tcp://127.0.0.1:PORT exec -i c1 cat
 * await demo.close();
 * ```
 *
 * Throws HijackError ERR_USAGE for a non-loopback host or a bad port, ERR_CONFIG when a
 * port is taken.
 */
export async function startDemo(options: DemoOptions = {}): Promise<Demo> {
  const host = options.host ?? '127.0.0.1';
  if (!LOOPBACK.has(host)) {
    throw new HijackError(
      'ERR_USAGE',
      `the demo listens on loopback only (127.0.0.1, ::1 or localhost), not ${host}: its tokens are printed and travel without TLS`,
    );
  }
  const bind = host === 'localhost' ? '127.0.0.1' : host;
  const port = checkPort(options.port, '--port');
  const livePort = checkPort(options.livePort, '--live-port');

  const dir = mkdtempSync(join(tmpdir(), 'hijack-demo-'));
  const users = DEMO_USERS.map((name): DemoUser => {
    const token = `${name}-${randomBytes(16).toString('hex')}`;
    const dockerConfig = join(dir, name);
    mkdirSync(dockerConfig, { mode: 0o700 });
    writeFileSync(
      join(dockerConfig, 'config.json'),
      `${JSON.stringify({ HttpHeaders: { Authorization: `Bearer ${token}` } }, null, 2)}\n`,
      { mode: 0o600 },
    );
    return { name, token, dockerConfig };
  });
  // Created by the engine, not through the gateway: labelled as if alice had created them,
  // so her first commands (ps, exec c1, logs c3) work and bob sees none of them.
  const owned = { [OWNER_LABEL]: users[0]!.name };
  const engine = createEngine({
    socketPath: join(dir, 'engine.sock'),
    containers: defaultContainers.map((c) => ({ ...c, labels: { ...c.labels, ...owned } })),
  });
  let gateway: Gateway | undefined;
  let observer: Observer | undefined;
  const cleanup = async () => {
    if (gateway) await announceStop(engine, gateway);
    await gateway?.close({ timeout: 2000, grace: DEMO_STREAM_GRACE }).catch(() => undefined);
    await observer?.close().catch(() => undefined);
    await engine.close().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const engineHost = await engine.listen();
    gateway = createGateway({
      listen: [
        { kind: 'tcp', host: bind, port },
        { kind: 'unix', path: join(dir, 'gateway.sock'), mode: 0o600 },
      ],
      upstream: engineHost,
      policy: demoPolicy(),
      auth: { tokens: users.map((u) => ({ name: u.name, sha256: hashToken(u.token) })) },
    });
    observer = observeGateway(gateway, {
      log: { level: options.logLevel ?? 'info', destination: options.logDestination ?? 'stderr' },
      live: { listen: { kind: 'tcp', host: bind, port: livePort } },
      // The operator's view of both tokens' connections, open on loopback as before the
      // tokens: a newcomer opens it in a browser without signing in.
      auth: false,
    });
    const [addr, unixAddr] = await gateway.listen();
    const urls = await observer.listen();
    const gatewayUrl = addr!.url;
    const gatewayUnixUrl = unixAddr!.url;
    const liveUrl = urls.live!;
    const g = gateway;
    const o = observer;
    let closing: Promise<void> | undefined;
    return {
      gatewayUrl,
      gatewayUnixUrl,
      liveUrl,
      jsonUrl: `${liveUrl}connections.json`,
      metricsUrl: urls.metrics ?? `${liveUrl}metrics`,
      engineHost,
      users,
      engine,
      gateway: g,
      observer: o,
      instructions: () => instructions(gatewayUrl, liveUrl, gatewayUnixUrl, users),
      close: () => (closing ??= cleanup()),
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

/** The line each open stream gets when the demo stops (a stderr frame, or a TTY's output). */
export const DEMO_STOPPING =
  'hijack demo: stopping (Ctrl-C or SIGTERM); this stream ends now. docker exec then exits ' +
  '255 (it cannot read the exit code once the demo is gone), docker attach exits 0';

/**
 * What `hijack demo` prints on SIGINT/SIGTERM about the `open` streams: unlike a bare
 * gateway, the demo first tells each stream's user why it ends ({@link DEMO_STOPPING}).
 */
export function demoStreamsNotice(open: number): string {
  if (open === 0) return 'no stream is open';
  return (
    `${open} open stream${open === 1 ? ' gets' : 's get'} the line "hijack demo: stopping …" ` +
    `on its stderr, then ${open === 1 ? 'is' : 'are'} half-closed and cut after ` +
    `${DEMO_STREAM_GRACE / 1000} s: docker exec then exits 255 (it cannot read the exit code ` +
    `once the demo is gone), docker attach exits 0, hijack attach prints "the server ended ` +
    `the stream"`
  );
}

/** Bytes the gateway has carried from the engine to the clients of open streams. */
const carriedDown = (gateway: Gateway) =>
  gateway.streams().reduce((sum, s) => sum + s.bytes.down, 0);

/**
 * Tells every open stream that the demo stops, and waits (at most 500 ms) until the gateway
 * has carried those bytes to the clients: its shutdown half-closes the streams, and bytes
 * still on their way from the engine would be lost.
 */
async function announceStop(engine: Engine, gateway: Gateway): Promise<void> {
  if (gateway.takeovers === 0) return;
  const before = carriedDown(gateway);
  const sent = await engine.announce(DEMO_STOPPING).catch(() => 0);
  for (let i = 0; i < 50 && carriedDown(gateway) < before + sent; i++) {
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The demo's shutdown grace for open streams (ms). */
export const DEMO_STREAM_GRACE = 1000;

/**
 * The text `hijack demo` prints: addresses, the two tokens with the `DOCKER_CONFIG` that
 * sends each, then the commands to run next (as alice, then as bob).
 */
export function instructions(
  gatewayUrl: string,
  liveUrl: string,
  unixUrl: string | undefined,
  users: readonly Pick<DemoUser, 'name' | 'token' | 'dockerConfig'>[],
): string {
  const h = `docker -H ${gatewayUrl}`;
  const [alice, bob] = users;
  const cmds: [string, string][] = [
    [`echo hello | ${h} exec -i c1 cat`, 'stdin in, output back'],
    [`${h} exec c1 sleep 30`, 'then watch it on the live page'],
    [`${h} ps`, 'list the demo containers'],
    [`${h} logs -f c2`, 'follow what c2 prints (type into `docker attach c2`)'],
    [`${h} events`, 'what the engine does, live'],
    [`${h} exec -it c1 sh`, 'a small built-in shell in a TTY'],
    [`${h} run --rm hijack/demo sh -c 'date; env'`, 'create, start, wait, remove'],
    [`${h} run --privileged hijack/demo true`, 'refused: HostConfig.Privileged (sandbox rules)'],
    [`${h} run -v /:/host hijack/demo true`, 'refused: a bind of the host (sandbox rules)'],
    [`${h} pull alpine`, "refused by the gateway's policy (no registry here)"],
  ];
  const asBob: [string, string][] = bob
    ? [
        [`DOCKER_CONFIG=${bob.dockerConfig} ${h} ps -a`, `none of ${alice?.name ?? 'the'}'s`],
        [
          `DOCKER_CONFIG=${bob.dockerConfig} ${h} logs c3`,
          'No such container, as for a missing one',
        ],
      ]
    : [];
  const rows = (list: [string, string][]) => {
    const width = Math.max(...list.map(([c]) => c.length)) + 3;
    return list.map(([c, why]) => `  ${c.padEnd(width)}# ${why}`);
  };
  const nameWidth = Math.max(...users.map((u) => u.name.length)) + 2;
  const tokenWidth = Math.max(...users.map((u) => u.token.length)) + 2;
  const configWidth = Math.max(...users.map((u) => u.dockerConfig.length)) + 17;
  return [
    'hijack demo: a Docker-compatible demo engine behind the hijack gateway',
    '',
    `  gateway    ${gatewayUrl}   (policy: what the demo implements, sandbox body rules, scope owner)`,
    ...(unixUrl
      ? [`  unix       ${unixUrl}   (the same; ctrl-p ctrl-q detach works here, not over tcp://)`]
      : []),
    `  live page  ${liveUrl}`,
    `  JSON       ${liveUrl}connections.json`,
    `  metrics    ${liveUrl}metrics`,
    '',
    'Tokens (the gateway refuses a request without one). Each DOCKER_CONFIG directory holds a',
    'config.json whose HttpHeaders send "Authorization: Bearer <token>" from the Docker CLI:',
    '',
    ...users.map(
      (u, i) =>
        `  ${u.name.padEnd(nameWidth)}${u.token.padEnd(tokenWidth)}` +
        `${`DOCKER_CONFIG=${u.dockerConfig}`.padEnd(configWidth)}` +
        (i === 0 ? '(owns c1, c2, c3)' : `(sees only what ${u.name} creates)`),
    ),
    '',
    `Run next, in another terminal, as ${alice?.name ?? 'the first token'}:`,
    '',
    ...(alice ? [`  export DOCKER_CONFIG=${alice.dockerConfig}`, ''] : []),
    '(containers: c1 running, c2 cat for attach, c3 exited; stdin EOF ends c2 as it ends cat,',
    '`docker start c2` runs it again)',
    '',
    ...rows(cmds),
    ...(bob
      ? ['', `Then as ${bob.name}, who cannot see ${alice?.name ?? 'the first'}'s containers:`, '']
      : []),
    ...(asBob.length ? rows(asBob) : []),
    '',
    'Access log: JSON lines on stderr. Ctrl-C stops the demo.',
    '',
  ].join('\n');
}
