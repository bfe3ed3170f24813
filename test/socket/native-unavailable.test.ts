/**
 * Without the native part (absent, or a file that is not one) every socket call throws
 * ERR_NATIVE_UNAVAILABLE with the reason; in this process it is built and loads.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { nativeSocketSupport } from '../../src/socket/index.js';

const root = new URL('../../', import.meta.url).pathname;

// Runs in a child with HIJACK_NATIVE_PATH pointing nowhere: the native part cannot load.
const script = `
import net from 'node:net';
import * as hj from './src/index.ts';
const out = { support: hj.nativeSocketSupport(), errors: {} };
const srv = net.createServer().listen(0, '127.0.0.1', () => {
  const c = net.connect(srv.address().port, '127.0.0.1', () => {
    for (const [name, call] of Object.entries({
      tcpInfo: () => hj.tcpInfo(c),
      peerCred: () => hj.peerCred(c),
      keepAlive: () => hj.keepAlive(c),
      setUserTimeout: () => hj.setUserTimeout(c, 10),
      congestionControl: () => hj.congestionControl(c),
    })) {
      try { call(); out.errors[name] = 'no error'; }
      catch (e) { out.errors[name] = { code: e.code, message: e.message }; }
    }
    // Everything else in the package still loads and works.
    out.decode = hj.decodeTcpInfo(new Uint8Array(104), 104).state;
    out.codes = Object.keys(hj.codes).length;
    console.log(JSON.stringify(out));
    c.destroy(); srv.close();
  });
});
`;

test(
  'without the native part every socket call throws ERR_NATIVE_UNAVAILABLE with the reason',
  { timeout: 20000 },
  () => {
    const r = spawnSync(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script],
      {
        cwd: root,
        encoding: 'utf8',
        timeout: 15000,
        env: { ...process.env, HIJACK_NATIVE_PATH: '/nonexistent/hijack_sockopt.node' },
      },
    );
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as {
      support: { available: boolean; reason: string };
      errors: Record<string, { code: string; message: string }>;
      decode: number;
      codes: number;
    };
    assert.equal(out.support.available, false);
    assert.match(out.support.reason, /\/nonexistent\/hijack_sockopt\.node/);
    for (const [name, err] of Object.entries(out.errors)) {
      // peerCred on a TCP socket is refused for that before the native part is needed.
      if (name === 'peerCred') {
        assert.equal(err.code, 'ERR_NOT_UNIX');
        continue;
      }
      assert.equal(err.code, 'ERR_NATIVE_UNAVAILABLE', name);
      assert.match(err.message, /npm rebuild hijack/, name);
    }
    assert.equal(out.decode, 0);
    assert.ok(out.codes > 10);
  },
);

test(
  'a file that is not a native module gives ERR_NATIVE_UNAVAILABLE, not a crash',
  { timeout: 20000 },
  () => {
    const dir = mkdtempSync(join(tmpdir(), 'hj-native-'));
    try {
      const bogus = join(dir, 'hijack_sockopt.node');
      writeFileSync(bogus, 'not an ELF shared object\n');
      const r = spawnSync(
        process.execPath,
        [
          '--import',
          'tsx',
          '--input-type=module',
          '-e',
          "import * as hj from './src/socket/index.ts'; console.log(JSON.stringify(hj.nativeSocketSupport()));",
        ],
        {
          cwd: root,
          encoding: 'utf8',
          timeout: 15000,
          env: { ...process.env, HIJACK_NATIVE_PATH: bogus },
        },
      );
      assert.equal(r.status, 0, r.stderr);
      const s = JSON.parse(r.stdout) as { available: boolean; reason: string };
      assert.equal(s.available, false);
      assert.match(s.reason, /failed to load/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

test('in this process the native part is built and loads', { timeout: 5000 }, () => {
  const s = nativeSocketSupport();
  assert.equal(s.available, true, s.available ? '' : s.reason);
});
