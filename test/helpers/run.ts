/**
 * Running a peer command (the Docker CLI, python3 …) from a test without blocking the
 * event loop (an engine under test may be serving in this process), bounded in time.
 */
import { spawn } from 'node:child_process';

/** What a finished command gave. */
export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `bin args`, with `input` on stdin (closed at once without), killed after `timeout` ms. */
export function runPeer(
  bin: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; input?: string; timeout?: number } = {},
): Promise<RunResult> {
  return new Promise((resolve) => {
    const c = spawn(bin, args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: opts.env ?? process.env,
    });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    c.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    c.stdin.on('error', () => {});
    const timer = setTimeout(() => c.kill('SIGKILL'), opts.timeout ?? 15_000);
    c.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    c.stdin.end(opts.input);
  });
}
