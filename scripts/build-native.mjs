// Builds the optional native part (getsockopt/setsockopt calls, native/sockopt.c; the
// splice relay, native/relay.c) with node-gyp. Runs at `npm install` / `npm rebuild`, or by
// hand: `node scripts/build-native.mjs`.
// A failed build never fails the install: the package works without it, and the native
// calls throw HijackError ERR_NATIVE_UNAVAILABLE with the reason written here to
// build/native-build-failed.txt.
//
// Offline by design: node-gyp comes from npm itself (npm_config_node_gyp when npm runs us,
// else the copy inside the npm next to this node), and the headers from the running
// node's own prefix (include/node) when they are there, so nothing is downloaded.
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const failedFile = join(root, 'build', 'native-build-failed.txt');
if (!existsSync(join(root, 'binding.gyp'))) process.exit(0);
if (process.env.HIJACK_SKIP_NATIVE_BUILD === '1') {
  console.warn('hijack: HIJACK_SKIP_NATIVE_BUILD=1, native part not built');
  process.exit(0);
}

function fail(reason) {
  mkdirSync(join(root, 'build'), { recursive: true });
  writeFileSync(failedFile, reason + '\n');
  console.warn(
    `hijack: the native part (tcpInfo, peerCred, keepalive tuning, the splice relay) could not be built: ${reason}. ` +
      'Everything else works. Install python3, make and a C compiler, then run `npm rebuild hijack`.',
  );
  process.exit(0);
}

if (process.platform !== 'linux') fail(`${process.platform} is not supported yet (Linux only)`);

const prefix = join(dirname(process.execPath), '..');
const candidates = [
  process.env.npm_config_node_gyp,
  join(prefix, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
].filter(Boolean);
const gyp = candidates.find((p) => existsSync(p));
const args = gyp ? [gyp, 'rebuild'] : ['rebuild'];
const cmd = gyp ? process.execPath : 'node-gyp';
if (!process.env.npm_config_nodedir && existsSync(join(prefix, 'include', 'node', 'node_api.h'))) {
  args.push(`--nodedir=${prefix}`);
}
rmSync(failedFile, { force: true });
const r = spawnSync(cmd, args, {
  cwd: root,
  stdio: ['ignore', 'inherit', 'pipe'],
  encoding: 'utf8',
});
process.stderr.write(r.stderr ?? '');
if (r.status !== 0) {
  // Keep the lines that say what went wrong (missing compiler, python, headers …).
  const why = (r.stderr ?? '')
    .split('\n')
    .filter((l) => /error|not found|cannot|ENOENT|No such file/i.test(l) && !/not ok/.test(l))
    .slice(0, 3)
    .map((l) => l.trim())
    .join('; ');
  fail(`node-gyp rebuild exited with ${r.status ?? r.error?.message}${why ? ` (${why})` : ''}`);
}
