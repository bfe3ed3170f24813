/**
 * Exec endpoints of the demo engine: create, start (a hijacked stream, or detached),
 * inspect, resize.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { PassThrough } from 'node:stream';
import type { EngineContext, ExecRecord } from './context.js';
import { ApiError, readJson, sendJson } from './http.js';
import { endedInput, runCommand } from './process.js';
import type { Call } from './route-table.js';
import { openSession, type Session } from './session.js';
import { ttySize } from './tty-size.js';
import { LineDiscipline } from './tty.js';
import { readsTerminal } from './shell.js';

/** How long after the 101 head an exec's command starts (see start()). */
export const PROCESS_START_MS = 15;

/** Docker's `["a", "b"]` fields: an array of strings, or 400. */
export function stringArray(v: unknown, what: string): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) {
    throw new ApiError(400, `${what} must be an array of strings`);
  }
  return v as string[];
}

/** `POST /containers/{id}/exec`: 201 `{"Id"}`. */
export async function create(ctx: EngineContext, { req, res, params }: Call): Promise<void> {
  const c = ctx.mustContainer(params.id!);
  const body = await readJson(req);
  const cmd = stringArray(body.Cmd, 'Cmd');
  if (cmd.length === 0) throw new ApiError(400, 'No exec command specified');
  if (!c.running) throw new ApiError(409, `Container ${c.id} is not running`);
  const e: ExecRecord = {
    id: randomBytes(32).toString('hex'),
    container: c,
    cmd,
    env: [...c.env, ...stringArray(body.Env, 'Env')],
    tty: body.Tty === true,
    attachStdin: body.AttachStdin === true,
    attachStdout: body.AttachStdout !== false,
    attachStderr: body.AttachStderr !== false,
    started: false,
    running: false,
    exitCode: null,
    pid: 0,
    abort: new AbortController(),
    size: { rows: 0, cols: 0 },
  };
  ctx.execs.set(e.id, e);
  ctx.events.container(c, `exec_create: ${cmd.join(' ')}`, { execID: e.id });
  sendJson(res, 201, { Id: e.id }, ctx.headers);
}

function emptyStdin(session: Session): PassThrough {
  session.stdin.resume();
  return endedInput();
}

/** `POST /exec/{id}/start`: the hijacked stream, or `{"Detach":true}` in the background. */
export async function start(ctx: EngineContext, call: Call): Promise<void> {
  const { req, res, params, version } = call;
  const id = params.id!;
  const e = ctx.mustExec(id);
  const body = await readJson(req);
  if (e.started) throw new ApiError(409, `Exec command ${id} is already running`);
  if (!e.container.running) throw new ApiError(409, `Container ${e.container.id} is not running`);
  e.started = true;
  e.running = true;
  e.pid = ctx.nextPid();
  const tty = body.Tty === true || e.tty;
  const done = (status: number) => {
    e.exitCode = status;
    e.running = false;
    ctx.events.container(e.container, 'exec_die', { execID: e.id, exitCode: String(status) });
  };
  ctx.events.container(e.container, `exec_start: ${e.cmd.join(' ')}`, { execID: e.id });
  // The exec dies with its container.
  const onExit = () => e.abort.abort();
  e.container.once('exit', onExit);
  if (body.Detach === true) {
    const sink = new PassThrough();
    sink.resume();
    const stdin = new PassThrough();
    stdin.end();
    void runCommand(ctx.commands, e.cmd, {
      stdin,
      stdout: sink,
      stderr: sink,
      env: e.env,
      signal: e.abort.signal,
    }).then((s) => {
      e.container.off('exit', onExit);
      done(s);
    });
    res.writeHead(200, { ...ctx.headers, 'Content-Length': 0 });
    res.end();
    return;
  }
  let session: Session;
  try {
    session = await openSession(req, res, {
      framed: !tty,
      mediaType: ctx.mediaType(version, tty),
      headers: ctx.headLines,
    });
  } catch (err) {
    // No stream, no process: the exec never ran (dockerd's status for that).
    e.container.off('exit', onExit);
    done(126);
    throw err;
  }
  ctx.track(session);
  // A client that disappears kills the exec (nothing could read its output any more).
  void session.closed.then(() => e.abort.abort());
  // Start the command a moment after the head, as a process start does in dockerd: clients
  // such as docker-py read the head through a buffered HTTP reader and then the stream from
  // the raw socket, so output arriving together with the head would be lost to them.
  await new Promise((r) => setTimeout(r, PROCESS_START_MS));
  const sink = new PassThrough().resume();
  const status = tty
    ? await runOnTerminal(ctx, e, session)
    : await runCommand(ctx.commands, e.cmd, {
        stdin: e.attachStdin ? session.stdin : emptyStdin(session),
        stdout: e.attachStdout ? session.stdout : sink,
        stderr: e.attachStderr ? session.stderr : sink,
        env: e.env,
        signal: e.abort.signal,
      });
  e.container.off('exit', onExit);
  // The exit status is known before the stream ends: the CLI asks for it right after EOF.
  done(status);
  await session.close();
}

/**
 * Runs a TTY exec's command behind a {@link LineDiscipline}: the client's raw keys are
 * cooked here (echo, erase, ^C, ^D), output gets CR NL. ^C interrupts the command (status
 * 130) unless the command took the terminal's foreground itself (the shell).
 */
async function runOnTerminal(ctx: EngineContext, e: ExecRecord, session: Session): Promise<number> {
  const ld = new LineDiscipline(session.stdout, () => e.size);
  if (e.attachStdin) {
    session.stdin.on('data', (c: Buffer) => ld.feed(c));
    session.stdin.once('end', () => ld.hangup());
  } else {
    session.stdin.resume();
    ld.hangup();
  }
  const job = new AbortController();
  const onAbort = () => job.abort();
  e.abort.signal.addEventListener('abort', onAbort, { once: true });
  let interrupted = false;
  const release = ld.onInterrupt(() => {
    interrupted = true;
    job.abort();
  });
  const main =
    ctx.commands.get(e.cmd[0] ?? '') ?? ctx.commands.get((e.cmd[0] ?? '').replace(/^.*\//, ''));
  const stdin = main && readsTerminal.has(main) ? endedInput() : ld.openJob();
  const sink = new PassThrough().resume();
  const status = await runCommand(ctx.commands, e.cmd, {
    stdin,
    stdout: e.attachStdout ? ld.output : sink,
    stderr: e.attachStderr ? ld.output : sink,
    env: e.env,
    signal: job.signal,
    tty: ld,
  });
  release();
  e.abort.signal.removeEventListener('abort', onAbort);
  return interrupted && !e.abort.signal.aborted ? 130 : status;
}

/** `GET /exec/{id}/json`: state and exit code (set before the stream ends). */
export function inspect(ctx: EngineContext, { res, params }: Call): void {
  const e = ctx.mustExec(params.id!);
  sendJson(
    res,
    200,
    {
      ID: e.id,
      Running: e.running,
      ExitCode: e.exitCode,
      ProcessConfig: {
        tty: e.tty,
        entrypoint: e.cmd[0],
        arguments: e.cmd.slice(1),
        privileged: false,
        user: '',
      },
      OpenStdin: e.attachStdin,
      OpenStderr: e.attachStderr,
      OpenStdout: e.attachStdout,
      CanRemove: false,
      ContainerID: e.container.id,
      DetachKeys: '',
      Pid: e.pid,
    },
    ctx.headers,
  );
}

/** `POST /exec/{id}/resize`: 200. */
export async function resize(ctx: EngineContext, { req, res, params, query }: Call): Promise<void> {
  const e = ctx.mustExec(params.id!);
  await readJson(req);
  e.size = ttySize(query);
  res.writeHead(200, { ...ctx.headers, 'Content-Length': 0 });
  res.end();
}
