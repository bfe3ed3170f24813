/**
 * Builds small standard-library Go peers (test/peers/go/NAME/main.go) during the test
 * run, once per source content, into a cache folder under the OS temp dir.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('../..', import.meta.url).pathname;

/** Path of the built binary for test/peers/go/NAME; throws with the compiler output on failure. */
export function buildGoPeer(name: string, goBin = 'go'): string {
  const dir = join(root, 'test', 'peers', 'go', name);
  const src = readFileSync(join(dir, 'main.go'));
  const hash = createHash('sha256').update(src).digest('hex').slice(0, 16);
  const outDir = join(tmpdir(), 'hijack-go-peers');
  mkdirSync(outDir, { recursive: true });
  const out = join(outDir, `${name}-${hash}`);
  if (existsSync(out)) return out;
  const r = spawnSync(goBin, ['build', '-o', out + '.tmp', '.'], {
    cwd: dir,
    encoding: 'utf8',
    env: {
      ...process.env,
      GOCACHE: join(outDir, 'gocache'),
      GOPATH: join(outDir, 'gopath'),
      GO111MODULE: 'off',
      GOFLAGS: '-mod=mod',
      CGO_ENABLED: '0',
    },
  });
  if (r.status !== 0) throw new Error(`go build ${name} failed:\n${r.stderr}${r.stdout}`);
  spawnSync('mv', [out + '.tmp', out]);
  return out;
}
