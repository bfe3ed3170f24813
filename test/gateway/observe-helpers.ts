/**
 * Shared by the observe tests: a gateway in front of the demo engine with observers
 * attached, one-shot HTTP requests, an exec `cat` taken over through the gateway, and
 * bounded waits.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { dialHijack } from '../../src/client/dial.js';
import { createEngine, type Engine } from '../../src/demo/engine/index.js';
import {
  observeGateway,
  type Observer,
  type ObserveOptions,
} from '../../src/gateway/observe/index.js';
import { parseRule } from '../../src/gateway/policy/rule.js';
import { createGateway, type Gateway } from '../../src/gateway/server.js';
import type { AuthOptions, Endpoint } from '../../src/gateway/types.js';

export const RULES = [
  'GET,HEAD /_ping',
  'GET /containers/json',
  'POST /containers/{id}/exec',
  'POST /exec/{id}/start',
  'GET /exec/{id}/json',
];

export interface Rig {
  dir: string;
  engine: Engine;
  gw: Gateway;
  obs: Observer;
  base: string;
  port: number;
  urls: { live?: string; metrics?: string };
  close(): Promise<void>;
}

export async function rig(
  observe: (dir: string) => ObserveOptions,
  extra: { listen?: Endpoint[]; auth?: Partial<AuthOptions> } = {},
): Promise<Rig> {
  const dir = mkdtempSync(join(tmpdir(), 'obs-'));
  const engine = createEngine({ socketPath: join(dir, 'engine.sock') });
  const up = await engine.listen();
  const gw = createGateway({
    listen: extra.listen ?? [{ kind: 'tcp', host: '127.0.0.1', port: 0 }],
    upstream: up,
    policy: { rules: RULES.map((r) => parseRule(r, 'allow', 'test')) },
    ...(extra.auth ? { auth: extra.auth } : {}),
  });
  const obs = observeGateway(gw, observe(dir));
  const [addr] = await gw.listen();
  const urls = await obs.listen();
  return {
    dir,
    engine,
    gw,
    obs,
    base: addr!.url,
    port: addr!.port ?? 0,
    urls,
    async close() {
      await gw.close({ timeout: 1000, grace: 200 });
      await obs.close();
      await engine.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** One request over a fresh connection; resolves with status and body. */
export function request(
  target: { port?: number; socketPath?: string },
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request(
      {
        ...(target.socketPath ? { socketPath: target.socketPath } : { host: '127.0.0.1' }),
        port: target.port,
        method,
        path,
        agent: false,
        timeout: 5000,
        headers: {
          ...headers,
          ...(data ? { 'Content-Type': 'application/json', 'Content-Length': data.length } : {}),
        },
      },
      (res) => {
        let b = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (b += c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: b, headers: res.headers }),
        );
      },
    );
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end(data);
  });
}

/** Starts `cat` in c1 through the gateway: resolves with the hijacked connection. */
export async function execCat(r: Rig) {
  const created = await request({ port: r.port }, 'POST', '/containers/c1/exec', {
    Cmd: ['cat'],
    AttachStdin: true,
    AttachStdout: true,
  });
  assert.equal(created.status, 201, created.body);
  const id = (JSON.parse(created.body) as { Id: string }).Id;
  const conn = await dialHijack(r.base, {
    path: `/exec/${id}/start`,
    body: JSON.stringify({ Detach: false, Tty: false }),
    headers: { 'Content-Type': 'application/json' },
    headTimeout: 5000,
  });
  assert.equal(conn.statusCode, 101);
  return conn;
}

/** Reads the stream until it ends (bounded). */
export function readAll(
  s: NodeJS.ReadableStream & { destroy(): void },
  ms = 5000,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const t = setTimeout(() => {
      s.destroy();
      reject(new Error('stream did not end'));
    }, ms);
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('end', () => {
      clearTimeout(t);
      resolve(Buffer.concat(chunks));
    });
    s.on('error', (e) => {
      clearTimeout(t);
      reject(e);
    });
  });
}

/** Polls `fn` until it returns a truthy value (bounded: 50 tries, 5 s). */
export async function until<T>(fn: () => Promise<T> | T, what: string): Promise<NonNullable<T>> {
  for (let i = 0; i < 50; i++) {
    const v = await fn();
    if (v) return v as NonNullable<T>;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

export const lines = (text: string) =>
  text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, any>);

/** `hijack gateway` as a child process in front of a demo engine of its own. */
export interface CliGateway {
  /** The forwarding listener's port, and its `tcp://` URL. */
  port: number;
  base: string;
  /** What the CLI printed on stderr (`metrics on …`, `live connections page on …`). */
  stderr(): string;
  /** The access log so far (stdout). */
  stdout(): string;
  /** SIGTERM, then the engine and temp dir go. */
  stop(): Promise<void>;
}

/**
 * Starts `node --import tsx src/cli/main.ts gateway --listen tcp://127.0.0.1:0 --upstream
 * unix://<demo engine> --preset exec --allow 'GET,HEAD /_ping' …args` and waits for it to
 * print its listeners (and the URLs `waitFor` names, e.g. /metrics on (\S+)/).
 */
export async function startCliGateway(args: string[], waitFor: RegExp[] = []): Promise<CliGateway> {
  const dir = mkdtempSync(join(tmpdir(), 'cli-gw-'));
  const engine = createEngine({ socketPath: join(dir, 'engine.sock') });
  await engine.listen();
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'src/cli/main.ts',
      'gateway',
      '--listen',
      'tcp://127.0.0.1:0',
      '--upstream',
      `unix://${join(dir, 'engine.sock')}`,
      '--preset',
      'exec',
      '--allow',
      'GET,HEAD /_ping',
      ...args,
    ],
    { cwd: new URL('../..', import.meta.url).pathname, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let err = '';
  let out = '';
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  const stop = async () => {
    child.kill('SIGTERM');
    if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
    await engine.close();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const port = await until(() => {
      const m = /listening on tcp:\/\/127\.0\.0\.1:(\d+)/.exec(err);
      return m && waitFor.every((re) => re.test(err)) ? Number(m[1]) : undefined;
    }, `the CLI's listeners (${err})`);
    return { port, base: `tcp://127.0.0.1:${port}`, stderr: () => err, stdout: () => out, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
