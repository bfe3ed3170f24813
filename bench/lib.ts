/** Shared shapes and small helpers for bench/*.bench.ts. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import { performance } from 'node:perf_hooks';

export interface BenchContext {
  /** Repository root. */
  root: string;
  /** BENCH_QUICK=1: shorter runs, for checking that a bench works. */
  quick: boolean;
}

export interface BenchSection {
  /** Markdown: a `## title`, a short method paragraph, a table with ratios. */
  markdown: string;
}

/** Runs `fn` repeatedly for about `ms` milliseconds; returns operations per second. */
export async function opsPerSecond(fn: () => Promise<void> | void, ms: number): Promise<number> {
  let n = 0;
  const start = performance.now();
  let now = start;
  while (now - start < ms) {
    await fn();
    n++;
    now = performance.now();
  }
  return (n * 1000) / (now - start);
}

/** Formats a number with thousands separators and `digits` decimals. */
export function fmt(n: number, digits = 0): string {
  return n.toLocaleString('en-US', {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

/** A markdown table from a header row and rows. */
export function table(head: string[], rows: (string | number)[][]): string {
  const line = (cells: (string | number)[]) => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n') + '\n';
}

/** True when processes can be pinned to CPUs (two CPUs and taskset). */
export const pinnable = os.cpus().length >= 2 && spawnSync('taskset', ['-V']).status === 0;

/** `argv` prefixed with `taskset -c CPU` when pinning is possible (two CPUs and taskset). */
export function pin(cpu: number, argv: string[]): string[] {
  return pinnable ? ['taskset', '-c', String(cpu), ...argv] : argv;
}

/**
 * Runs `fn` with this process (every thread) pinned to `cpu`, for clients that live in the
 * bench process itself; the previous affinity is restored afterwards.
 */
export async function pinSelf<T>(cpu: number, fn: () => Promise<T>): Promise<T> {
  if (!pinnable) return fn();
  const all = `0-${os.cpus().length - 1}`;
  spawnSync('taskset', ['-a', '-p', '-c', String(cpu), String(process.pid)]);
  try {
    return await fn();
  } finally {
    spawnSync('taskset', ['-a', '-p', '-c', all, String(process.pid)]);
  }
}

/**
 * Starts a process; resolves with the address it printed (`ready`'s first group, by default
 * from a "listening ADDR" line) and the process. Rejects if it exits or takes over 20 s.
 */
export function startProcess(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
  ready = /listening (\S+)/,
): Promise<{ addr: string; proc: ChildProcess }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(argv[0]!, argv.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`${argv.join(' ')} did not start in 20 s: ${err}`));
    }, 20_000);
    proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = ready.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ addr: m[1]!, proc });
      }
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${argv.join(' ')} exited with ${code}: ${err}`));
    });
  });
}

/** SIGTERM, then SIGKILL after 3 s; resolves when the process is gone. */
export async function stopProcess(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const gone = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGTERM');
  const t = setTimeout(() => proc.kill('SIGKILL'), 3000);
  await gone;
  clearTimeout(t);
}

/** Runs a command to completion; resolves with its stdout, rejects with its stderr. */
export function runCommand(argv: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.once('exit', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`${argv.join(' ')}: ${code}\n${err}`)),
    );
  });
}
