/**
 * Real peers the tests run against (Go, dockerd, curl, socat, ss, chromium …).
 * A missing peer skips the test on a developer machine and fails it under CI=true,
 * where .ci/run must have installed it.
 */
import { spawnSync } from 'node:child_process';
import type { TestContext } from 'node:test';

const found = new Map<string, string | null>();

/** Absolute path of `cmd` on PATH (or an absolute path that exists), else null. */
export function which(cmd: string): string | null {
  if (found.has(cmd)) return found.get(cmd)!;
  const r = spawnSync('sh', ['-c', `command -v ${JSON.stringify(cmd)}`], { encoding: 'utf8' });
  const path = r.status === 0 ? r.stdout.trim() || null : null;
  found.set(cmd, path);
  return path;
}

/** True when running under CI, where a missing peer is a failure. */
export const inCI = process.env.CI === 'true';

/**
 * Returns the path of the peer command, or, when missing: fails under CI=true, skips
 * otherwise (returns null; the caller returns at once).
 */
export function requirePeer(t: TestContext, cmd: string, why = ''): string | null {
  const path = which(cmd);
  if (path) return path;
  const msg = `peer '${cmd}' is not installed${why ? ` (${why})` : ''}; .ci/run installs it`;
  if (inCI) throw new Error(msg);
  t.skip(msg);
  return null;
}

/** True when the process runs as root (network namespaces, dockerd). */
export const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
