/**
 * `npm run bench`: runs every bench/*.bench.ts in one process, one after the other, and
 * writes BENCHMARKS.md with the machine, the versions and each section's table.
 *
 *   npm run bench                 all sections
 *   npm run bench -- server       only the sections whose file name contains "server"
 *
 * A section module's default export is `(ctx: BenchContext) => Promise<BenchSection>`.
 * Sections measure the compiled package (dist/, built by `npm run bench` first), which is
 * what users run, not the TypeScript sources through tsx.
 */
import { execSync } from 'node:child_process';
import { readdirSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import type { BenchContext, BenchSection } from './lib.js';

const here = new URL('.', import.meta.url).pathname;
const root = join(here, '..');

function version(cmd: string): string {
  try {
    return execSync(cmd, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
      .trim()
      .split('\n')[0]!;
  } catch {
    return 'not installed';
  }
}

const filter = process.argv.slice(2);
const files = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => filter.length === 0 || filter.some((x) => f.includes(x)))
  .sort();

const ctx: BenchContext = { root, quick: process.env.BENCH_QUICK === '1' };
const sections: { file: string; section: BenchSection }[] = [];
for (const file of files) {
  console.error(`bench: ${file}`);
  const mod = (await import(join(here, file))) as {
    default: (c: BenchContext) => Promise<BenchSection>;
  };
  const section = await mod.default(ctx);
  sections.push({ file, section });
  console.error(section.markdown);
}

const cpu = os.cpus()[0]?.model ?? 'unknown cpu';
const header = [
  '# Benchmarks',
  '',
  'Written by `npm run bench` (bench/run.ts). Every row of a table was measured side by side',
  'in one run on the machine below; ratios compare against the named peer in the same run.',
  'Timings are never unit tests.',
  '',
  `- date: ${new Date().toISOString()}`,
  `- machine: ${os.cpus().length} × ${cpu}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.type()} ${os.release()}`,
  `- node: ${process.version}`,
  `- go: ${version('go version')}`,
  `- wrk: ${version('wrk -v 2>&1 || true')}`,
  `- haproxy: ${version('haproxy -v')}`,
  `- command: \`npm run bench${filter.length ? ' -- ' + filter.join(' ') : ''}\``,
  '',
].join('\n');

// Keep sections of files that were not run this time (a filtered run updates its own).
const out = join(root, 'BENCHMARKS.md');
const kept = new Map<string, string>();
if (filter.length && existsSync(out)) {
  const old = readFileSync(out, 'utf8');
  for (const m of old.matchAll(/<!-- section:(\S+) -->\n([\s\S]*?)<!-- end:\1 -->/g)) {
    kept.set(m[1]!, m[2]!);
  }
}
for (const s of sections) kept.set(s.file, s.section.markdown.trimEnd() + '\n');
const body = [...kept.entries()]
  .sort(([a], [b]) => a.localeCompare(b))
  .map(([file, md]) => `<!-- section:${file} -->\n${md}<!-- end:${file} -->\n`)
  .join('\n');
writeFileSync(out, header + '\n' + body);
console.error(`bench: wrote ${out}`);
