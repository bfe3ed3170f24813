/**
 * Whether the stream `hijack attach` opens is a TTY, so the local terminal goes raw only
 * then (as `docker attach` / `docker exec` do) and stays cooked (local echo, line editing,
 * ^D as EOF) otherwise.
 *
 * `--tty auto` (the default) asks the daemon for Docker paths, as the Docker CLI does:
 * `…/containers/ID/attach` → `GET …/containers/ID/json` (`Config.Tty`),
 * `…/exec/ID/start` → `GET …/exec/ID/json` (`ProcessConfig.tty`). Any other path is taken as
 * not a TTY; `--tty always` / `--tty never` decide without asking.
 *
 * @module
 */
import http from 'node:http';
import https from 'node:https';
import type tls from 'node:tls';
import { resolveTarget } from '../endpoint/parse.js';
import { HijackError } from '../errors.js';

/** `--tty` values. */
export const TTY_MODES = ['auto', 'always', 'never'] as const;
/** A `--tty` value. */
export type TtyMode = (typeof TTY_MODES)[number];

/** The inspect path for a Docker attach / exec-start path, or null for any other path. */
export function inspectPathFor(path: string): { path: string; kind: 'container' | 'exec' } | null {
  const p = path.split('?')[0]!;
  const attach = /^((?:\/v\d+\.\d+)?)\/containers\/([^/]+)\/attach$/.exec(p);
  if (attach) return { path: `${attach[1]}/containers/${attach[2]}/json`, kind: 'container' };
  const exec = /^((?:\/v\d+\.\d+)?)\/exec\/([^/]+)\/start$/.exec(p);
  if (exec) return { path: `${exec[1]}/exec/${exec[2]}/json`, kind: 'exec' };
  return null;
}

/** How the inspect request is made: the same target, headers and TLS as the stream. */
export interface TtyProbe {
  target: string;
  path: string;
  headers: Record<string, string[]>;
  tls: tls.ConnectionOptions;
  timeout: number;
}

function getJson(p: TtyProbe, path: string): Promise<unknown> {
  const t = resolveTarget(p.target);
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | string[]> = { Host: t.hostHeader, ...p.headers };
    const base = { path: t.prefix + path, method: 'GET', headers, timeout: p.timeout };
    const onRes = (res: http.IncomingMessage) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => {
        if (res.statusCode !== 200) {
          reject(new Error(`GET ${path} answered ${res.statusCode}: ${body.trim().slice(0, 200)}`));
          return;
        }
        try {
          resolve(JSON.parse(body));
        } catch {
          reject(new Error(`GET ${path} did not answer JSON`));
        }
      });
    };
    const req =
      t.kind === 'unix'
        ? http.request({ ...base, socketPath: t.path }, onRes)
        : t.kind === 'tls'
          ? https.request({ ...base, host: t.host, port: t.port, ...p.tls }, onRes)
          : http.request({ ...base, host: t.host, port: t.port }, onRes);
    req.on('timeout', () => req.destroy(new Error(`GET ${path}: no answer in ${p.timeout} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/**
 * Decides whether the stream is a TTY. Resolves `{ tty, why }`; `why` says how it was
 * decided (for a message when it could not be). Never rejects: a failed inspect gives
 * `tty: false` with the reason.
 */
export async function streamIsTty(
  mode: TtyMode,
  probe: TtyProbe,
): Promise<{ tty: boolean; why: string }> {
  if (!TTY_MODES.includes(mode)) {
    throw new HijackError('ERR_USAGE', '--tty is auto, always or never');
  }
  if (mode !== 'auto') return { tty: mode === 'always', why: `--tty ${mode}` };
  const inspect = inspectPathFor(probe.path);
  if (!inspect) return { tty: false, why: 'not a Docker attach or exec path' };
  try {
    const body = (await getJson(probe, inspect.path)) as {
      Config?: { Tty?: unknown };
      ProcessConfig?: { tty?: unknown };
    };
    const tty =
      inspect.kind === 'container' ? body.Config?.Tty === true : body.ProcessConfig?.tty === true;
    return { tty, why: `${inspect.path} says Tty ${tty}` };
  } catch (err) {
    return { tty: false, why: `could not ask ${inspect.path}: ${(err as Error).message}` };
  }
}
