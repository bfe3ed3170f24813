/**
 * The package as npm users get it: a clean copy of the sources is packed with `npm pack`
 * (its `prepare` builds dist/), the tarball is installed into a fresh project, and there
 * ESM import, CommonJS require, `tsc --module nodenext` over the public API and
 * `hijack --help` must work, on the running Node. The native part builds quietly at
 * install, and a failed native build says why and leaves the rest working.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const node = process.execPath;
/** npm's own CLI, run by the node under test (so install scripts and .bin use it too). */
const npmCli = join(
  spawnSync('npm', ['root', '-g'], { encoding: 'utf8', timeout: 30_000 }).stdout.trim(),
  'npm',
  'bin',
  'npm-cli.js',
);

/** Runs `args` with PATH led by the node under test; fails the test on a non-zero exit. */
function run(
  cwd: string,
  cmd: string,
  args: string[],
  env: Record<string, string> = {},
  ok = true,
): SpawnSyncReturns<string> {
  const r = spawnSync(cmd, args, {
    cwd,
    encoding: 'utf8',
    timeout: 180_000,
    env: { ...process.env, PATH: `${dirname(node)}${delimiter}${process.env.PATH}`, ...env },
  });
  if (ok) {
    assert.equal(
      r.status,
      0,
      `${cmd} ${args.join(' ')} exited with ${r.status ?? r.error?.message}:\n${r.stdout}\n${r.stderr}`,
    );
  }
  return r;
}

const npm = (cwd: string, args: string[], env?: Record<string, string>) =>
  run(cwd, node, [npmCli, ...args], env);

/** Checks the installed package from ESM: its API, its errors, the native part. */
const esmCheck = `
import net from 'node:net';
import { enableHijack, hijack, trackConnections, HijackError, isHijackError, tcpInfo } from 'hijack';
const out = {
  api: [enableHijack, hijack, trackConnections, tcpInfo].every((f) => typeof f === 'function'),
  branded: isHijackError(new HijackError('ERR_HIJACKED', 'x'), 'ERR_HIJACKED'),
};
const server = net.createServer((s) => s.end()).listen(0, '127.0.0.1');
await new Promise((r) => server.once('listening', r));
const c = net.connect(server.address().port, '127.0.0.1');
await new Promise((r) => c.once('connect', r));
try {
  out.native = typeof tcpInfo(c).rtt === 'number' ? 'ok' : 'no rtt';
} catch (err) {
  out.native = err.code + ': ' + err.message;
}
c.destroy();
server.close();
console.log(JSON.stringify(out));
`;

const cjsCheck = `
const h = require('hijack');
const ok = ['enableHijack', 'hijack', 'trackConnections', 'dialHijack'].every((k) => typeof h[k] === 'function');
import('hijack').then((esm) => {
  console.log(JSON.stringify({
    ok,
    // The same HijackError either way: one copy where Node can require() ES modules, and
    // the brand (Symbol.for) across the two builds where it cannot.
    crossBrand: esm.isHijackError(new h.HijackError('ERR_HIJACKED', 'x')) &&
      h.isHijackError(new esm.HijackError('ERR_HIJACKED', 'x')),
  }));
});
`;

const apiMts = `
import http from 'node:http';
import { enableHijack, hijack, trackConnections, isHijackError, type Conn, type ConnState, type Hijacked } from 'hijack';
const server = enableHijack(
  http.createServer((req, res) => {
    hijack(req, res).then(
      (h: Hijacked) => h.socket.end(h.head),
      (err: unknown) => {
        if (isHijackError(err, 'ERR_UPGRADE_REFUSED')) console.log(err.statusCode);
      },
    );
  }),
);
const tracker = trackConnections(server);
const states: ConnState[] = [...tracker].map((c) => c.state);
declare const conn: Conn;
// @ts-expect-error @internal members are not in the declarations
conn.begun;
export { states };
`;

const apiCts = `
import hijack = require('hijack');
const e: hijack.HijackError = new hijack.HijackError('ERR_HIJACKED', 'taken');
export const code: string = e.code;
export const enable: typeof hijack.enableHijack = hijack.enableHijack;
`;

test(
  'npm pack, installed into a fresh project: import, require, tsc nodenext, hijack --help, quiet native build',
  { timeout: 300_000 },
  () => {
    const tmp = mkdtempSync(join(tmpdir(), 'hj-pack-'));
    try {
      // A clean copy, as a clone has it: no dist/, no build/.
      const src = join(tmp, 'src');
      for (const f of readdirSync(repo)) {
        if (['node_modules', 'dist', 'build', '.git', 'coverage', 'test-artifacts'].includes(f))
          continue;
        cpSync(join(repo, f), join(src, f), { recursive: true });
      }
      symlinkSync(join(repo, 'node_modules'), join(src, 'node_modules'));
      const packed = npm(src, ['pack', '--json', '--pack-destination', tmp]);
      const info = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as {
        filename: string;
        files: { path: string }[];
      }[];
      const files = info[0]!.files.map((f) => f.path);
      for (const f of [
        'dist/index.js',
        'dist/index.d.ts',
        'dist/require.cjs',
        'bin/hijack.js',
        'LICENSE',
        'binding.gyp',
      ]) {
        assert.ok(files.includes(f), `the tarball has ${f}`);
      }
      assert.ok(
        !files.some((f) => f.startsWith('src/') || f.startsWith('test/')),
        'no sources or tests',
      );

      const app = join(tmp, 'app');
      cpSync(join(tmp, info[0]!.filename), join(app, 'hijack.tgz'));
      writeFileSync(join(app, 'package.json'), '{"name":"app","private":true}');
      // --foreground-scripts shows the install script's output as a clone's own install would.
      const installed = npm(app, [
        'install',
        '--no-audit',
        '--no-fund',
        '--prefer-offline',
        '--foreground-scripts',
        './hijack.tgz',
      ]);
      const said = `${installed.stdout}\n${installed.stderr}`;
      assert.doesNotMatch(
        said,
        /gyp info|CC\(target\)|make: Entering/,
        'node-gyp output is not shown',
      );
      assert.match(said, /hijack: native part built/, 'one line says the native part was built');

      writeFileSync(join(app, 'esm.mjs'), esmCheck);
      assert.deepEqual(JSON.parse(run(app, node, ['esm.mjs']).stdout), {
        api: true,
        branded: true,
        native: 'ok',
      });
      writeFileSync(join(app, 'cjs.cjs'), cjsCheck);
      assert.deepEqual(JSON.parse(run(app, node, ['cjs.cjs']).stdout), {
        ok: true,
        crossBrand: true,
      });

      writeFileSync(join(app, 'api.mts'), apiMts);
      writeFileSync(join(app, 'api.cts'), apiCts);
      run(app, node, [
        join(repo, 'node_modules/typescript/bin/tsc'),
        '--module',
        'nodenext',
        '--moduleResolution',
        'nodenext',
        '--strict',
        '--noEmit',
        '--types',
        'node',
        '--typeRoots',
        join(repo, 'node_modules/@types'),
        'api.mts',
        'api.cts',
      ]);

      const help = run(app, join(app, 'node_modules/.bin/hijack'), ['--help']);
      assert.match(help.stdout, /Usage: hijack/);
      assert.match(help.stdout, /gateway/);

      // A failed native build: the reason is shown, the install does not fail, the rest works.
      const broken = npm(app, ['rebuild', 'hijack', '--foreground-scripts'], {
        CC: 'false',
        CXX: 'false',
      });
      const told = `${broken.stdout}\n${broken.stderr}`;
      assert.match(told, /node-gyp rebuild failed; the last \d+ lines of its log/);
      assert.match(told, /\| .*Error/, "the tail of node-gyp's log is shown");
      assert.match(told, /could not be built: node-gyp rebuild exited with/);
      assert.ok(told.split('\n').length < 60, 'a failed build prints its tail, not all of the log');
      const after = JSON.parse(run(app, node, ['esm.mjs']).stdout) as Record<string, unknown>;
      assert.equal(after.api, true);
      assert.match(String(after.native), /^ERR_NATIVE_UNAVAILABLE: .*the build failed at install/);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  },
);
