/** Shared shapes and small helpers for bench/*.bench.ts. */
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
