// Builds the optional native part (getsockopt calls) with node-gyp at install time.
// A failed build never fails the install: the package works without it, and the
// native calls throw HijackError ERR_NATIVE_UNAVAILABLE with the reason.
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
if (!existsSync(join(root, 'binding.gyp'))) process.exit(0);
if (process.env.HIJACK_SKIP_NATIVE_BUILD === '1') {
  console.warn('hijack: HIJACK_SKIP_NATIVE_BUILD=1, native part not built');
  process.exit(0);
}
const gyp = process.env.npm_config_node_gyp;
const cmd = gyp ? process.execPath : 'node-gyp';
const args = gyp ? [gyp, 'rebuild'] : ['rebuild'];
const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
if (r.status !== 0) {
  mkdirSync(join(root, 'build'), { recursive: true });
  writeFileSync(
    join(root, 'build', 'native-build-failed.txt'),
    `node-gyp rebuild exited with ${r.status ?? r.error?.message}\n`,
  );
  console.warn(
    'hijack: the native part (tcpInfo, peerCred, keepalive tuning) could not be built; ' +
      'everything else works. Install python3, make and a C compiler, then run `npm rebuild hijack`.',
  );
}
