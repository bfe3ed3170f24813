/**
 * `POST /containers/{id}/attach` in the demo engine: a hijacked stream onto the main
 * process (output fanned out to every attached client, stdin to the process; `logs=1`
 * replays what it printed).
 *
 * @module
 */
import type { EngineContext } from './context.js';
import { ApiError, flag, readJson } from './http.js';
import type { Call } from './route-table.js';
import { openSession } from './session.js';

/** `POST /containers/{id}/attach?stream&logs&stdin&stdout&stderr`. */
export async function attach(ctx: EngineContext, call: Call): Promise<void> {
  const { req, res, params, query: q, version } = call;
  const c = ctx.mustContainer(params.id!);
  await readJson(req);
  const stream = flag(q, 'stream');
  const logs = flag(q, 'logs');
  if (!stream && !logs) throw new ApiError(400, 'either logs or stream must be set');
  // A container that is not running may be attached to, as dockerd allows: the stream
  // waits for its start (`docker run`, `docker start -a`). The Docker CLI's own `attach`
  // refuses a stopped container before asking ("You cannot attach to a stopped container").
  const session = await openSession(req, res, {
    framed: !c.tty,
    mediaType: ctx.mediaType(version, c.tty),
    headers: [],
  });
  ctx.track(session);
  ctx.events.container(c, 'attach');
  const wantOut = flag(q, 'stdout');
  const wantErr = flag(q, 'stderr');
  if (logs) {
    // Replay what the container printed so far (kept per stream, so order across
    // stdout/stderr is per stream only).
    if (wantOut) session.stdout.write(c.stdout.history());
    if (wantErr && !c.tty) session.stderr.write(c.stderr.history());
  }
  if (!stream) {
    await session.close();
    return;
  }
  const { stdout: out, stderr: err } = c;
  if (wantOut) out.targets.add(session.stdout);
  if (wantErr && !c.tty) err.targets.add(session.stderr);
  if (flag(q, 'stdin') && c.openStdin) {
    // Before the start there is no process to read: wait for it (`docker run -i`).
    if (!c.running) session.stdin.pause();
    const onStart = () => session.stdin.resume();
    c.once('lifecycle', onStart);
    void session.closed.then(() => c.off('lifecycle', onStart));
    session.stdin.on('data', (chunk: Buffer) => {
      const containerStdin = c.stdin;
      // Another client's EOF may have closed it (StdinOnce): the bytes have no reader.
      if (!containerStdin || containerStdin.writableEnded || containerStdin.destroyed) return;
      if (!containerStdin.write(chunk)) {
        session.stdin.pause();
        containerStdin.once('drain', () => session.stdin.resume());
      }
    });
    session.stdin.once('end', () => {
      if (c.stdinOnce) c.stdin?.end();
    });
  } else {
    session.stdin.resume();
  }
  await new Promise<void>((resolve) => {
    const onExit = () => resolve();
    c.once('exit', onExit);
    void session.closed.then(() => {
      c.off('exit', onExit);
      resolve();
    });
  });
  out.targets.delete(session.stdout);
  err.targets.delete(session.stderr);
  await session.close();
}
