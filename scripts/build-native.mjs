// Builds the optional native part (getsockopt/setsockopt calls, native/sockopt.c; the
// splice relay, native/relay.c) with node-gyp. Runs at `npm install` / `npm rebuild`, or by
// hand: `node scripts/build-native.mjs`.
// A failed build never fails the install: the package works without it, and the native
// calls throw HijackError ERR_NATIVE_UNAVAILABLE with the reason written here to
// build/native-build-failed.txt.
//
// Quiet: node-gyp's output (some 40 lines) is captured. A build that works prints one
// line; one that fails prints the tail of node-gyp's log (the compiler's or python's own
// words) and keeps the whole log in build/native-build.log.
//
// Offline by design: node-gyp comes from npm itself (npm_config_node_gyp when npm runs us,
// else the copy inside the npm next to this node), and the headers from the running
// node's own prefix (include/node) when they are there, so nothing is downloaded.
import { spawnSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const failedFile = join(root, 'build', 'native-build-failed.txt');
const logFile = join(root, 'build', 'native-build.log');
/** How many lines of a failed build's log are printed. */
const TAIL = 25;
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
// One file for both streams keeps their order (node-gyp's clean removes build/ first).
const tmpLog = join(tmpdir(), `hijack-native-build-${process.pid}.log`);
const fd = openSync(tmpLog, 'w');
const r = spawnSync(cmd, args, { cwd: root, stdio: ['ignore', fd, fd] });
closeSync(fd);
const log = readFileSync(tmpLog, 'utf8') + (r.error ? `${r.error.message}\n` : '');
rmSync(tmpLog, { force: true });
if (r.status !== 0) {
  mkdirSync(join(root, 'build'), { recursive: true });
  writeFileSync(logFile, log);
  const lines = log.trimEnd().split('\n');
  console.warn(
    `hijack: node-gyp rebuild failed; the last ${Math.min(TAIL, lines.length)} lines of its log (all of it: ${logFile}):\n` +
      lines
        .slice(-TAIL)
        .map((l) => `  | ${l}`)
        .join('\n'),
  );
  // Keep the lines that say what went wrong (missing compiler, python, headers …).
  const why = lines
    .filter((l) => /error|not found|cannot|ENOENT|No such file/i.test(l) && !/not ok/.test(l))
    .slice(0, 3)
    .map((l) => l.trim())
    .join('; ');
  fail(`node-gyp rebuild exited with ${r.status ?? r.error?.message}${why ? ` (${why})` : ''}`);
}
console.log('hijack: native part built (tcpInfo, peerCred, keepalive tuning, the splice relay)');
