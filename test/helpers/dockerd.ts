/**
 * A real, private dockerd for tests (Debian docker.io), on its own socket under a short
 * mkdtemp dir, with a busybox image imported from busybox-static (no registry).
 *
 *   let d: Dockerd | null;
 *   before(async () => { d = await startDockerd(); });   // null when unavailable locally
 *   after(() => d?.stop());
 *   test('…', async (t) => { if (!needDockerd(t, d)) return; const id = await d.run(['sleep', '60']); });
 *
 * Under CI=true a missing dockerd, busybox or root is a failure (see requirePeer).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, copyFileSync, existsSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { inCI, isRoot, which } from './peers.js';

/** A running private dockerd. */
export interface Dockerd {
  /** Its unix socket path. */
  socketPath: string;
  /** `unix://` + socketPath. */
  target: string;
  /** The image every container runs: busybox with sh, cat, echo, sleep … */
  image: string;
  /** The API version prefix dockerd speaks (e.g. `/v1.41`). */
  apiPrefix: string;
  /** Calls the API; JSON in, JSON (or text) out. */
  api(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>;
  /** Starts a container (`--init --network none`) running `cmd`; returns its id. */
  run(
    cmd: string[],
    opts?: { tty?: boolean; openStdin?: boolean; stdinOnce?: boolean },
  ): Promise<string>;
  /** Creates an exec in a container; returns the exec id. */
  exec(
    containerId: string,
    cmd: string[],
    opts?: { tty?: boolean; stdin?: boolean },
  ): Promise<string>;
  /** Removes every container, stops dockerd, removes the temp dir. Safe to call twice. */
  stop(): Promise<void>;
}

/** Why dockerd cannot run here, or null if it can. */
export function dockerdUnavailable(): string | null {
  if (!isRoot) return 'dockerd needs root';
  if (!which('dockerd')) return 'dockerd (Debian docker.io) is not installed';
  if (!existsSync('/bin/busybox')) return 'busybox-static (/bin/busybox) is not installed';
  return null;
}

/**
 * In a test: true when `d` is running; otherwise skips (locally) or throws (CI=true).
 */
export function needDockerd(t: TestContext, d: Dockerd | null): d is Dockerd {
  if (d) return true;
  const why = dockerdUnavailable() ?? 'dockerd did not start';
  if (inCI) throw new Error(`dockerd is required under CI: ${why}`);
  t.skip(why);
  return false;
}

function request(
  socketPath: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const req = http.request(
      {
        socketPath,
        method,
        path,
        headers: data
          ? { 'Content-Type': 'application/json', 'Content-Length': data.length }
          : { 'Content-Length': 0 },
      },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () => {
          const text = Buffer.concat(parts).toString();
          let parsed: unknown = text;
          try {
            parsed = text ? JSON.parse(text) : null;
          } catch {
            // text
          }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
      },
    );
    req.setTimeout(20_000, () => req.destroy(new Error(`${method} ${path} timed out`)));
    req.on('error', reject);
    req.end(data);
  });
}

const TOOLS = ['sh', 'cat', 'echo', 'sleep', 'true', 'false', 'ls', 'head', 'wc', 'printf', 'tr'];

/**
 * Starts dockerd on a private socket and imports the busybox image. Resolves to null when
 * dockerd cannot run here (see {@link dockerdUnavailable}); throws if it should but fails.
 */
export async function startDockerd(): Promise<Dockerd | null> {
  if (dockerdUnavailable()) return null;
  const dir = mkdtempSync('/tmp/dk.');
  const socketPath = join(dir, 'd.sock');
  const log = join(dir, 'dockerd.log');
  const child: ChildProcess = spawn(
    'sh',
    [
      '-c',
      `exec dockerd --host unix://${socketPath} --data-root ${dir}/data --exec-root ${dir}/x ` +
        `--pidfile ${dir}/d.pid --iptables=false --ip6tables=false --bridge=none ` +
        `--storage-driver=vfs --shutdown-timeout=2 >${log} 2>&1`,
    ],
    { stdio: 'ignore' },
  );
  let exited = false;
  child.once('exit', () => (exited = true));
  const containers = new Set<string>();
  let stopped = false;

  const stop = async () => {
    if (stopped) return;
    stopped = true;
    for (const id of containers) {
      await request(socketPath, 'DELETE', `/containers/${id}?force=1`).catch(() => {});
    }
    if (!exited) {
      child.kill('SIGTERM');
      for (let i = 0; i < 100 && !exited; i++) await sleep(50);
      if (!exited) {
        child.kill('SIGKILL');
        for (let i = 0; i < 40 && !exited; i++) await sleep(50);
      }
    }
    // dockerd bind-mounts its data root onto itself; after a kill it may stay mounted.
    spawnSync('sh', [
      '-c',
      `grep -o ' ${dir}[^ ]*' /proc/mounts | sort -r | xargs -r -n1 umount -l`,
    ]);
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    let up = false;
    for (let i = 0; i < 300 && !exited; i++) {
      const ok = await request(socketPath, 'GET', '/_ping').then(
        (r) => r.status === 200,
        () => false,
      );
      if (ok) {
        up = true;
        break;
      }
      await sleep(50);
    }
    if (!up) {
      const tail = spawnSync('tail', ['-20', log], { encoding: 'utf8' }).stdout;
      throw new Error(`dockerd did not answer /_ping:\n${tail}`);
    }
    const version = await request(socketPath, 'GET', '/version');
    const apiPrefix = `/v${version.body.ApiVersion as string}`;

    // A busybox rootfs, tarred, imported through `docker import`.
    const root = join(dir, 'rootfs');
    mkdirSync(join(root, 'bin'), { recursive: true });
    mkdirSync(join(root, 'tmp'));
    copyFileSync('/bin/busybox', join(root, 'bin', 'busybox'));
    for (const tool of TOOLS) symlinkSync('busybox', join(root, 'bin', tool));
    const tar = join(dir, 'rootfs.tar');
    spawnSync('tar', ['-C', root, '-cf', tar, '.']);
    const docker = which('/usr/bin/docker') ?? which('docker');
    if (!docker) throw new Error('the docker CLI is not installed');
    const imp = spawnSync(docker, ['-H', `unix://${socketPath}`, 'import', tar, 'mini:latest'], {
      encoding: 'utf8',
    });
    if (imp.status !== 0) throw new Error(`docker import failed: ${imp.stderr}`);

    const api = (method: string, path: string, body?: unknown) =>
      request(socketPath, method, path, body);
    const d: Dockerd = {
      socketPath,
      target: `unix://${socketPath}`,
      image: 'mini:latest',
      apiPrefix,
      api,
      async run(cmd, opts = {}) {
        const created = await api('POST', `${apiPrefix}/containers/create`, {
          Image: 'mini:latest',
          Cmd: cmd,
          Tty: Boolean(opts.tty),
          OpenStdin: Boolean(opts.openStdin),
          StdinOnce: Boolean(opts.stdinOnce),
          AttachStdin: Boolean(opts.openStdin),
          AttachStdout: true,
          AttachStderr: true,
          HostConfig: { Init: true, NetworkMode: 'none' },
        });
        if (created.status !== 201) throw new Error(`create: ${JSON.stringify(created.body)}`);
        const id = created.body.Id as string;
        containers.add(id);
        const started = await api('POST', `${apiPrefix}/containers/${id}/start`);
        if (started.status !== 204) throw new Error(`start: ${JSON.stringify(started.body)}`);
        return id;
      },
      async exec(containerId, cmd, opts = {}) {
        const r = await api('POST', `${apiPrefix}/containers/${containerId}/exec`, {
          Cmd: cmd,
          Tty: Boolean(opts.tty),
          AttachStdin: Boolean(opts.stdin),
          AttachStdout: true,
          AttachStderr: true,
        });
        if (r.status !== 201) throw new Error(`exec create: ${JSON.stringify(r.body)}`);
        return r.body.Id as string;
      },
      stop,
    };
    return d;
  } catch (err) {
    await stop();
    throw err;
  }
}
